#!/bin/bash
# The freestanding IOMMU libraries must need nothing from libc or the C++ runtime beyond
# what the hypervisor provides (hv/lib/libc.cpp, hv/lib/cxx_runtime.cpp): memory and
# string functions, __cxa_pure_virtual (the interfaces are abstract classes) and
# relay::assertion_failed. Everything else must be defined by the archives given.
# Usage: freestanding_symbols_test.sh LIBRARY...
set -euo pipefail
allowed='^(memcpy|memmove|memset|memcmp|strlen|__cxa_pure_virtual|relay::assertion_failed\(char const\*, char const\*, int\))$'
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
    echo "FAIL: freestanding IOMMU code needs symbols the hypervisor does not provide:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "ok: external symbols needed:"
comm -23 "$undefined" "$defined"
