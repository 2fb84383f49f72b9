#!/usr/bin/env bash
# fuzz/run.sh SECONDS [TARGET...]: builds every fuzz target once, then runs each (or the
# named ones) for SECONDS on the seeds from seed.sh plus what earlier runs found. Exit 1 on
# the first target that crashes, printing the reproducer; 2 if it cannot build or run.
set -uo pipefail
secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 2
"$here/seed.sh" >/dev/null || exit 2
# FUZZ_FEATURES="" leaves out search_query (its crate pulls in tantivy: a longer build).
features=${FUZZ_FEATURES-search}
cargo +nightly fuzz build -O --features "$features" || exit 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
    [[ " $features " == *" search "* ]] || mapfile -t targets < <(printf '%s\n' "${targets[@]}" | grep -vx search_query)
fi
for t in "${targets[@]}"; do
    echo "== $t (${secs}s)"
    log=$(mktemp)
    # -rss_limit_mb and -timeout: a slow or memory-hungry input is a finding too.
    cargo +nightly fuzz run -O --features "$features" "$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1
    rc=$?
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | tail -n 1
    if [ $rc -ne 0 ]; then
        tail -n 40 "$log"
        repro=$(grep -o 'artifacts/[^ ]*' "$log" | tail -n 1)
        echo "CRASH in $t: reproducer fuzz/$repro"
        echo "  replay: cd fuzz && cargo +nightly fuzz run -O --features \"$features\" $t $repro"
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
done
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no crash"
