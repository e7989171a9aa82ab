#!/bin/bash
# Builds Relay's fuzzers with clang (libFuzzer + ASan + UBSan) from the same sources Bazel
# builds, seeds each, runs them one after another for a bounded total time, prints what
# each did, and exits non-zero on a finding.
#
#   tests/fuzz/run_fuzzers.sh [--seconds N] [--jobs J] [--keep DIR] [--only NAME,...]
#
#   --seconds N  total fuzzing time, split evenly between the fuzzers run (default 60)
#   --jobs J     parallel fuzzing processes per fuzzer (libFuzzer -fork=J; default 1)
#   --keep DIR   build, corpora and artifacts go to DIR and are kept; a later run with the
#                same DIR goes on from the corpora it left (default: a temp dir, removed
#                unless something was found)
#   --only LIST  run only these fuzzers (default: all)
#
# The fuzzers (docs/testing.md, "Fuzzing"):
#   stream       the stream verifier and readers (migration_stream, relay-dump)
#   hyperlaunch  the Hyperlaunch device-tree parser (hv/config) and the boot stream
#   multiboot1   the multiboot1 boot-information parser (hv/boot)
#   multiboot2   the multiboot2 boot-information parser (hv/boot)
#   acpi         RSDP, RSDT/XSDT and MADT (hv/arch/x86/acpi)
#   ivrs         the ACPI IVRS table: AMD-Vi units and their devices (iommu/ivrs)
#
# Bazel's toolchain is gcc, which has no libFuzzer; this script compiles directly with
# clang++, runs flatc for the generated headers, and takes libfdt's sources from Debian's
# linux-source tarball as the Bazel build does (third_party/libfdt). Needs: clang,
# libclang-rt-14-dev, flatbuffers-compiler, libflatbuffers-dev, linux-source-6.1 (all
# installed by ./relay setup).
set -euo pipefail

ALL_FUZZERS=(stream hyperlaunch multiboot1 multiboot2 acpi ivrs)

seconds=60
jobs=1
keep=""
only=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "run_fuzzers.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

fuzzers=()
if [[ -n "$only" ]]; then
    IFS=, read -r -a fuzzers <<< "$only"
    for name in "${fuzzers[@]}"; do
        [[ " ${ALL_FUZZERS[*]} " == *" $name "* ]] ||
            { echo "run_fuzzers.sh: no fuzzer '$name' (${ALL_FUZZERS[*]})" >&2; exit 2; }
    done
else
    fuzzers=("${ALL_FUZZERS[@]}")
fi

