#!/bin/bash
# relay-dump's command line: every subcommand answers --help, every kind of bad input
# gets its own message and exit status, and make/json/diff/extract do their job.
# Usage: relay_dump_cli_test.sh RELAY_DUMP STREAMS_DIR
set -uo pipefail
dump="$1"
streams="$2"
work="${TEST_TMPDIR:-$(mktemp -d)}"
failures=0

# expect STATUS PATTERN COMMAND...: runs COMMAND, checks its exit status and that
# stdout+stderr contain PATTERN (grep -E).
expect() {
    local status="$1" pattern="$2"
    shift 2
    local output actual
    output="$("$@" 2>&1)"
    actual=$?
    if [[ $actual -ne $status ]] || ! grep -qE -- "$pattern" <<<"$output"; then
        echo "FAIL: $* -> status $actual (want $status), output:" >&2
        echo "$output" | head -20 >&2
        echo "  (wanted /$pattern/)" >&2
        failures=$((failures + 1))
    else
        echo "ok: $* -> $status"
    fi
}

v10="$streams/v1.0-live-update.stream"
v11="$streams/v1.1-live-update.stream"

expect 0 "usage:" "$dump" --help
expect 2 "usage:" "$dump"
expect 2 "unknown command" "$dump" frobnicate
for command in show json verify diff make extract; do
    expect 0 "^usage: relay-dump $command" "$dump" "$command" --help
done
expect 2 "expects one FILE" "$dump" verify
expect 2 "unknown option --frob" "$dump" json --frob "$v10"

expect 0 "ok: live-update stream, schema 1.0, 2 domains" "$dump" verify "$v10"
expect 0 "ok: boot stream, schema 1.0" "$dump" verify "$streams/v1.0-boot.stream"
expect 0 "domain 1 \"guest-1\": Running" "$dump" show "$v10"
expect 0 "guest \[0x0, 0xfffff\] -> host 0x100000000 rwx 4 KiB pages" "$dump" show "$v10"
expect 0 "unit 0: AmdVi" "$dump" show "$v11"
expect 0 "kexec +9.800 ms" "$dump" show "$v11"
expect 0 "\"domains\"" "$dump" json "$v10"

# json -> make -> json is the identity; the remade stream verifies.
"$dump" json --stored-only "$v11" >"$work/v11.json"
expect 0 "wrote .*schema 1.1" "$dump" make "$work/v11.json" "$work/remade.stream" --schema-minor 1
"$dump" json "$work/remade.stream" >"$work/remade.json"
"$dump" json "$v11" >"$work/original.json"
if cmp -s "$work/remade.json" "$work/original.json"; then
    echo "ok: json -> make -> json round-trips"
else
    echo "FAIL: json -> make -> json changed the state" >&2
    failures=$((failures + 1))
fi
expect 0 "no differences" "$dump" diff "$v11" "$work/remade.stream"
expect 15 "HostState.domains\[0\].vcpus\[0\].cet is from schema 1.1 and cannot be written as schema 1.0" \
    "$dump" make "$work/v11.json" "$work/old.stream" --schema-minor 0
expect 2 "unknown kind" "$dump" make "$work/v11.json" "$work/x.stream" --kind sideways
expect 17 "JSON does not match the HostState schema" "$dump" make "$dump" "$work/x.stream"

# diff before/after: a domain added, CET switched on, feature bits and schema changed.
expect 1 "domains: added domid=3 name=\"guest-3\"" "$dump" diff "$v10" "$v11"
expect 1 "header.schema: 1.0 -> 1.1" "$dump" diff "$v10" "$v11"
expect 1 "domains\[domid=1\].vcpus\[id=0\].cet: \(absent\) -> present" "$dump" diff "$v10" "$v11"
expect 0 "no differences" "$dump" diff "$v10" "$v10"

# Bad input: each kind has its own message and status; nothing crashes.
python3 - "$v10" "$work" <<'PYTHON'
import hashlib, json, struct, sys
data = open(sys.argv[1], "rb").read()
work = sys.argv[2]
def rewrap(header, payload):
    # Digest: SHA-256 of the header with its digest field (80..112) zeroed, then the payload.
    header = bytearray(header)
    header[80:112] = bytes(32)
    header[80:112] = hashlib.sha256(bytes(header) + payload).digest()
    return bytes(header) + payload
