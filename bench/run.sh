#!/usr/bin/env bash
# The benchmark harness (issue 11): builds the release binary, checks free disk, runs
# `evident bench all` (every scenario, in-run baselines, DESIGN.md §12 budgets) and the
# criterion benches, writes bench/results/DATE.json (+ DATE-criterion.txt) and prints the
# summary as a Markdown table. Extra arguments go to `evident bench all`, e.g.
#   bench/run.sh --sigma ../shared/testdata/sigma/rules --with-search 10000000
# Environment: BENCH_MIN_FREE_GB (default 10; add ~25 with --with-search 10000000),
# BENCH_CRITERION=0 skips the criterion benches.
set -euo pipefail

cd "$(dirname "$0")/.."
min_free_gb=${BENCH_MIN_FREE_GB:-10}
for a in "$@"; do
    if [[ $a == --with-search ]]; then
        min_free_gb=$((min_free_gb + 25))
    fi
done

cargo build --release -p evident-cli

free_gb=$(( $(df --output=avail -B1 "${TMPDIR:-/tmp}" | tail -1) / 1000000000 ))
if (( free_gb < min_free_gb )); then
    echo "error: ${TMPDIR:-/tmp} has ${free_gb} GB free; the benchmarks need ${min_free_gb} GB (set BENCH_MIN_FREE_GB to override)" >&2
    exit 2
fi

mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
json="bench/results/${stamp}.json"

echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${free_gb} GB free" >&2
status=0
EVIDENT_LOG=warn ./target/release/evident bench all --out "$json" "$@" || status=$?

if [[ ${BENCH_CRITERION:-1} != 0 ]]; then
    crit="bench/results/${stamp}-criterion.txt"
    {
        echo "## cargo bench -p evident-ledger"
        cargo bench -p evident-ledger 2>&1
        echo "## EVIDENT_BENCH_STATE=0 cargo bench -p evident-detect --bench detect"
        EVIDENT_BENCH_STATE=0 cargo bench -p evident-detect --bench detect 2>&1
    } > "$crit" || status=$?
    echo "criterion: $crit" >&2
    grep -E '^(ledger|detect)/|time:|thrpt:|^cpu:' "$crit" >&2 || true
fi
echo "results: $json" >&2
exit "$status"
