#!/usr/bin/env python3
"""Writes the seed inputs of every fuzzer (tests/fuzz/corpus/<fuzzer>/seed-*), in the input
layout each fuzz body expects (tests/fuzz/*_fuzz_target.hpp):
  stream       the golden streams' payloads without their header (the fuzz body wraps a
               bare payload in a valid header; the golden streams themselves are seeds too)
  hyperlaunch  every device tree Relay has, compiled with dtc, and two with parameter bytes
               after the blob (module command lines and sizes, host limits)
  multiboot1/2 boot information like QEMU, GRUB, kexec-tools and Relay's live update give
  acpi         ACPI tables like QEMU's
  ivrs         IVRS tables like QEMU's amd-iommu and a server's (several units, every
               device entry and memory definition type)
The seeds are committed, and other inputs (crash-*, regressions) live next to them; run
this again only to change the seeds (needs dtc):

    python3 tests/fuzz/make_seeds.py tests/fuzz/corpus
"""

import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MULTIBOOT_BASE = 0x10000  # kMultibootFuzzMemoryBase
ACPI_BASE = 0xE0000       # kAcpiFuzzMemoryBase


class Memory:
    """Bytes placed at physical addresses from `base`."""

    def __init__(self, base, size):
        self.base = base
        self.bytes = bytearray(size)

    def put(self, address, data):
        offset = address - self.base
        self.bytes[offset:offset + len(data)] = data


def multiboot_input(protocol, info_address, memory, image=0):
    offset = info_address - MULTIBOOT_BASE
    return struct.pack("<BHB", protocol, offset, image) + bytes(memory.bytes)


def multiboot1_qemu():
    """QEMU -kernel: memory sizes and map, command line, three modules, loader name."""
    memory = Memory(MULTIBOOT_BASE, 0x600)
    info = MULTIBOOT_BASE
    command_line, loader, modules, strings, mmap = (info + 0x100, info + 0x180, info + 0x200,
                                                    info + 0x240, info + 0x400)
    entries = [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2),
               (0x100000, 0x1FEE0000, 1), (0x1FFE0000, 0x20000, 2), (0xFFFC0000, 0x40000, 2)]
    mmap_bytes = b"".join(struct.pack("<IQQI", 20, *entry) for entry in entries)
    names = [b"config.dtb relay.hyperlaunch\0", b"control.elf relay.module=kernel\0",
             b"memtest.elf relay.module=kernel\0"]
    module_table = b""
    cursor = strings
    for index, name in enumerate(names):
        start = 0x400000 + index * 0x100000
        module_table += struct.pack("<IIII", start, start + 0x8000 + index * 0x1000, cursor, 0)
        memory.put(cursor, name)
        cursor += len(name)
    flags = 0x1 | 0x4 | 0x8 | 0x40 | 0x200
    header = struct.pack("<IIIIIII", flags, 639, 0x7FB80, 0, command_line, len(names), modules)
    header += bytes(16)  # syms (Multiboot 0.6.96 §3.3: offsets 28-43)
    header += struct.pack("<II", len(mmap_bytes), mmap)
    header += bytes(8)   # drives
    header += bytes(4)   # config table
    header += struct.pack("<I", loader)
    header += bytes(88 - len(header))
    memory.put(info, header)
    memory.put(command_line, b"/relay.elf log=info console=0x3f8\0")
    memory.put(loader, b"qemu\0")
    memory.put(modules, module_table)
    memory.put(mmap, mmap_bytes)
    return multiboot_input(0, info, memory)


def multiboot1_minimal():
    """Only mem_lower/mem_upper: the parser synthesizes the map."""
    memory = Memory(MULTIBOOT_BASE, 0x60)
    memory.put(MULTIBOOT_BASE, struct.pack("<III", 0x1, 639, 0x3FC00) + bytes(76))
    return multiboot_input(0, MULTIBOOT_BASE, memory)


def multiboot2_tag(kind, payload):
    data = struct.pack("<II", kind, 8 + len(payload)) + payload
    return data + bytes(-len(data) % 8)


def rsdp_bytes(revision, rsdt, xsdt):
    rsdp = bytearray(b"RSD PTR " + b"\0" + b"RELAY " + bytes([revision]) + struct.pack("<I", rsdt))
    if revision >= 2:
        rsdp += struct.pack("<IQ", 36, xsdt) + bytes(4)
    rsdp[8] = -sum(rsdp[:20]) & 0xFF
    if revision >= 2:
        rsdp[32] = -sum(rsdp) & 0xFF
    return bytes(rsdp)


