#!/bin/bash
# relay-config's command line: output of `check` and `modules`, and exit codes
# (0 valid, 1 invalid or unreadable, 2 usage error). Runs from the test's runfiles.
set -u

RELAY_CONFIG="tools/relay_config/relay-config"
TESTDATA="tools/relay_config/testdata"
WORK="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run NAME EXPECTED_EXIT ARGS...: runs relay-config, keeps stdout/stderr in $WORK/NAME.*
run() {
    local name="$1" expected="$2"
    shift 2
    "$RELAY_CONFIG" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    local status=$?
    if [[ $status -ne $expected ]]; then
        fail "$name: exit $status, expected $expected"
        sed 's/^/  stdout: /' "$WORK/$name.out" >&2
        sed 's/^/  stderr: /' "$WORK/$name.err" >&2
    fi
}

# has_line NAME STREAM LINE: STREAM (out or err) of run NAME has exactly this line.
has_line() {
    if ! grep -qxF -- "$3" "$WORK/$1.$2"; then
        fail "$1: std$2 lacks the line: $3"
        sed "s/^/  std$2: /" "$WORK/$1.$2" >&2
    fi
}

# is_empty NAME STREAM
is_empty() {
    if [[ -s "$WORK/$1.$2" ]]; then
        fail "$1: std$2 should be empty"
        sed "s/^/  std$2: /" "$WORK/$1.$2" >&2
    fi
}

# --- check --------------------------------------------------------------------------

run check_default 0 check examples/default.dts --host-memory 128M --cpus 2
has_line check_default out "examples/default.dts: 3 domains, 81920 KiB (80 MiB) of guest memory, 4 multiboot modules (0 to 3)"
has_line check_default out "host: 131072 KiB for guests, 2 physical CPUs"
has_line check_default out "domain 1: control"
has_line check_default out "  permissions  control"
has_line check_default out "  functions    boot"
has_line check_default out "  kernel       mb-index 1, file bazel-bin/tests/guests/control.elf"
has_line check_default out '               bootargs "script=list;sleep 2;pause 3;sleep 1;unpause 3;list;export;stage relay_b.elf;update;list;export"'
has_line check_default out "  ramdisk      mb-index 3, file bazel-bin/hv/update_images.cpio"
has_line check_default out "domain 3: memtest2"
has_line check_default out "  cpus         2"
has_line check_default out "  memory       32768 KiB (32 MiB)"
has_line check_default out '               bootargs "seed=42"'
has_line check_default out "  2  kernel       bazel-bin/tests/guests/memtest.elf  used by memtest1, memtest2"
is_empty check_default err

run check_rogue_dtb 0 check examples/rogue.dtb
has_line check_rogue_dtb out "domain 4: rogue"
has_line check_rogue_dtb out "  uuid         52454c41-5900-4000-8000-000000000004"
has_line check_rogue_dtb out "note: give --host-memory and --cpus to check that the domains fit a host"

run check_memory 1 check "$TESTDATA/too_much_memory.dts" --host-memory 3G
has_line check_memory err "relay-config: $TESTDATA/too_much_memory.dts: /chosen/hypervisor/domU1: property \"memory\": 8589934592 KiB requested, host can give 3145728 KiB"
is_empty check_memory out

run check_cpus 1 check examples/default.dts --cpus 1
has_line check_cpus err "relay-config: examples/default.dts: /chosen/hypervisor/memtest2: property \"cpus\": 2 vCPUs requested; the host has 1 physical CPU"

run check_modules 1 check examples/default.dts --modules 3
has_line check_modules err "relay-config: examples/default.dts: /chosen/hypervisor/control/ramdisk: property \"mb-index\": is 3, but the boot loader passed 3 multiboot modules (0 to 2)"

run check_syntax 1 check "$TESTDATA/syntax_error.dts"
has_line check_syntax err "relay-config: $TESTDATA/syntax_error.dts: dtc failed (exit status 1):"
if ! grep -q "syntax error" "$WORK/check_syntax.err"; then
    fail "check_syntax: dtc's own message is not shown"
fi

run check_missing 1 check "$WORK/does-not-exist.dts"
has_line check_missing err "relay-config: $WORK/does-not-exist.dts: cannot read it: No such file or directory"

