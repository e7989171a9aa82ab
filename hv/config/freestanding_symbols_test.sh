#!/bin/bash
# The freestanding parser must not pull in anything the hypervisor lacks: no heap, no
# exceptions (std::string_view::substr and friends throw), no stdio, no stack protector.
# It may use libfdt, lib/ and the string functions the hypervisor provides.
set -u

archives=$(find -L hv/config -name 'libhyperlaunch_freestanding.*' -type f)
if [[ -z "$archives" ]]; then
    echo "FAIL: the freestanding archive is not in the runfiles" >&2
    exit 1
fi

allowed='^(fdt_[a-z_]+|memchr|memcmp|memcpy|memmove|memset|strchr|strlen|strnlen|strrchr|strncmp|__cxa_pure_virtual|_ZN5relay[A-Za-z0-9_]+|_ZNK5relay[A-Za-z0-9_]+|_ZTVN5relay[A-Za-z0-9_]+)$'
undefined=$(nm -u $archives | awk 'NF == 2 { print $2 }' | sort -u)
forbidden=$(grep -Ev "$allowed" <<<"$undefined")
if [[ -n "$forbidden" ]]; then
    echo "FAIL: the freestanding parser needs symbols the hypervisor does not provide:" >&2
    sed 's/^/  /' <<<"$forbidden" >&2
    exit 1
fi
echo "outside lib/, the freestanding parser needs only: $(grep -Ev '^_Z' <<<"$undefined" | tr '\n' ' ')"