def multiboot2_info(tags):
    body = b"".join(tags) + multiboot2_tag(0, b"")
    return struct.pack("<II", 8 + len(body), 0) + body


def multiboot2_grub():
    """GRUB 2.06: command line, name, modules, basic memory, map, ACPI, load base."""
    tags = [
        multiboot2_tag(1, b"/boot/relay.elf log=info\0"),
        multiboot2_tag(2, b"GRUB 2.06-13+deb12u1\0"),
        multiboot2_tag(3, struct.pack("<II", 0x400000, 0x401000) + b"config.dtb relay.hyperlaunch\0"),
        multiboot2_tag(3, struct.pack("<II", 0x402000, 0x40A000) + b"memtest.elf relay.module=kernel\0"),
        multiboot2_tag(4, struct.pack("<II", 639, 0x7FB80)),
        multiboot2_tag(6, struct.pack("<II", 24, 0) + b"".join(
            struct.pack("<QQII", base, size, kind, 0)
            for base, size, kind in [(0, 0x9FC00, 1), (0x100000, 0x3FF00000, 1),
                                     (0xFFFC0000, 0x40000, 2)])),
        multiboot2_tag(14, rsdp_bytes(0, 0x7FE0000, 0)),
        multiboot2_tag(15, rsdp_bytes(2, 0x7FE0000, 0x7FE1000)),
        multiboot2_tag(21, struct.pack("<I", 0x200000)),
    ]
    info = multiboot2_info(tags)
    memory = Memory(MULTIBOOT_BASE, len(info) + 0x40)
    memory.put(MULTIBOOT_BASE, info)
    return multiboot_input(0, MULTIBOOT_BASE, memory)


def multiboot2_live_update():
    """Relay's own handover (kexec/multiboot2_writer): preserved memory, a stream module."""
    preserved = 0x5245_4C59
    tags = [
        multiboot2_tag(1, b"relay.elf handover=64M\0"),
        multiboot2_tag(2, b"relay live update\0"),
        multiboot2_tag(3, struct.pack("<II", 0x1000000, 0x1004000) + b"relay.stream kind=live-update\0"),
        multiboot2_tag(6, struct.pack("<II", 24, 0) + b"".join(
            struct.pack("<QQII", base, size, kind, 0)
            for base, size, kind in [(0, 0x9FC00, 1), (0x100000, 0xF00000, 1),
                                     (0x1000000, 0x4000, preserved),
                                     (0x2000000, 0x6000000, preserved),
                                     (0x100000000, 0x40000000, 1)])),
        multiboot2_tag(21, struct.pack("<I", 0x6000000)),
    ]
    info = multiboot2_info(tags)
    memory = Memory(MULTIBOOT_BASE, len(info) + 0x100)
    memory.put(MULTIBOOT_BASE + 0x80, info)
    return multiboot_input(0, MULTIBOOT_BASE + 0x80, memory)


def acpi_table(signature, body, revision=1):
    length = 36 + len(body)
    header = bytearray(signature + struct.pack("<IBB", length, revision, 0) + b"RELAY " + b"RELAYTBL" +
                       struct.pack("<I", 1) + b"RLAY" + struct.pack("<I", 1))
    table = header + body
    table[9] = -sum(table) & 0xFF
    return bytes(table)


def madt(cpus, x2apic_cpus=()):
    body = struct.pack("<II", 0xFEE00000, 1)
    for uid, apic in enumerate(cpus):
        body += struct.pack("<BBBBI", 0, 8, uid, apic, 1)
    body += struct.pack("<BBBBII", 1, 12, 0, 0, 0xFEC00000, 0)    # I/O APIC
    body += struct.pack("<BBBBIH", 2, 10, 0, 0, 2, 0)             # interrupt source override
    body += struct.pack("<BBBHB", 4, 6, 0xFF, 0, 1)               # local APIC NMI
    for uid, apic in enumerate(x2apic_cpus):
        body += struct.pack("<BBHIII", 9, 16, 0, apic, 1, 0x100 + uid)
    return acpi_table(b"APIC", body, revision=4)


def acpi_input(flags, memory):
    return bytes([flags]) + bytes(memory.bytes)


