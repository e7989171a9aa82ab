"""Static checks of the test guests' ELF files (no hypervisor needed).

Relay's domain builder loads a guest kernel's PT_LOAD segments at their p_paddr, which
must lie at or above 1 MiB inside guest RAM, and starts it at e_entry with RAM
identity-mapped (hv/abi/start_info.h). A guest must link nothing hosted.
"""

import os
import struct
import subprocess
import unittest

GUESTS = ["memtest", "control", "rogue", "dma", "fuzzguest"]

ET_EXEC = 2
EM_X86_64 = 62
PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
PF_X = 1
PF_W = 2
KERNEL_MIN = 0x100000  # RELAY_GUEST_KERNEL_MIN
# The smallest domain of the examples has 8 MiB; a guest image (with .bss) must leave
# most of it free.
IMAGE_END_MAX = 0x400000


def runfile(path):
    for root in (os.environ.get("TEST_SRCDIR"), os.environ.get("RUNFILES_DIR")):
        if root:
            candidate = os.path.join(root, "relay", path)
            if os.path.exists(candidate):
                return candidate
    if os.path.exists(path):
        return path
    raise FileNotFoundError(path)


def program_headers(data):
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    headers = []
    for i in range(phnum):
        p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align = (
            struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize))
        headers.append(dict(type=p_type, flags=p_flags, offset=p_offset, vaddr=p_vaddr,
                            paddr=p_paddr, filesz=p_filesz, memsz=p_memsz, align=p_align))
    return headers


class GuestElfTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.guests = []
        for name in GUESTS:
            path = runfile("tests/guests/%s.elf" % name)
            with open(path, "rb") as f:
                cls.guests.append((name, path, f.read()))

    def test_elf64_x86_64_executable(self):
        for name, _, data in self.guests:
            with self.subTest(guest=name):
                self.assertEqual(data[:4], b"\x7fELF")
                self.assertEqual(data[4], 2, "ELFCLASS64")
                self.assertEqual(data[5], 1, "little-endian")
                e_type, e_machine = struct.unpack_from("<HH", data, 0x10)
                self.assertEqual(e_type, ET_EXEC, "ET_EXEC: linked at fixed addresses")
                self.assertEqual(e_machine, EM_X86_64)

    def test_load_segments_at_or_above_1_mib_identity_mapped(self):
        for name, _, data in self.guests:
            with self.subTest(guest=name):
                headers = program_headers(data)
                loads = [h for h in headers if h["type"] == PT_LOAD]
                self.assertTrue(loads, "no PT_LOAD segment")
                for h in loads:
                    self.assertGreaterEqual(h["paddr"], KERNEL_MIN, "segment below 1 MiB")
                    self.assertEqual(h["vaddr"], h["paddr"], "virtual = physical (identity map)")
                    self.assertGreaterEqual(h["memsz"], h["filesz"])
                    self.assertLessEqual(h["offset"] + h["filesz"], len(data))
                    self.assertFalse(h["flags"] & PF_W and h["flags"] & PF_X,
                                     "W+X segment at %#x" % h["paddr"])
                end = max(h["paddr"] + h["memsz"] for h in loads)
                self.assertLessEqual(end, IMAGE_END_MAX, "image ends at %#x" % end)
                for h in headers:
                    self.assertNotIn(h["type"], (PT_DYNAMIC, PT_INTERP), "dynamic linking")

    def test_entry_is_inside_an_executable_segment(self):
        for name, path, data in self.guests:
            with self.subTest(guest=name):
                (entry,) = struct.unpack_from("<Q", data, 0x18)
                loads = [h for h in program_headers(data) if h["type"] == PT_LOAD]
                self.assertTrue(any(h["vaddr"] <= entry < h["vaddr"] + h["filesz"]
                                    and h["flags"] & PF_X for h in loads),
                                "entry %#x outside every executable segment" % entry)
                symbols = subprocess.run(["nm", "--defined-only", path], check=True,
                                         stdout=subprocess.PIPE, text=True).stdout.split("\n")
                start = [line.split()[0] for line in symbols if line.endswith(" _start")]
                self.assertEqual(start and int(start[0], 16), entry, "e_entry is _start")

    def test_nothing_hosted_is_linked(self):
        for name, path, _ in self.guests:
            with self.subTest(guest=name):
                undefined = subprocess.run(["nm", "-u", path], check=True, stdout=subprocess.PIPE,
                                           text=True).stdout
                self.assertEqual(undefined.strip(), "", "undefined symbols in %s" % name)


if __name__ == "__main__":
    unittest.main()