root="$(cd "$(dirname "$0")/../.." && pwd)"
if [[ -n "$keep" ]]; then
    mkdir -p "$keep"
    work="$(cd "$keep" && pwd)"
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
clang_c="${CLANG:-clang}"
command -v "$clang" >/dev/null || { echo "run_fuzzers.sh: $clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

# ---- Sources, as Bazel builds them (lib, migration_stream, hv/config, hv/boot, ...) ----

LIB_SOURCES=(lib/format.cpp lib/pci_function.cpp lib/result.cpp lib/strings.cpp)
STREAM_SOURCES=(
    migration_stream/compatibility.cpp
    migration_stream/feature_usage.cpp
    migration_stream/features.cpp
    migration_stream/host_state_checks.cpp
    migration_stream/scratch_allocator.cpp
    migration_stream/sha256.cpp
    migration_stream/stream_header.cpp
    migration_stream/stream_size_bound.cpp
    migration_stream/stream_verifier.cpp
    migration_stream/stream_writer.cpp
)
RELAY_DUMP_SOURCES=(
    tools/relay_dump/reflection_values.cpp
    tools/relay_dump/stream_diff.cpp
    tools/relay_dump/stream_json.cpp
    tools/relay_dump/stream_summary.cpp
)
HYPERLAUNCH_SOURCES=(
    hv/config/boot_stream.cpp
    hv/config/device_tree_blob.cpp
    hv/config/device_tree_node.cpp
    hv/config/domain_node.cpp
    hv/config/domain_roles.cpp
    hv/config/hyperlaunch_config.cpp
    hv/config/hyperlaunch_parser.cpp
    hv/config/module_node.cpp
    hv/config/node_path.cpp
    hv/config/node_properties.cpp
    hv/config/vendor_properties.cpp
)
BOOT_SOURCES=(hv/boot/boot_info.cpp hv/boot/command_line.cpp hv/boot/multiboot1.cpp
              hv/boot/multiboot2.cpp)

sources_of() {
    case "$1" in
        stream) echo "${LIB_SOURCES[*]} ${STREAM_SOURCES[*]} ${RELAY_DUMP_SOURCES[*]}" \
                     "tests/fuzz/stream_fuzz_target.cpp tests/fuzz/stream_fuzzer.cpp" ;;
        hyperlaunch) echo "${LIB_SOURCES[*]} ${STREAM_SOURCES[*]} ${HYPERLAUNCH_SOURCES[*]}" \
                          "tests/fuzz/hyperlaunch_fuzz_target.cpp tests/fuzz/hyperlaunch_fuzzer.cpp" ;;
        multiboot1|multiboot2) echo "${LIB_SOURCES[*]} ${BOOT_SOURCES[*]}" \
                        "tests/fuzz/multiboot_fuzz_target.cpp tests/fuzz/${1}_fuzzer.cpp" ;;
        acpi) echo "${LIB_SOURCES[*]} ${BOOT_SOURCES[*]} hv/arch/x86/acpi/acpi.cpp" \
                   "tests/fuzz/acpi_fuzz_target.cpp tests/fuzz/acpi_fuzzer.cpp" ;;
        ivrs) echo "${LIB_SOURCES[*]} iommu/ivrs.cpp" \
                   "tests/fuzz/ivrs_fuzz_target.cpp tests/fuzz/ivrs_fuzzer.cpp" ;;
    esac
}

SANITIZE=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
CXXFLAGS=(-std=c++20 -O1 -g -fno-omit-frame-pointer "${SANITIZE[@]}"
          -Wall -Wextra -Werror -Wno-unused-command-line-argument
          -DRELAY_HOSTED=1 -I"$root" -I"$work/gen" -I"$work/libfdt")
CFLAGS=(-std=gnu11 -O1 -g -fno-omit-frame-pointer "${SANITIZE[@]}" -w -I"$work/libfdt")

needs_libfdt=0
[[ " ${fuzzers[*]} " == *" hyperlaunch "* ]] && needs_libfdt=1

echo "== generating the schema's C++ headers with flatc"
mkdir -p "$work/gen/schema"
flatc --cpp --scoped-enums --gen-mutable --bfbs-gen-embed --bfbs-builtins \
    -o "$work/gen/schema" "$root/schema/relay.fbs"