def acpi_xsdt():
    """QEMU q35: RSDP revision 2 at the start of the BIOS area, XSDT, FACP, MADT."""
    memory = Memory(ACPI_BASE, 0x800)
    facp, apic, xsdt, rsdt = ACPI_BASE + 0x100, ACPI_BASE + 0x300, ACPI_BASE + 0x40, ACPI_BASE + 0xC0
    memory.put(ACPI_BASE, rsdp_bytes(2, rsdt, xsdt))
    memory.put(xsdt, acpi_table(b"XSDT", struct.pack("<QQ", facp, apic)))
    memory.put(rsdt, acpi_table(b"RSDT", struct.pack("<II", facp, apic)))
    memory.put(facp, acpi_table(b"FACP", bytes(80)))
    memory.put(apic, madt([0, 1], x2apic_cpus=[0x100]))
    return acpi_input(0, memory)


def acpi_rsdt_from_loader():
    """RSDP revision 0 passed by the boot loader (multiboot2's old ACPI tag), RSDT."""
    memory = Memory(ACPI_BASE, 0x400)
    rsdt, apic = ACPI_BASE + 0x40, ACPI_BASE + 0x100
    memory.put(ACPI_BASE, rsdp_bytes(0, rsdt, 0))
    memory.put(rsdt, acpi_table(b"RSDT", struct.pack("<I", apic)))
    memory.put(apic, madt([0, 2, 4, 6]))
    return acpi_input(1, memory)


STREAM_HEADER_SIZE = 128  # migration_stream/stream_header.hpp, kStreamHeaderSize


def stream_payload(golden):
    def make():
        with open(os.path.join(ROOT, "tests/data/streams", golden), "rb") as stream:
            return stream.read()[STREAM_HEADER_SIZE:]
    return make


def device_tree(source):
    def make():
        # -q: the Xen binding's example has warnings that do not matter here.
        return subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", os.path.join(ROOT, source)],
                              check=True, stdout=subprocess.PIPE).stdout
    return make


def hyperlaunch_parameters(count, memory, cpus, vcpus, domains, modules):
    """Parameter bytes after the blob (tests/fuzz/hyperlaunch_fuzz_target.cpp, setup_from)."""
    data = struct.pack("<BQBBB", count - 1, memory, cpus, vcpus, domains)
    for size_selector, command_line_selector in modules:
        data += bytes([size_selector, command_line_selector])
    return data


def hyperlaunch_tagged_modules():
    """examples/default.dts with modules tagged relay.module=kernel/ramdisk on a small host."""
    blob = device_tree("examples/default.dts")()
    return blob + hyperlaunch_parameters(8, 256 << 20, 2, 2, 4,
                                         [(16, 1), (4, 2), (16, 1), (8, 3), (0, 0), (255, 4),
                                          (16, 5)])


def hyperlaunch_many_modules():
    """tests/integration/configs/guests.dts with 70 modules (more than the parser keeps)."""
    blob = device_tree("tests/integration/configs/guests.dts")()
    return blob + hyperlaunch_parameters(70, 4 << 30, 16, 16, 64,
                                         [(16, i % 8) for i in range(69)])


def ivhd(block_type, device_id, segment, entries, flags=0x40):
    """An IVHD block (AMD IOMMU spec #48882 §5.2.2): 24-byte header for 10h, 40 for 11h/40h.
    The register base is 16 KiB aligned (§3.4), one block per bus of the unit's function."""
    header_size = 24 if block_type == 0x10 else 40
    body = b"".join(entries)
    base = 0xFEB80000 + ((device_id >> 8) << 14)
    header = struct.pack("<BBHHHQHHI", block_type, flags, header_size + len(body), device_id,
                         0x40, base, segment, 0x0000, 0x80048F6E)
    if block_type != 0x10:
        header += struct.pack("<QQ", 0x246577EFA2254AFA, 0)
    return header + body


def ivmd(block_type, first, last, start, length, flags=0x7):
    """An IVMD block (§5.2.3): 32 bytes."""
    return struct.pack("<BBHHHQQQ", block_type, flags, 32, first, last if block_type == 0x22 else 0,
                       0, start, length)


def ivrs_table(blocks):
    return acpi_table(b"IVRS", struct.pack("<IQ", 0x00203041, 0) + b"".join(blocks), revision=2)


