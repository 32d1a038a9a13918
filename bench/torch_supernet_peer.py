#!/usr/bin/env python3
"""PyTorch peer of `nasarena bench supernet --space cell`: the NAS-Bench-201
supernet (every edge of every cell holds all five operations with their own
weights; the six edges' mixing weights are shared by all cells), timed with
the same search step: a weight step (detached mixing, cross-entropy,
backward, SGD momentum 0.9, lr 0.01) on one random batch, then an
architecture step (mixing with gradients, SGD momentum 0.9, lr 0.001 on the
architecture logits) on another. Soft mixing runs every op weighted by
softmax(alpha); hard mixing runs one sampled op per edge with
straight-through weights, skipping the others, as nasarena does.

The structure is nasarena's (spaces/src/cell): stem conv3x3 + BN, three
stages of N cells (C, 2C, 4C channels) joined by ResNet reduction blocks
(ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, shortcut avgpool2 + conv1x1), then
BN, ReLU, global average pool and a linear classifier; no conv has a bias.
The parameter count printed must equal nasarena's (compare_train.py checks).

Usage: bench/torch_supernet_peer.py --C 8 --N 1 --input 1x28x28
[--classes 10] [--mixing soft|hard] [--batch 64] [--steps 10] [--warmup 2]
[--threads 2]; prints one JSON object.
"""

import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def conv_bn(c_in, c_out, k, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(c_out))


class ReluConvBn(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.op = conv_bn(c, c, k)

    def forward(self, x):
        return self.op(F.relu(x))


class Pool(nn.Module):
    def forward(self, x):
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def edge_op(name, c):
    return {"skip_connect": nn.Identity(), "nor_conv_1x1": ReluConvBn(c, 1),
            "nor_conv_3x3": ReluConvBn(c, 3), "avg_pool_3x3": Pool()}.get(name)


class MixedCell(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleList([edge_op(o, c) or nn.Identity() for o in OPS]) for _ in EDGES)

    def forward(self, x, mixing, active):
        nodes = [x]
        for node in range(1, 4):
            terms = []
            for e, (to, frm) in enumerate(EDGES):
                if to != node:
                    continue
                for o in active[e]:
                    if OPS[o] == "none":
                        continue
                    terms.append(self.edges[e][o](nodes[frm]) * mixing[e][0, o])
            nodes.append(sum(terms) if terms else torch.zeros_like(x))
        return nodes[-1]


class Reduction(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = conv_bn(c_in, c_out, 3, 2)
        self.conv_b = conv_bn(c_out, c_out, 3)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x):
        y = self.conv_b(F.relu(self.conv_a(F.relu(x))))
        return y + self.shortcut(F.avg_pool2d(x, 2))


class Supernet(nn.Module):
    def __init__(self, c_in, c, n, classes):
        super().__init__()
        self.stem = conv_bn(c_in, c, 3)
        blocks = []
        for s, ch in enumerate([c, 2 * c, 4 * c]):
            if s > 0:
                blocks.append(Reduction(ch // 2, ch))
            blocks += [MixedCell(ch) for _ in range(n)]
        self.blocks = nn.ModuleList(blocks)
        self.last_bn = nn.BatchNorm2d(4 * c)
        self.classifier = nn.Linear(4 * c, classes)

    def forward(self, x, mixing, active):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x, mixing, active) if isinstance(b, MixedCell) else b(x)
        return self.classifier(F.relu(self.last_bn(x)).mean((2, 3)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--C", type=int, default=16)
    ap.add_argument("--N", type=int, default=5)
    ap.add_argument("--input", default="3x32x32")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--mixing", choices=["soft", "hard"], default="soft")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    c_in, h, w = (int(v) for v in args.input.split("x"))
    net = Supernet(c_in, args.C, args.N, args.classes)
    params = sum(p.numel() for p in net.parameters())
    alphas = torch.zeros(len(EDGES), len(OPS), requires_grad=True)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    arch_opt = torch.optim.SGD([alphas], lr=0.001, momentum=0.9)
    batches = [(torch.randn(args.batch, c_in, h, w),
                torch.randint(0, args.classes, (args.batch,))) for _ in range(2)]
    hard = args.mixing == "hard"

    def mixing_weights():
        soft = F.softmax(alphas, dim=-1)
        if not hard:
            return [soft[e:e + 1] for e in range(len(EDGES))], [range(len(OPS))] * len(EDGES)
        picks = torch.randint(0, len(OPS), (len(EDGES),)).tolist()
        one_hot = F.one_hot(torch.tensor(picks), len(OPS)).float()
        st = one_hot - soft.detach() + soft
        return [st[e:e + 1] for e in range(len(EDGES))], [[p] for p in picks]

    def step():
        mixing, active = mixing_weights()
        (xw, yw), (xa, ya) = batches
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(xw, [m.detach() for m in mixing], active), yw)
        loss.backward()
        opt.step()
        arch_opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(xa, mixing, active), ya).backward()
        arch_opt.step()
        return float(loss.detach())

    net.train()
    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        last = step()
    step_s = (time.perf_counter() - t0) / args.steps
    print(json.dumps({
        "step_s": step_s, "img_s": 2 * args.batch / step_s, "params": params,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "last_loss": last, "mixing": args.mixing, "batch": args.batch,
        "steps": args.steps, "threads": torch.get_num_threads(), "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }))


if __name__ == "__main__":
    main()
