#!/usr/bin/env bash
# The seed's trade-off report (issue #23): runs experiments/tradeoff.toml
# (every family on nasarena's Fashion-MNIST ground-truth table at one
# equal budget; 100 seeds per black-box strategy, 10 per one-shot preset)
# and experiments/fmnist16-cell4.toml (the black-box strategies alone at
# 1,500 units, where most seeds reach the target), then writes
#   results/reports/tradeoff.md            the page: machine, commands, tables,
#                                          the family comparison and the papers'
#                                          claims next to what was measured
#   results/reports/tradeoff/              `nasarena report` of the equal-budget runs
#   results/reports/tradeoff-target/       cost-to-target: black-box at 1,500 units
#                                          beside the one-shot runs
# Both experiments resume where a killed run stopped: run this again. The
# page's wall time is the sum over sittings ($RUNS/.tradeoff-sittings holds
# one line of seconds per sitting).
#
# Environment: NASARENA (the binary, default target/release/nasarena),
# RUNS (runs folder, default runs), OUT (report folder, default
# results/reports), and SMOKE=1 for a two-minute rehearsal on shrunken
# copies of the experiments (2 black-box seeds, 1 per one-shot preset,
# budgets /5) that writes only under OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
NASARENA=${NASARENA:-target/release/nasarena}
RUNS=${RUNS:-runs}
OUT=${OUT:-results/reports}
TRADEOFF=experiments/tradeoff.toml
BLACK_BOX=experiments/fmnist16-cell4.toml

if [ "${SMOKE:-0}" = 1 ]; then
  work=$(mktemp -d)
  shrink() {
    awk -v root="$PWD" '
      /^repeats = 100$/ { print "repeats = 2"; next }
      /^repeats = 10$/ { print "repeats = 1"; next }
      /^limit = / { print "limit = " $3 / 5; next }
      /^path = "\.\.\// { sub(/"\.\.\//, "\"" root "/"); print; next }
      { print }' "$1" > "$2"
  }
  shrink "$TRADEOFF" "$work/tradeoff.toml"
  shrink "$BLACK_BOX" "$work/fmnist16-cell4.toml"
  TRADEOFF=$work/tradeoff.toml
  BLACK_BOX=$work/fmnist16-cell4.toml
fi

# The table both experiments name (relative to the experiments folder).
table=$(sed -n 's/^path = "\(.*\)"$/\1/p' "$TRADEOFF" | head -n 1)
case "$table" in /*) ;; *) table=$(dirname "$TRADEOFF")/$table ;; esac

started=$(date +%s)
"$NASARENA" run "$TRADEOFF" --runs-dir "$RUNS" --resume
"$NASARENA" run "$BLACK_BOX" --runs-dir "$RUNS" --resume --quiet
sittings=$RUNS/.tradeoff-sittings
echo $(($(date +%s) - started)) >> "$sittings"
ran=$(awk '{ s += $1 } END { print s }' "$sittings")
sat=$(wc -l < "$sittings")

name_of() { sed -n 's/^name = "\(.*\)"$/\1/p' "$1" | head -n 1; }
equal=$RUNS/$(name_of "$TRADEOFF")
long=$RUNS/$(name_of "$BLACK_BOX")

# Cost-to-target over the longer black-box runs and the one-shot runs: a
# folder of links to both sets of journals.
target_runs=$RUNS/tradeoff-target
rm -rf "$target_runs"
mkdir -p "$target_runs"
for space in "$long"/*/; do
  space_name=$(basename "$space")
  mkdir -p "$target_runs/$space_name"
  for run in "$space"*/; do
    ln -s "$(realpath "$run")" "$target_runs/$space_name/$(basename "$run")"
  done
  for run in "$equal/$space_name"/gumbel_*/; do
    ln -s "$(realpath "$run")" "$target_runs/$space_name/$(basename "$run")"
  done
done

mkdir -p "$OUT"
"$NASARENA" report "$equal" --table "$table" --out "$OUT/tradeoff" > /dev/null
"$NASARENA" report "$target_runs" --table "$table" --out "$OUT/tradeoff-target" > /dev/null
# Kept: the tables, the figures and the page; not the CSV/LaTeX/JSON/PNG.
for d in "$OUT/tradeoff" "$OUT/tradeoff-target"; do
  rm -f "$d"/table.csv "$d"/table.tex "$d"/summary.json "$d"/*.png
done

{
  echo "# The trade-off on nasarena's Fashion-MNIST ground truth"
  echo
  echo "Made by \`scripts/tradeoff-report.sh\` on $(date -u +%Y-%m-%d) with"
  echo "\`$("$NASARENA" --version)\` on a $(nproc)-core $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1);"
  echo "the runs took $ran s of wall time in $sat sitting(s)."
  echo "Table: \`$table\` ($("$NASARENA" tabulate info "$table" | sed -n 's/^sha256 *//p'))."
  echo
  echo "## Every family at one equal budget (\`$TRADEOFF\`)"
  echo
  echo "Black-box strategies replay the table; one-shot strategies train supernets on its images; every"
  echo "recommended architecture's test accuracy is the table's. Plots: [tradeoff/](tradeoff/index.html)."
  echo
  cat "$OUT/tradeoff/table.md"
  echo
  echo "## Families at the equal budget, and the papers' claims"
  echo
  echo "At one budget for all, accuracy, MACs, the Pareto fronts and the cells compare the families."
  echo "The cost claim needs black-box runs long enough to reach the target: the next section measures it."
  echo
  cat "$OUT/tradeoff/families.md"
  echo "## Cost-to-target: black-box at 1,500 units (\`$BLACK_BOX\`) beside the one-shot runs"
  echo
  cat "$OUT/tradeoff-target/cost-to-target.md"
  echo "The same runs by family: the search-cost line below is the cost claim measured. Here the black-box"
  echo "strategies had 1,500 units against the supernets' 180, so their accuracy and MACs lines are not"
  echo "at equal budget (the section above is)."
  echo
  cat "$OUT/tradeoff-target/families.md"
} > "$OUT/tradeoff.md"
echo "wrote $OUT/tradeoff.md"
