#!/usr/bin/env bash
# Builds data/tables/fmnist-cell3-2ep.nastable, the table that ships with
# nasarena: every canonical cell of the reduced NAS-Bench-201 space with ops
# {none, skip_connect, nor_conv_3x3} (3^6 = 729 cells, 127 canonical
# classes), trained once for 2 epochs on 1,000 images of the bundled
# Fashion-MNIST subset, validated on 600 and tested on its 1,000 test images
# after every epoch. One thread at the lowest priority, so it can run next to
# other work; add `--resume` to continue after an interruption (the progress
# journal is the `.journal` file next to the table). See README.md here for
# how long it took and what it holds.
set -euo pipefail
cd "$(dirname "$0")/../.."
NASARENA=${NASARENA:-target/release/nasarena}
exec nice -n 19 "$NASARENA" tabulate build \
  --space cell \
  --opt C=4 --opt N=1 --opt input=1x28x28 --opt classes=10 \
  --opt ops=none,skip_connect,nor_conv_3x3 \
  --dataset fashion-mnist-subset --val-fraction 0.1 --train-limit 1000 \
  --schedule '{"epochs":2,"batch_size":32,"optimizer":{"lr":0.1,"momentum":0.9,"nesterov":true,"weight_decay":0.0005}}' \
  --seeds 1 --seed 2026 --threads 1 \
  --out data/tables/fmnist-cell3-2ep.nastable "$@"
