#!/usr/bin/env python3
"""Writes a cpio archive in the "newc" format (the initramfs format) from files.

    make_cpio.py OUT NAME=PATH [NAME=PATH ...]

Each file is stored as a regular file NAME (mode 0644), in the order given, then the
"TRAILER!!!" entry. Timestamps and inode numbers are fixed, so the archive depends only on
its inputs (Bazel caches it). The control guest reads it (tests/guests/control/cpio.cpp).
"""

import sys


def entry(name, data, mode, inode):
    encoded = name.encode() + b"\0"
    fields = [inode, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    out = header + encoded
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    archive = b""
    for inode, spec in enumerate(argv[1:], start=1):
        name, _, path = spec.partition("=")
        if not name or not path:
            sys.exit("make_cpio.py: %r is not NAME=PATH" % spec)
        with open(path, "rb") as handle:
            archive += entry(name, handle.read(), 0o100644, inode)
    archive += entry("TRAILER!!!", b"", 0, 0)
    with open(argv[0], "wb") as handle:
        handle.write(archive)


if __name__ == "__main__":
    main(sys.argv[1:])
