#!/bin/sh
# Short libFuzzer runs for CI: builds build-fuzz with clang and runs each
# target for N seconds over a copy of its seed corpus (the committed corpus
# never grows). Exits non-zero when a target crashes, leaks, times out or
# trips a sanitizer; the reproducer is left in <build>/fuzz-artifacts/<t>/.
#
#   tests/fuzz/run_short.sh [SECONDS]      (or FUZZ_SECONDS=N; default 30)
#   FUZZ_TARGETS="http_request filters" tests/fuzz/run_short.sh
#   BERTH_FUZZ_BUILD=/path/to/build   (default: <repo>/build-fuzz)
set -eu

secs=${1:-${FUZZ_SECONDS:-30}}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BERTH_FUZZ_BUILD:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-"http_request filters config router reference manifest tar_layer"}

if ! command -v clang >/dev/null 2>&1; then
    echo "clang not found, skipping"
    exit 0
fi

# clang's -Wformat=2 rejects vsnprintf with a non-literal format in
# buf_vprintf/log_v (they lack a format attribute); keep that one a warning.
cflags=${BERTH_FUZZ_CFLAGS:--Wno-error=format-nonliteral}
CC=clang cmake -S "$root" -B "$build" -DBERTH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS="$cflags" >/dev/null
for t in $targets; do
    cmake --build "$build" --target "fuzz_$t" -j"$(nproc)" >/dev/null
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

work=$(mktemp -d /tmp/berth-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
failed=""
for t in $targets; do
    mkdir -p "$work/$t" "$build/fuzz-artifacts/$t"
    cp "$here/corpus/$t/"* "$work/$t/"
    dict=""
    [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
    echo "== fuzz_$t: ${secs}s"
    log="$build/fuzz-artifacts/$t/last-run.log"
    # shellcheck disable=SC2086
    if "$build/tests/fuzz/fuzz_$t" "$work/$t" $dict -max_total_time="$secs" \
        -max_len=65536 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$t/" >"$log" 2>&1; then
        grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' "$log" || true
        grep -E '^#[0-9]+' "$log" | tail -1 || true
    else
        echo "fuzz_$t FAILED (log: $log):"
        grep -E 'ERROR|SUMMARY|Test unit written|panic|wire:' "$log" | head -20 || tail -30 "$log"
        failed="$failed $t"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzzing found problems in:$failed"
    exit 1
fi
echo "fuzzing: no problem found"
