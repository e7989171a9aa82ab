#!/bin/bash
# The freestanding migration stream must need nothing from libc or the C++ runtime beyond
# what the hypervisor provides (docs/stream-format.md, "Freestanding use"): C string
# functions, relay::assertion_failed, and panicking stand-ins for the operator new/delete
# and __cxa_pure_virtual that FlatBuffers' headers reference but StreamWriter never calls.
# Usage: freestanding_symbols_test.sh LIBRARY...
set -euo pipefail
allowed='^(memcpy|memmove|memset|memcmp|strlen|strncmp|__cxa_pure_virtual|relay::assertion_failed\(char const\*, char const\*, int\)|operator new\[\]\(unsigned long\)|operator delete\(void\*\)|operator delete\(void\*, unsigned long\)|operator delete\[\]\(void\*\))$'
defined=$(mktemp)
undefined=$(mktemp)
for library in "$@"; do
    nm -C --defined-only "$library" | awk 'NF >= 3 { $1 = ""; $2 = ""; sub(/^  /, ""); print }' >>"$defined"
    nm -C -u "$library" | awk 'NF >= 2 { $1 = ""; sub(/^ /, ""); print }' >>"$undefined"
done
sort -u "$defined" -o "$defined"
sort -u "$undefined" -o "$undefined"
missing=$(comm -23 "$undefined" "$defined" | grep -v -E "$allowed" || true)
if [[ -n "$missing" ]]; then
    echo "FAIL: freestanding code needs symbols the hypervisor does not provide:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "ok: external symbols needed:"
comm -23 "$undefined" "$defined"
