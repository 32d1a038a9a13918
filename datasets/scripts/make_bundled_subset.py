#!/usr/bin/env python3
"""Build nasarena's bundled Fashion-MNIST subset from the original files.

Usage:
    python3 datasets/scripts/make_bundled_subset.py [SOURCE_DIR] [OUT_DIR]

SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist (Debian package
`dataset-fashion-mnist`, the files as Zalando distributes them); OUT_DIR
defaults to datasets/data/fashion-mnist-subset next to this script.

Selection rule (deterministic, no randomness): for every class c in 0..9,
keep the first 600 training images whose label is c and the first 100 test
images whose label is c, scanning each file from its start; the kept
images stay in their original file order. This gives 6,000 training and
1,000 test images, exactly balanced.

Outputs are IDX files gzipped with mtime 0, no file name and level 9, so
the bytes are reproducible with the same zlib; the script prints the
sha256 of each gzip file and of its decompressed content (the latter does
not depend on the zlib version).

Plain Python 3 standard library only.
"""

import gzip
import hashlib
import io
import os
import struct
import sys

TRAIN_PER_CLASS = 600
TEST_PER_CLASS = 100
NUM_CLASSES = 10


def read_idx(path, want_magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    if magic != want_magic:
        sys.exit(f"{path}: magic {magic:#010x}, expected {want_magic:#010x}")
    ndims = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndims, data[4:4 + 4 * ndims])
    body = data[4 + 4 * ndims:]
    size = 1
    for d in dims:
        size *= d
    if len(body) != size:
        sys.exit(f"{path}: {len(body)} data bytes, header says {size}")
    return dims, body


def select(labels, per_class):
    """Indices of the first `per_class` samples of each class, in file order."""
    taken = [0] * NUM_CLASSES
    keep = []
    for i, label in enumerate(labels):
        if label >= NUM_CLASSES:
            sys.exit(f"label {label} at index {i} is out of range")
        if taken[label] < per_class:
            taken[label] += 1
            keep.append(i)
    if taken != [per_class] * NUM_CLASSES:
        sys.exit(f"not enough samples per class: {taken}")
    return keep


def write_gz(path, payload):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(payload)
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest(), hashlib.sha256(payload).hexdigest()


def subset(src, out, prefix, per_class):
    (n_img, rows, cols), images = read_idx(
        os.path.join(src, f"{prefix}-images-idx3-ubyte.gz"), 0x00000803)
    (n_lab,), labels = read_idx(os.path.join(src, f"{prefix}-labels-idx1-ubyte.gz"), 0x00000801)
    if n_img != n_lab:
        sys.exit(f"{prefix}: {n_img} images but {n_lab} labels")
    keep = select(labels, per_class)
    pixels = rows * cols
    img_out = struct.pack(">IIII", 0x00000803, len(keep), rows, cols) + b"".join(
        images[i * pixels:(i + 1) * pixels] for i in keep)
    lab_out = struct.pack(">II", 0x00000801, len(keep)) + bytes(labels[i] for i in keep)
    sums = {}
    for name, payload in ((f"{prefix}-images-idx3-ubyte.gz", img_out),
                          (f"{prefix}-labels-idx1-ubyte.gz", lab_out)):
        sums[name] = write_gz(os.path.join(out, name), payload)
    return sums


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "data", "fashion-mnist-subset")
    os.makedirs(out, exist_ok=True)
    sums = {}
    sums.update(subset(src, out, "train", TRAIN_PER_CLASS))
    sums.update(subset(src, out, "t10k", TEST_PER_CLASS))
    print("file\tsha256(gzip file)\tsha256(decompressed IDX)")
    for name in sorted(sums):
        gz_sum, raw_sum = sums[name]
        print(f"{name}\t{gz_sum}\t{raw_sum}")


if __name__ == "__main__":
    main()