def ivrs_qemu():
    """QEMU 7.2 -device amd-iommu: one IVHD 10h, every device on bus 0 (start/end of range)."""
    return ivrs_table([ivhd(0x10, 0x0018, 0, [struct.pack("<BHB", 3, 0x0000, 0),
                                             struct.pack("<BHB", 4, 0x00FF, 0)])])


def ivrs_server():
    """Two units in two segments, a superseded 11h, every device entry type, three IVMDs."""
    hid = b"AMDI0020"
    cid = b"PNP0501\0"
    unit0 = [struct.pack("<BHB", 1, 0, 0),                                # all
             struct.pack("<BHB", 2, 0x0010, 0x17),                        # select
             struct.pack("<BHB", 3, 0x0100, 0), struct.pack("<BHB", 4, 0x01FF, 0),
             struct.pack("<BHBBHB", 0x42, 0x0208, 0, 0, 0x0200, 0),       # alias select
             struct.pack("<BHBBHB", 0x43, 0x0300, 0, 0, 0x0300, 0),       # alias range
             struct.pack("<BHB", 4, 0x03FF, 0),
             struct.pack("<BHBI", 0x46, 0x0400, 0, 0x80000000),           # extended select
             struct.pack("<BHBI", 0x47, 0x0500, 0, 0), struct.pack("<BHB", 4, 0x05FF, 0),
             struct.pack("<BHBBHB", 0x48, 0, 0xD7, 0x21, 0x00A0, 1),      # special: IOAPIC
             struct.pack("<BHBBHB", 0x48, 0, 0, 0x00, 0x00A5, 2),         # special: HPET
             struct.pack("<BHB", 0xF0, 0x00A0, 0x40) + hid + cid + bytes([1, 2]) + b"\x01\x00",
             struct.pack("<BHB", 0, 0, 0)]                                # padding
    unit1 = [struct.pack("<BHB", 3, 0x8000, 0), struct.pack("<BHB", 4, 0x80FF, 0)]
    return ivrs_table([
        ivhd(0x11, 0x0002, 0, unit0),
        ivhd(0x40, 0x0002, 0, unit0),
        ivhd(0x10, 0x8002, 1, unit1),
        ivmd(0x20, 0, 0, 0xFED00000, 0x1000, flags=0x1),
        ivmd(0x21, 0x0010, 0, 0x9D000000, 0x100000),
        ivmd(0x22, 0x0100, 0x01FF, 0x0, 0x200000, flags=0x8),
        struct.pack("<BBH", 0x50, 0, 8) + bytes(4),                        # unknown block
    ])


SEEDS = {
    "stream": {
        "seed-payload-v1.0-boot": stream_payload("v1.0-boot.stream"),
        "seed-payload-v1.2-live-update": stream_payload("v1.2-live-update.stream"),
    },
    "hyperlaunch": {
        "seed-examples-default.dtb": device_tree("examples/default.dts"),
        "seed-examples-rogue.dtb": device_tree("examples/rogue.dts"),
        "seed-configs-guests.dtb": device_tree("tests/integration/configs/guests.dts"),
        "seed-testdata-xen_adapted.dtb": device_tree("hv/config/testdata/xen_adapted.dts"),
        "seed-testdata-xen_binding_example.dtb":
            device_tree("hv/config/testdata/xen_binding_example.dts"),
        "seed-default-tagged-modules": hyperlaunch_tagged_modules,
        "seed-guests-many-modules": hyperlaunch_many_modules,
    },
    "multiboot1": {
        "seed-multiboot1-qemu": multiboot1_qemu,
        "seed-multiboot1-minimal": multiboot1_minimal,
    },
    "multiboot2": {
        "seed-multiboot2-grub": multiboot2_grub,
        "seed-multiboot2-live-update": multiboot2_live_update,
    },
    "acpi": {
        "seed-acpi-xsdt": acpi_xsdt,
        "seed-acpi-rsdt-from-loader": acpi_rsdt_from_loader,
    },
    "ivrs": {
        "seed-ivrs-qemu": ivrs_qemu,
        "seed-ivrs-server": ivrs_server,
    },
}


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus"
    for fuzzer, seeds in SEEDS.items():
        os.makedirs(os.path.join(target, fuzzer), exist_ok=True)
        for name, make in seeds.items():
            with open(os.path.join(target, fuzzer, name), "wb") as out:
                out.write(make())


if __name__ == "__main__":
    main()