open(work + "/empty.stream", "wb").write(b"")
open(work + "/truncated.stream", "wb").write(data[:-100])
open(work + "/header-only.stream", "wb").write(data[:100])
open(work + "/magic.stream", "wb").write(b"RELAYSTN" + data[8:])
major = bytearray(data); major[16] = 2
open(work + "/major.stream", "wb").write(major)
flipped = bytearray(data); flipped[1000] ^= 0x10
open(work + "/digest.stream", "wb").write(flipped)
required = bytearray(data[:128]); required[24 + 4] |= 0x20  # required bit 37
open(work + "/required.stream", "wb").write(rewrap(required, data[128:]))
broken = bytearray(data[128:]); broken[0:4] = struct.pack("<I", 0x7FFFFF00)
open(work + "/flatbuffers.stream", "wb").write(rewrap(data[:128], bytes(broken)))
PYTHON
expect 10 "0 bytes, too short for the 8-byte magic" "$dump" verify "$work/empty.stream"
expect 10 "header declares a [0-9]+-byte payload, [0-9]+ bytes follow the header" "$dump" verify "$work/truncated.stream"
expect 10 "100 bytes, the header alone is 128 bytes" "$dump" verify "$work/header-only.stream"
expect 11 "magic is \"RELAYSTN\"" "$dump" verify "$work/magic.stream"
expect 12 "unknown schema major: stream schema 2.0" "$dump" verify "$work/major.stream"
expect 13 "digest mismatch" "$dump" verify "$work/digest.stream"
expect 15 "unknown required feature bit 37" "$dump" verify "$work/required.stream"
expect 14 "failed FlatBuffers verification" "$dump" verify "$work/flatbuffers.stream"
expect 3 "cannot open" "$dump" verify "$work/does-not-exist.stream"
for command in show json; do
    expect 13 "digest mismatch" "$dump" "$command" "$work/digest.stream"
done
expect 14 "failed FlatBuffers verification" "$dump" diff "$v10" "$work/flatbuffers.stream"
# A semantic refusal: two domains with one domid.
sed -e 's/"domid": 2,/"domid": 1,/' "$work/v11.json" >"$work/duplicate.json"
expect 14 "domid 1 is not unique" "$dump" make "$work/duplicate.json" "$work/duplicate.stream"
expect 0 "wrote" "$dump" make "$work/duplicate.json" "$work/duplicate.stream" --unchecked
expect 14 "domid 1 is not unique: domains 0 and 1 both use it" "$dump" verify "$work/duplicate.stream"

# extract: from a raw image (pmemsave) and from an ELF core (dump-guest-memory).
python3 - "$v10" "$work" <<'PYTHON'
import struct, sys
stream = open(sys.argv[1], "rb").read()
work = sys.argv[2]
raw = bytearray(b"\xA5" * 0x20000)
raw[0x3000:0x3000 + len(stream)] = stream
raw[0x18000:0x18008] = b"RELAYSTM"  # a stray magic that is not a stream
open(work + "/memory.raw", "wb").write(raw)
# ELF64 core: one PT_LOAD of the raw image at physical 0x100000, file offset 0x1000.
ehdr = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 4, 62, 1, 0, 64, 0, 0,
                   64, 56, 1, 64, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 1, 6, 0x1000, 0xFFFF800000100000, 0x100000, len(raw), len(raw), 0x1000)
core = ehdr + phdr
core += bytes(0x1000 - len(core)) + raw
open(work + "/memory.core", "wb").write(core)
PYTHON
expect 0 "stream at physical 0x3000 \(file offset 0x3000\), [0-9]+ bytes: verifies" "$dump" extract "$work/memory.raw" -o "$work/extracted.stream"
if cmp -s "$work/extracted.stream" "$v10"; then echo "ok: extracted stream is the original"; else echo "FAIL: extracted stream differs" >&2; failures=$((failures + 1)); fi
expect 0 "candidate at physical 0x18000" "$dump" extract "$work/memory.raw"
expect 0 "stream at physical 0x103000 \(file offset 0x4000\)" "$dump" extract "$work/memory.core"
expect 0 "stream at physical 0x103000" "$dump" extract "$work/memory.core" --at 0x103000
expect 0 "stream at physical 0x80003000" "$dump" extract "$work/memory.raw" --base 0x80000000
expect 12 "format version" "$dump" extract "$work/memory.raw" --at 0x18000
expect 16 "physical address 0x900000 is not in the image" "$dump" extract "$work/memory.core" --at 0x900000
head -c 65536 /dev/zero >"$work/zeros.raw"
expect 18 "no verifiable stream found \(0 candidates\)" "$dump" extract "$work/zeros.raw"

if [[ $failures -ne 0 ]]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all relay-dump checks passed"
