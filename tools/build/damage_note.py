"""Writes a copy of a Relay image whose compatibility note (docs/stream-format.md,
"Compatibility note") is missing or damaged, for tests of kexec_stage's refusal:

  damage_note.py strip   IN OUT   the PT_NOTE program header becomes PT_NULL: a loader
                                  (kexec/target_image.cpp reads program headers, not
                                  sections) finds no note at all
  damage_note.py corrupt IN OUT   the Relay note stays, its version field becomes 0xbad

The note lives in the linker script's merged `.note` section beside the GNU build id, so
`objcopy --remove-section .note.relay` has nothing to remove; this edits the file."""

import struct
import sys

PT_NOTE = 4
PT_NULL = 0


def program_headers(image):
    if image[:4] != b"\x7fELF" or image[4] != 2 or image[5] != 1:
        raise SystemExit("not an ELF64 little-endian file")
    table, = struct.unpack_from("<Q", image, 32)
    size, count = struct.unpack_from("<HH", image, 54)
    return [table + i * size for i in range(count)]


def relay_note_descriptors(image, header):
    kind, _, offset, _, _, file_size = struct.unpack_from("<IIQQQQ", image, header)
    if kind != PT_NOTE:
        return []
    found = []
    cursor = offset
    while cursor + 12 <= offset + file_size:
        name_size, desc_size, _ = struct.unpack_from("<III", image, cursor)
        name = image[cursor + 12:cursor + 12 + name_size]
        desc = cursor + 12 + ((name_size + 3) & ~3)
        if name == b"Relay\0":
            found.append(desc)
        cursor = desc + ((desc_size + 3) & ~3)
    return found


def main():
    mode, source, destination = sys.argv[1:4]
    with open(source, "rb") as f:
        image = bytearray(f.read())
    notes = [h for h in program_headers(image) if struct.unpack_from("<I", image, h)[0] == PT_NOTE]
    descriptors = [d for h in notes for d in relay_note_descriptors(image, h)]
    if not descriptors:
        raise SystemExit("%s: no Relay compatibility note to damage" % source)
    if mode == "strip":
        for header in notes:
            struct.pack_into("<I", image, header, PT_NULL)
    elif mode == "corrupt":
        for descriptor in descriptors:
            struct.pack_into("<I", image, descriptor, 0xBAD)
    else:
        raise SystemExit("mode must be strip or corrupt")
    with open(destination, "wb") as f:
        f.write(image)


if __name__ == "__main__":
    main()
