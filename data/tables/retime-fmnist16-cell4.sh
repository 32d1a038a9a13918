#!/usr/bin/env bash
# Re-times the entries of the Fashion-MNIST ground-truth table whose device
# seconds were inflated by other work on the machine during the build
# (`nasarena tabulate retime`): every cell recorded as more than FACTOR
# times slower than the same cell in the REFERENCE table (an earlier build
# of the same space and schedule) is trained again exactly as the build
# trained it, two processes of one thread each as the build ran, and must
# reproduce its accuracies and losses bit for bit; CONTROLS other cells are
# trained too and show whether this machine runs at the build's speed.
# Then `tabulate retime-apply` writes the table with the new seconds over
# TABLE. Run it on an otherwise idle machine. A killed run resumes from the
# journals when started again.
set -euo pipefail
cd "$(dirname "$0")/../.."
NASARENA=${NASARENA:-target/release/nasarena}
TABLE=${TABLE:-data/tables/fmnist16-cell4-2ep-val12k.nastable}
REFERENCE=${REFERENCE:-data/tables/fmnist16-cell4-2ep.nastable}
FACTOR=${FACTOR:-1.3}
CONTROLS=${CONTROLS:-24}
JOURNAL=${TABLE%.nastable}.retime
SHARDS=2
for i in $(seq 1 $SHARDS); do
  "$NASARENA" tabulate retime "$TABLE" --reference "$REFERENCE" \
    --factor "$FACTOR" --controls "$CONTROLS" --seed 0 --threads 1 \
    --shard "$i/$SHARDS" --journal "$JOURNAL$i.jsonl" \
    2> "$JOURNAL$i.log" &
done
wait
"$NASARENA" tabulate retime-apply "$TABLE" --reference "$REFERENCE" \
  $(seq -f "--journal $JOURNAL%g.jsonl" 1 $SHARDS) --out "$TABLE.retimed"
mv "$TABLE.retimed" "$TABLE"