# Module sizes come from the relay,file files under --root: a 20 MB control kernel does
# not fit the control domain's 16 MiB.
mkdir -p "$WORK/root/bazel-bin/tests/guests"
head -c 20000000 /dev/zero >"$WORK/root/bazel-bin/tests/guests/control.elf"
run check_sizes 1 check examples/default.dts --root "$WORK/root"
has_line check_sizes err "relay-config: examples/default.dts: /chosen/hypervisor/control: property \"memory\": 16384 KiB cannot hold the domain's modules (20000000 bytes are copied into its memory)"
head -c 200000 /dev/zero >"$WORK/root/bazel-bin/tests/guests/control.elf"
run check_sizes_fit 0 check examples/default.dts --root "$WORK/root"
has_line check_sizes_fit out "note: bazel-bin/tests/guests/memtest.elf does not exist yet; its size was not checked"
if grep -q "control.elf does not exist" "$WORK/check_sizes_fit.out"; then
    fail "check_sizes_fit: control.elf exists under --root"
fi

run check_gap 0 check "$TESTDATA/module_gap.dts"
has_line check_gap out "  1  unused"

# --- modules ------------------------------------------------------------------------

run modules_default 0 modules examples/default.dts --dtb "$WORK/default.dtb"
cat >"$WORK/modules_default.expected" <<END
0 $WORK/default.dtb relay.hyperlaunch
1 bazel-bin/tests/guests/control.elf relay.module=kernel
2 bazel-bin/tests/guests/memtest.elf relay.module=kernel
3 bazel-bin/hv/update_images.cpio relay.module=ramdisk
END
if ! diff -u "$WORK/modules_default.expected" "$WORK/modules_default.out" >&2; then
    fail "modules_default: unexpected module list"
fi
if ! cmp -s "$WORK/default.dtb" examples/default.dtb; then
    fail "modules_default: --dtb did not write the tree dtc makes"
fi

run modules_rogue 0 modules examples/rogue.dtb
cat >"$WORK/modules_rogue.expected" <<END
0 examples/rogue.dtb relay.hyperlaunch
1 bazel-bin/tests/guests/control.elf relay.module=kernel
2 bazel-bin/tests/guests/memtest.elf relay.module=kernel
3 bazel-bin/tests/guests/rogue.elf relay.module=kernel
END
if ! diff -u "$WORK/modules_rogue.expected" "$WORK/modules_rogue.out" >&2; then
    fail "modules_rogue: unexpected module list"
fi

run modules_source 0 modules examples/default.dts
has_line modules_source out "0 - relay.hyperlaunch"

run modules_gap 1 modules "$TESTDATA/module_gap.dts"
has_line modules_gap err "relay-config: $TESTDATA/module_gap.dts: multiboot module 1 is used by no module node: the launcher cannot know what to load there"
is_empty modules_gap out

run modules_no_file 1 modules "$TESTDATA/no_file.dts"
has_line modules_no_file err "relay-config: $TESTDATA/no_file.dts: multiboot module 2 (ramdisk of solo) has no relay,file: the launcher cannot know which file to load"
is_empty modules_no_file out

run modules_invalid 1 modules "$TESTDATA/syntax_error.dts"

# --- usage --------------------------------------------------------------------------

run help 0 --help
has_line help out "usage: relay-config <command> [arguments]"
run check_help 0 check --help
has_line check_help out "usage: relay-config check FILE.dts|FILE.dtb [--modules N] [--host-memory SIZE]"
run modules_help 0 modules --help
has_line modules_help out "usage: relay-config modules FILE.dts|FILE.dtb [--dtb OUT.dtb]"

run no_command 2
run unknown_command 2 frobnicate
has_line unknown_command err "relay-config: frobnicate: unknown command (see relay-config --help)"
run check_no_file 2 check
has_line check_no_file err "relay-config: check: FILE.dts or FILE.dtb is missing (see relay-config check --help)"
run check_bad_size 2 check examples/default.dts --host-memory 12Q
has_line check_bad_size err "relay-config: check: --host-memory takes a size such as 512M or 3G, not \"12Q\" (see relay-config check --help)"
run check_bad_cpus 2 check examples/default.dts --cpus 0
run check_bad_modules 2 check examples/default.dts --modules 65
run check_unknown_option 2 check examples/default.dts --frob
run check_two_files 2 check examples/default.dts examples/rogue.dts
run modules_missing_value 2 modules examples/default.dts --dtb

if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "all relay-config CLI checks passed"
