#!/bin/bash
# Builds the stream fuzzer with clang (libFuzzer + ASan + UBSan) from the same sources
# Bazel builds, seeds it from the golden streams and the committed corpus, runs it for a
# bounded time, and exits non-zero on a finding.
#
#   tests/fuzz/run_fuzzers.sh [--seconds N] [--jobs J] [--keep DIR]
#
#   --seconds N  total fuzzing time (default 60)
#   --jobs J     parallel fuzzing processes (libFuzzer -fork=J; default 1)
#   --keep DIR   build, corpus and artifacts go to DIR and are kept (default: a temp dir,
#                removed unless something was found)
#
# Bazel's toolchain is gcc, which has no libFuzzer; this script compiles directly with
# clang++ and runs flatc itself for the generated headers. Needs: clang, libclang-rt-dev,
# flatbuffers-compiler, libflatbuffers-dev (all installed by ./relay setup).
set -euo pipefail

seconds=60
jobs=1
keep=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "run_fuzzers.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
if [[ -n "$keep" ]]; then
    work="$keep"
    mkdir -p "$work"
else
    work="$(mktemp -d /tmp/relay-fuzz.XXXXXX)"
fi
cleanup() {
    local status=$?
    if [[ -z "$keep" && $status -eq 0 ]]; then
        rm -rf "$work"
    elif [[ $status -ne 0 ]]; then
        echo "run_fuzzers.sh: kept $work for inspection" >&2
    fi
}
trap cleanup EXIT

clang="${CLANGXX:-clang++}"
command -v "$clang" >/dev/null || { echo "run_fuzzers.sh: $clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

echo "== generating the schema's C++ headers with flatc"
mkdir -p "$work/gen/schema"
flatc --cpp --scoped-enums --gen-mutable --bfbs-gen-embed --bfbs-builtins \
    -o "$work/gen/schema" "$root/schema/relay.fbs"

echo "== building stream_fuzzer with $clang (-fsanitize=fuzzer,address,undefined)"
sources=(
    "$root"/lib/format.cpp
    "$root"/lib/result.cpp
    "$root"/migration_stream/compatibility.cpp
    "$root"/migration_stream/feature_usage.cpp
    "$root"/migration_stream/features.cpp
    "$root"/migration_stream/host_state_checks.cpp
    "$root"/migration_stream/scratch_allocator.cpp
    "$root"/migration_stream/sha256.cpp
    "$root"/migration_stream/stream_header.cpp
    "$root"/migration_stream/stream_size_bound.cpp
    "$root"/migration_stream/stream_verifier.cpp
    "$root"/migration_stream/stream_writer.cpp
    "$root"/tools/relay_dump/reflection_values.cpp
    "$root"/tools/relay_dump/stream_diff.cpp
    "$root"/tools/relay_dump/stream_json.cpp
    "$root"/tools/relay_dump/stream_summary.cpp
    "$root"/tests/fuzz/stream_fuzz_target.cpp
    "$root"/tests/fuzz/stream_fuzzer.cpp
)
"$clang" -std=c++20 -O1 -g -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Wall -Wextra -Werror -Wno-unused-command-line-argument \
    -DRELAY_HOSTED=1 -I"$root" -I"$work/gen" \
    "${sources[@]}" -lflatbuffers -o "$work/stream_fuzzer"

echo "== seeding from golden streams and the committed corpus"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$root"/tests/data/streams/*.stream "$work/corpus/"
find "$root/tests/fuzz/corpus" -type f ! -name README.md -exec cp {} "$work/corpus/" \;

echo "== fuzzing for ${seconds}s with $jobs job(s)"
options=(-max_total_time="$seconds" -max_len=65536 -print_final_stats=1 -timeout=10
         -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/")
if [[ "$jobs" -gt 1 ]]; then
    options+=(-fork="$jobs" -ignore_crashes=0)
fi
set +e
"$work/stream_fuzzer" "${options[@]}" "$work/corpus" 2>&1 | tee "$work/fuzz.log" |
    grep -E "INITED|DONE|ERROR|SUMMARY|stat::|^#[0-9]+:" | tail -20
status=${PIPESTATUS[0]}
set -e

# Plain mode prints final stats; fork mode (--jobs > 1) only progress lines "#N: cov: ...".
executions=$({ grep -E "stat::number_of_executed_units" "$work/fuzz.log" || true; } | awk '{s += $2} END {print s + 0}')
if [[ "$executions" -eq 0 ]]; then
    executions=$({ grep -oE "^#[0-9]+" "$work/fuzz.log" || true; } | tail -1 | tr -d '#')
fi
coverage=$({ grep -oE "cov: [0-9]+" "$work/fuzz.log" || true; } | tail -1 | awk '{print $2}')
corpus_size=$(find "$work/corpus" -type f | wc -l)
echo "== result: ${executions} executions, coverage ${coverage:-?} edges, corpus ${corpus_size} inputs"
findings=$(find "$work/artifacts" -type f | wc -l)
if [[ $status -ne 0 || $findings -ne 0 ]]; then
    echo "run_fuzzers.sh: FINDING (exit $status); inputs in $work/artifacts:" >&2
    ls -la "$work/artifacts" >&2
    echo "Fix the bug, then commit the input to tests/fuzz/corpus/ (see its README)." >&2
    exit 1
fi
echo "== no findings"