# libfdt: the files third_party/libfdt/libfdt.BUILD lists, from the tarball WORKSPACE
# names. Extracting takes ~10-20 s, so the copy is cached per tarball.
LIBFDT_TARBALL=/usr/src/linux-source-6.1.tar.xz
LIBFDT_PREFIX=linux-source-6.1/scripts/dtc/libfdt
libfdt_sources=()
if [[ $needs_libfdt -eq 1 ]]; then
    [[ -f "$LIBFDT_TARBALL" ]] || { echo "run_fuzzers.sh: $LIBFDT_TARBALL missing (apt-get install linux-source-6.1)" >&2; exit 2; }
    cache="${RELAY_FUZZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/relay-fuzz}"
    stamp="$(stat -c '%s-%Y' "$LIBFDT_TARBALL")"
    if [[ ! -f "$cache/libfdt-$stamp/libfdt.h" ]]; then
        echo "== extracting libfdt from $LIBFDT_TARBALL"
        mkdir -p "$cache/libfdt-$stamp.tmp"
        tar -xJf "$LIBFDT_TARBALL" -C "$cache/libfdt-$stamp.tmp" \
            --strip-components="$(tr -cd / <<< "$LIBFDT_PREFIX" | wc -c | awk '{print $1 + 1}')" "$LIBFDT_PREFIX"
        rm -rf "$cache/libfdt-$stamp"
        mv "$cache/libfdt-$stamp.tmp" "$cache/libfdt-$stamp"
    fi
    rm -rf "$work/libfdt"
    cp -r "$cache/libfdt-$stamp" "$work/libfdt"
    while read -r file; do
        libfdt_sources+=("$file")
    done < <(sed -n '/^SRCS = \[/,/^\]/p' "$root/third_party/libfdt/libfdt.BUILD" | grep -o '"[^"]*\.c"' | tr -d '"')
    [[ ${#libfdt_sources[@]} -gt 0 ]] || { echo "run_fuzzers.sh: no libfdt sources in libfdt.BUILD" >&2; exit 2; }
fi

# ---- Build: every source once, in parallel, then one link per fuzzer ----

export root work clang clang_c

echo "== building ${fuzzers[*]} with $clang (-fsanitize=fuzzer,address,undefined)"
mkdir -p "$work/obj"
all_sources=()
for name in "${fuzzers[@]}"; do
    read -r -a list <<< "$(sources_of "$name")"
    all_sources+=("${list[@]}")
done
for file in "${libfdt_sources[@]}"; do
    all_sources+=("libfdt/$file")
done
printf '%s\n' "${all_sources[@]}" | sort -u > "$work/obj/sources.txt"
# xargs cannot pass arrays: the flags go through the environment, one per line.
CXXFLAGS_FILE="$work/obj/cxxflags" CFLAGS_FILE="$work/obj/cflags"
printf '%s\n' "${CXXFLAGS[@]}" > "$CXXFLAGS_FILE"
printf '%s\n' "${CFLAGS[@]}" > "$CFLAGS_FILE"
export CXXFLAGS_FILE CFLAGS_FILE
xargs -P "$(nproc)" -I{} bash -c '
    source="{}"
    object="$work/obj/$(tr / _ <<< "$source").o"
    if [[ "$source" == libfdt/* ]]; then
        mapfile -t flags < "$CFLAGS_FILE"
        exec "$clang_c" "${flags[@]}" -c "$work/$source" -o "$object"
    else
        mapfile -t flags < "$CXXFLAGS_FILE"
        exec "$clang" "${flags[@]}" -c "$root/$source" -o "$object"
    fi' < "$work/obj/sources.txt"

for name in "${fuzzers[@]}"; do
    read -r -a list <<< "$(sources_of "$name")"
    objects=()
    for source in "${list[@]}"; do
        objects+=("$work/obj/$(tr / _ <<< "$source").o")
    done
    if [[ "$name" == hyperlaunch ]]; then
        for file in "${libfdt_sources[@]}"; do
            objects+=("$work/obj/libfdt_$file.o")
        done
    fi
    "$clang" "${SANITIZE[@]}" "${objects[@]}" -lflatbuffers -o "$work/${name}_fuzzer"
done

# ---- Seeds: the committed corpus of each fuzzer, plus what the repository already has ----

seed() {
    local name="$1" corpus="$work/$1/corpus"
    mkdir -p "$corpus" "$work/$name/artifacts"
    if [[ -d "$root/tests/fuzz/corpus/$name" ]]; then
        find "$root/tests/fuzz/corpus/$name" -type f ! -name README.md -exec cp {} "$corpus/" \;
    fi
    # The golden streams are the stream fuzzer's seeds too (tests/data/streams).
    if [[ "$name" == stream ]]; then
        cp "$root"/tests/data/streams/*.stream "$corpus/"
    fi
}

# The dictionary of a fuzzer (both multiboot fuzzers share one).
dictionary_of() {
    case "$1" in
        multiboot1|multiboot2) echo "$root/tests/fuzz/multiboot.dict" ;;
        *) echo "$root/tests/fuzz/$1.dict" ;;
    esac
}

declare -A executions rates coverage features corpus_sizes findings
total_executions=0
total_findings=0
per_fuzzer=$(( seconds / ${#fuzzers[@]} ))
[[ $per_fuzzer -ge 1 ]] || per_fuzzer=1

for name in "${fuzzers[@]}"; do
    seed "$name"
    options=(-max_total_time="$per_fuzzer" -max_len=65536 -print_final_stats=1 -timeout=10
             -rss_limit_mb=2048 -artifact_prefix="$work/$name/artifacts/")
    dictionary="$(dictionary_of "$name")"
    if [[ -f "$dictionary" ]]; then
        options+=(-dict="$dictionary")
    fi
    if [[ "$jobs" -gt 1 ]]; then
        options+=(-fork="$jobs" -ignore_crashes=0)
    fi
    echo "== $name: fuzzing for ${per_fuzzer}s with $jobs job(s), $(find "$work/$name/corpus" -type f | wc -l) seeds"
    set +e
    (cd "$work/$name" && "$work/${name}_fuzzer" "${options[@]}" "$work/$name/corpus") > "$work/$name/fuzz.log" 2>&1
    status=$?
    set -e
    grep -aE "INITED|DONE|ERROR|SUMMARY|contract violated|stat::number_of_executed_units|^#[0-9]+:" \
        "$work/$name/fuzz.log" | tail -8 | sed "s/^/   $name: /"
    # Plain mode prints final stats; fork mode (--jobs > 1) only progress lines "#N: cov: ...".
    runs=$({ grep -aE "stat::number_of_executed_units" "$work/$name/fuzz.log" || true; } | awk '{s += $2} END {print s + 0}')
    if [[ "$runs" -eq 0 ]]; then
        runs=$({ grep -aoE "^#[0-9]+" "$work/$name/fuzz.log" || true; } | tail -1 | tr -d '#')
    fi
    executions[$name]=${runs:-0}
    # libFuzzer's own average (right when a finding stopped the run early); fork mode has
    # none, so executions over the time given.
    rates[$name]=$({ grep -aE "stat::average_exec_per_sec" "$work/$name/fuzz.log" || true; } | awk '{s += $2} END {print s + 0}')
    if [[ "${rates[$name]}" -eq 0 ]]; then
        rates[$name]=$(( ${executions[$name]} / per_fuzzer ))
    fi
    coverage[$name]=$({ grep -aoE "cov: [0-9]+" "$work/$name/fuzz.log" || true; } | tail -1 | awk '{print $2}')
    features[$name]=$({ grep -aoE "ft: [0-9]+" "$work/$name/fuzz.log" || true; } | tail -1 | awk '{print $2}')
    corpus_sizes[$name]=$(find "$work/$name/corpus" -type f | wc -l)
    found=$(find "$work/$name/artifacts" -type f | wc -l)
    if [[ $status -ne 0 && $found -eq 0 ]]; then
        found=1  # a failure without an artifact (e.g. the fuzzer did not start)
    fi
    findings[$name]=$found
    total_executions=$(( total_executions + ${executions[$name]} ))
    total_findings=$(( total_findings + found ))
done

echo "== results (${seconds}s in total, ${per_fuzzer}s each, $jobs job(s))"
for name in "${fuzzers[@]}"; do
    printf '== %-12s %10s executions (%s/s), coverage %6s edges, %6s features, corpus %5s inputs, %s findings\n' \
        "$name" "${executions[$name]}" "${rates[$name]}" "${coverage[$name]:-?}" "${features[$name]:-?}" \
        "${corpus_sizes[$name]}" "${findings[$name]}"
done
printf '== %-12s %10s executions, %s findings\n' total "$total_executions" "$total_findings"
if [[ $total_findings -ne 0 ]]; then
    for name in "${fuzzers[@]}"; do
        if [[ ${findings[$name]} -ne 0 ]]; then
            echo "run_fuzzers.sh: FINDING in $name: inputs in $work/$name/artifacts, log $work/$name/fuzz.log:" >&2
            ls -la "$work/$name/artifacts" >&2
        fi
    done
    echo "Fix the bug, then commit the input to tests/fuzz/corpus/<fuzzer>/ (see its README)." >&2
    exit 1
fi
echo "== no findings"
