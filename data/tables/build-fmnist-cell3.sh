#!/usr/bin/env bash
# Builds data/tables/fmnist-cell3-1ep.nastable, the table that ships with
# nasarena: every canonical cell of the reduced NAS-Bench-201 space with ops
# {none, skip_connect, nor_conv_3x3} (3^6 = 729 cells, 127 canonical
# classes), 2 channels in the first stage, trained once for 1 epoch on 500
# images of the bundled Fashion-MNIST subset, validated on 300 held-out
# training images and tested
# on its 1,000 test images. One thread at the lowest priority, so it can run next to
# other work; add `--resume` to continue after an interruption (the progress
# journal is the `.journal` file next to the table). See README.md here for
# how long it took and what it holds.
set -euo pipefail
cd "$(dirname "$0")/../.."
NASARENA=${NASARENA:-target/release/nasarena}
exec nice -n 19 "$NASARENA" tabulate build \
  --space cell \
  --opt C=2 --opt N=1 --opt input=1x28x28 --opt classes=10 \
  --opt ops=none,skip_connect,nor_conv_3x3 \
  --dataset fashion-mnist-subset --val-fraction 0.05 --train-limit 500 \
  --schedule '{"epochs":1,"batch_size":16,"optimizer":{"lr":0.2,"momentum":0.9,"nesterov":true,"weight_decay":0.0005}}' \
  --seeds 1 --seed 2026 --threads 1 \
  --out data/tables/fmnist-cell3-1ep.nastable "$@"
