#!/bin/bash
# Interop: a stream's payload decodes with stock `flatc --json` and the schema, and gives
# the same JSON as relay-dump's reflection printer (docs/stream-format.md, "Payload").
# Usage: flatc_interop_test.sh SCHEMA RELAY_DUMP STREAM...
set -euo pipefail
schema="$1"
dump="$2"
shift 2
work="${TEST_TMPDIR:-$(mktemp -d)}"
for stream in "$@"; do
    name="$(basename "$stream" .stream)"
    # The payload follows the 128-byte header (docs/stream-format.md, "Header").
    tail -c +129 "$stream" >"$work/$name.bin"
    flatc --json --strict-json --defaults-json -o "$work" "$schema" -- "$work/$name.bin"
    "$dump" json "$stream" >"$work/$name.relay-dump.json"
    python3 - "$work/$name.json" "$work/$name.relay-dump.json" <<'PYTHON'
import json, sys
stock = json.load(open(sys.argv[1]))
ours = json.load(open(sys.argv[2]))
if stock != ours:
    sys.exit("flatc and relay-dump disagree on " + sys.argv[1])
if not stock.get("producer") or "domains" not in stock:
    sys.exit("flatc decoded no HostState from " + sys.argv[1])
PYTHON
    echo "ok: $name decodes with stock flatc ($(wc -c <"$work/$name.bin") payload bytes)"
done
# The check has teeth: a payload with its root offset broken does not decode.
head -c 4 /dev/zero >"$work/broken.bin"
tail -c +5 "$work/$name.bin" >>"$work/broken.bin"
if flatc --json --strict-json -o "$work" "$schema" -- "$work/broken.bin" 2>/dev/null &&
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d.get('domains') else 1)" "$work/broken.json" 2>/dev/null; then
    echo "FAIL: a broken payload decoded to a HostState" >&2
    exit 1
fi
echo "ok: a broken payload is not decoded as the same state"
