#!/usr/bin/env python3
"""PyTorch peer of `nasarena bench train`.

Reads the JSON of `nasarena bench describe` (a file, or stdin with `-`),
builds the same network in PyTorch node by node, checks that its parameter
count equals nasarena's (exits non-zero if not), and times the same steps
on the same number of threads: warm-up, then timed training steps (forward
in train mode, cross-entropy, backward, SGD lr 0.01 momentum 0.9) on one
random batch of the input shape, then as many eval forward passes under
`torch.no_grad()`. Prints one JSON object with `train_img_s`,
`eval_img_s`, `params`, `threads`, `torch`.

Usage: torch_peer.py DESC.json --batch 128 --steps 10 --warmup 2 --threads 2
"""

import argparse
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Peer(nn.Module):
    """Runs the node list; parameter-bearing nodes own submodules."""

    def __init__(self, nodes):
        super().__init__()
        self.nodes = nodes
        self.mods = nn.ModuleDict()
        for i, n in enumerate(nodes):
            op = n["op"]
            if op == "conv":
                self.mods[str(i)] = nn.Conv2d(
                    n["c_in"], n["c_out"], (n["kh"], n["kw"]), stride=n["stride"],
                    padding=(n["pad_h"], n["pad_w"]), dilation=n["dilation"],
                    groups=n["groups"], bias=n["bias"])
            elif op == "bn":
                self.mods[str(i)] = nn.BatchNorm2d(n["channels"], eps=1e-5, momentum=0.1)
            elif op == "linear":
                self.mods[str(i)] = nn.Linear(n["c_in"], n["c_out"])
        # Free each intermediate after its last reader (as autograd allows).
        last_use = {}
        for i, n in enumerate(nodes):
            for j in reads(n):
                last_use[j] = i
        self.last_use = last_use

    def forward(self, x):
        vals = {}
        out = None
        for i, n in enumerate(self.nodes):
            op = n["op"]
            if op == "input":
                y = x
            elif op in ("conv", "bn", "linear"):
                y = self.mods[str(i)](vals[n["x"]])
            elif op == "relu":
                y = F.relu(vals[n["x"]])
            elif op == "add":
                xs = [vals[j] for j in n["xs"]]
                y = xs[0]
                for t in xs[1:]:
                    y = y + t
            elif op == "cat":
                y = torch.cat([vals[j] for j in n["xs"]], 1)
            elif op == "shuffle":
                t = vals[n["x"]]
                b, c, h, w = t.shape
                g = n["groups"]
                y = t.view(b, g, c // g, h, w).transpose(1, 2).contiguous().view(b, c, h, w)
            elif op == "avg_pool3":
                y = F.avg_pool2d(vals[n["x"]], 3, 1, 1, count_include_pad=False)
            elif op == "avg_pool2":
                y = F.avg_pool2d(vals[n["x"]], 2, 2)
            elif op == "pad_to":
                t = vals[n["x"]]
                y = F.pad(t, (0, n["w"] - t.shape[3], 0, n["h"] - t.shape[2]))
            elif op == "zeros":
                y = torch.zeros_like(vals[n["x"]])
            elif op == "mean_hw":
                y = vals[n["x"]].mean((2, 3))
            else:
                raise SystemExit(f"torch_peer: unknown op {op!r} at node {i}")
            vals[i] = y
            out = y
            for j in reads(n):
                if self.last_use.get(j) == i and j != i:
                    vals.pop(j, None)
        return out


def reads(n):
    if "x" in n:
        return [n["x"]]
    return n.get("xs", [])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("desc")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda:N")
    args = ap.parse_args()
    dev = torch.device(args.device)

    def sync():
        # GPU work is asynchronous: stop the clock only when it is done.
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    text = sys.stdin.read() if args.desc == "-" else open(args.desc).read()
    desc = json.loads(text)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = Peer(desc["nodes"]).to(dev)
    params = sum(p.numel() for p in net.parameters())
    if params != desc["params"]:
        raise SystemExit(
            f"torch_peer: parameter count {params} != nasarena's {desc['params']}: "
            "the networks differ")

    c, h, w = desc["input"]
    x = torch.randn(args.batch, c, h, w).to(dev)
    y = torch.randint(0, desc["classes"], (args.batch,)).to(dev)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    net.train()
    for _ in range(args.warmup):
        train_step()
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        loss = train_step()
    last_loss = float(loss.detach())
    sync()
    train_s = time.perf_counter() - t0
    train_cpu_s = time.process_time() - c0

    net.eval()
    with torch.no_grad():
        for _ in range(args.warmup):
            net(x)
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            net(x)[0, 0].item()
        sync()
        eval_s = time.perf_counter() - t0
        eval_cpu_s = time.process_time() - c0

    images = args.batch * args.steps
    print(json.dumps({
        "train_img_s": images / train_s,
        "eval_img_s": images / eval_s,
        "train_seconds": train_s,
        "eval_seconds": eval_s,
        "train_cpu_seconds": train_cpu_s,
        "eval_cpu_seconds": eval_cpu_s,
        "params": params,
        "macs": desc["macs"],
        "last_loss": last_loss,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "steps": args.steps,
        "torch": torch.__version__,
        "device": args.device,
        # Peak resident memory of the whole process (Linux: KiB).
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }))


if __name__ == "__main__":
    main()
