#!/bin/bash
# Checks that the current schema is an evolution of each frozen released schema
# (append-only: no field removed, retyped, renumbered or reordered), and that the check
# itself catches a removed field.
set -euo pipefail
current="$1"
shift
for released in "$@"; do
    if ! flatc --conform "$released" "$current"; then
        echo "FAIL: $current is not an evolution of $released" >&2
        exit 1
    fi
    echo "ok: $current conforms to $released"
done
# Self-check: a schema with a field removed from the middle of a table must be refused.
broken="${TEST_TMPDIR:-/tmp}/relay-broken.fbs"
grep -v '^  cr2: ulong;$' "$current" >"$broken"
if flatc --conform "$1" "$broken" 2>/dev/null; then
    echo "FAIL: flatc --conform accepted a schema with Vcpu.cr2 removed" >&2
    exit 1
fi
echo "ok: removing a field is refused"
