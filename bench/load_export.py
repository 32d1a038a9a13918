#!/usr/bin/env python3
"""Loads a network exported by `nasarena export` into PyTorch and
reproduces its recorded test accuracy.

Builds the network from `architecture.json` with `torch_peer.Peer` (the
same node-by-node builder `bench/` uses for speed comparisons), loads
`model.safetensors` into it (names `{node}.{weight|bias|running_mean|
running_var}`; read with the standard library and torch, no `safetensors`
package needed), checks the sha256 and that every tensor fits, then
evaluates the test images in eval mode with the recorded input
normalisation and prints one JSON object: the recorded and the PyTorch
test accuracy and their difference in points. Exits 1 when the difference
exceeds --tolerance points (default 0.1).

Test images: IDX files (gzipped or not). By default the ones nasarena
reads for the recorded dataset: the bundled subset in
datasets/data/fashion-mnist-subset, or Debian's full Fashion-MNIST in
/usr/share/datasets/fashion-mnist.

Usage: load_export.py EXPORT_DIR [--test-images F --test-labels F]
       [--tolerance 0.1] [--threads 2]
"""

import argparse
import gzip
import hashlib
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import Peer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIRS = {
    "fashion-mnist-subset": os.path.join(HERE, "..", "datasets", "data", "fashion-mnist-subset"),
    "fashion-mnist": "/usr/share/datasets/fashion-mnist",
}


def read_safetensors(path):
    """{name: float32 tensor} of a safetensors file."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"load_export: tensor {name} is {info['dtype']}, expected F32")
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[b:e]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"]).clone()
    return out, hashlib.sha256(raw).hexdigest()


def read_idx(path):
    """An IDX file (optionally gzipped) as a uint8 tensor of its shape."""
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic, = struct.unpack(">I", raw[:4])
    if magic >> 8 != 0x08:
        raise SystemExit(f"load_export: {path} is not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * (magic & 0xFF), raw[4:4 + 4 * (magic & 0xFF)])
    data = raw[4 + 4 * len(dims):]
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(dims)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"load_export: no {stem}[.gz] in {folder}; pass --test-images/--test-labels")


def load(export_dir):
    """(module in eval mode, architecture.json) of an export folder."""
    desc = json.load(open(os.path.join(export_dir, "architecture.json")))
    tensors, sha = read_safetensors(os.path.join(export_dir, desc["weights"]["file"]))
    if sha != desc["weights"]["sha256"]:
        raise SystemExit(f"load_export: model sha256 {sha} != architecture.json's {desc['weights']['sha256']}")
    net = Peer(desc["nodes"])
    params = sum(p.numel() for p in net.parameters())
    if params != desc["params"]:
        raise SystemExit(f"load_export: {params} parameters, nasarena counts {desc['params']}")
    missing, unexpected = net.mods.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"load_export: missing {missing}, unexpected {unexpected}")
    return net.eval(), desc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export_dir")
    ap.add_argument("--test-images")
    ap.add_argument("--test-labels")
    ap.add_argument("--tolerance", type=float, default=0.1, help="points")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net, desc = load(args.export_dir)
    dataset = desc["dataset"]["name"]
    folder = DEFAULT_DIRS.get(dataset)
    images = args.test_images or (folder and find(folder, "t10k-images-idx3-ubyte"))
    labels = args.test_labels or (folder and find(folder, "t10k-labels-idx1-ubyte"))
    if not images or not labels:
        raise SystemExit(f"load_export: no default test files for dataset {dataset!r}; pass --test-images/--test-labels")
    x = read_idx(images)
    y = read_idx(labels).long()
    if x.dim() == 3:
        x = x.unsqueeze(1)  # (N, H, W) -> (N, 1, H, W)
    if list(x.shape[1:]) != list(desc["input"]) or len(x) != desc["dataset"]["test"]:
        raise SystemExit(
            f"load_export: test images {list(x.shape)}; the run tested {desc['dataset']['test']} of shape {desc['input']}")
    norm = desc["input_normalization"]
    mean = torch.tensor(norm["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(norm["std"]).view(1, -1, 1, 1)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), args.batch):
            xb = (x[i:i + args.batch].float() / 255.0 - mean) / std
            correct += (net(xb).argmax(1) == y[i:i + args.batch]).sum().item()
    torch_acc = 100.0 * correct / len(x)
    recorded = 100.0 * desc["test_accuracy"]
    diff = torch_acc - recorded
    print(json.dumps({
        "genotype": desc["genotype"],
        "dataset": dataset,
        "test_images": len(x),
        "recorded_test_accuracy": round(recorded, 4),
        "torch_test_accuracy": round(torch_acc, 4),
        "difference_points": round(diff, 4),
        "params": desc["params"],
        "torch": torch.__version__,
    }))
    if abs(diff) > args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
