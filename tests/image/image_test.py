"""Static checks of the hypervisor image file (no QEMU needed)."""

import os
import struct
import subprocess
import unittest

from relay_test_support import runfile


def read(path):
    with open(path, "rb") as f:
        return f.read()


def program_headers(data):
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    headers = []
    for i in range(phnum):
        p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        headers.append(dict(type=p_type, flags=p_flags, offset=p_offset, vaddr=p_vaddr,
                            paddr=p_paddr, filesz=p_filesz, memsz=p_memsz))
    return headers


def text_symbols(path):
    out = subprocess.run(["nm", "--defined-only", path], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            symbols[parts[2]] = int(parts[0], 16)
    return symbols


class ImageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.image = runfile("hv/relay.elf")
        cls.stage1 = runfile("hv/relay_stage1.elf")
        cls.data = read(cls.image)

    def test_nothing_hosted_is_linked(self):
        undefined = subprocess.run(["nm", "-u", self.image], check=True, stdout=subprocess.PIPE,
                                   text=True).stdout
        self.assertEqual(undefined.strip(), "", "undefined symbols in the freestanding image")

    def test_multiboot1_header(self):
        # Multiboot 0.6.96 §3.1: in the first 8 KiB, 4-byte aligned, checksummed.
        found = None
        for offset in range(0, 8192, 4):
            magic, flags, checksum = struct.unpack_from("<III", self.data, offset)
            if magic == 0x1BADB002 and (magic + flags + checksum) & 0xFFFFFFFF == 0:
                found = (offset, flags)
                break
        self.assertIsNotNone(found, "no multiboot1 header in the first 8 KiB")
        offset, flags = found
        self.assertTrue(flags & (1 << 16), "a.out kludge: QEMU refuses 64-bit ELF otherwise")
        header_addr, load_addr, load_end, bss_end, entry = struct.unpack_from(
            "<IIIII", self.data, offset + 12)
        # QEMU loads the file from (offset - (header_addr - load_addr)).
        file_start = offset - (header_addr - load_addr)
        self.assertGreaterEqual(file_start, 0)
        self.assertLessEqual(file_start + (load_end - load_addr), len(self.data))
        self.assertTrue(load_addr < entry < load_end)
        self.assertGreater(bss_end, load_end)
        self.assertEqual(load_addr % (2 * 1024 * 1024), 0)

    def test_multiboot2_header(self):
        found = False
        for offset in range(0, 32768, 8):
            magic, arch, length, checksum = struct.unpack_from("<IIII", self.data, offset)
            if magic == 0xE85250D6 and (magic + arch + length + checksum) & 0xFFFFFFFF == 0:
                found = True
                tags = {}
                cursor = offset + 16
                while cursor < offset + length:
                    tag_type, tag_flags, size = struct.unpack_from("<HHI", self.data, cursor)
                    tags[tag_type] = self.data[cursor:cursor + size]
                    if tag_type == 0:
                        break
                    cursor += (size + 7) & ~7
                self.assertIn(10, tags, "relocatable tag")
                _, _, _, min_addr, max_addr, align, _ = struct.unpack("<HHIIIII", tags[10])
                self.assertEqual(align, 2 * 1024 * 1024)
                self.assertIn(3, tags, "entry address tag")
                break
        self.assertTrue(found, "no multiboot2 header in the first 32 KiB")

    def test_entry_is_inside_a_load_segment(self):
        # GRUB converts e_entry (virtual) through the segment that contains it.
        (entry,) = struct.unpack_from("<Q", self.data, 0x18)
        loads = [p for p in program_headers(self.data) if p["type"] == 1]
        self.assertTrue(any(p["vaddr"] <= entry < p["vaddr"] + p["memsz"] for p in loads))

    def test_no_segment_is_writable_and_executable(self):
        for header in program_headers(self.data):
            if header["type"] == 1:
                self.assertFalse(header["flags"] & 2 and header["flags"] & 1,
                                 "W+X load segment at %#x" % header["vaddr"])

    def test_load_segments_are_contiguous_in_file_and_memory(self):
        loads = [p for p in program_headers(self.data) if p["type"] == 1]
        base = loads[0]
        for header in loads:
            self.assertEqual(header["offset"] - base["offset"], header["paddr"] - base["paddr"])
            self.assertEqual(header["vaddr"] - base["vaddr"], header["paddr"] - base["paddr"])

    def test_symbol_table_second_link_moves_no_code(self):
        first = text_symbols(self.stage1)
        final = text_symbols(self.image)
        self.assertGreater(len(final), 100)
        moved = {name: (first[name], final[name]) for name in final
                 if name in first and first[name] != final[name]}
        self.assertEqual(moved, {}, "code moved between the two links")


if __name__ == "__main__":
    unittest.main()
