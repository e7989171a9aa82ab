"""Relay boots from both multiboot flavours on every CPU and reports what it was given."""

import os
import unittest

import relay_qemu
from relay_test_support import RelayTestCase


class BootTest(RelayTestCase):

    def make_modules(self):
        first = os.path.join(self.work_dir, "first.bin")
        with open(first, "wb") as f:
            f.write(b"A" * 1234)
        second = os.path.join(self.work_dir, "second.bin")
        with open(second, "wb") as f:
            f.write(os.urandom(10000))
        return [relay_qemu.Module(first, "alpha=1 beta"),
                relay_qemu.Module(second, "gamma=2")]

    def check_boot(self, machine, protocol, modules):
        self.expect_line(machine, r"\(relay\) Relay hypervisor \S+ \(build [0-9a-f]{16}\)")
        self.expect_line(machine, r"via %s$" % protocol)
        self.expect_line(machine, r"command line: 'loglevel=info max_cpus=8'")
        self.expect_line(machine, r"memory map \(\d+ entries\):")
        self.expect_line(machine, r"^\(relay\)   0x0+100000-0x[0-9a-f]+ usable$")
        self.expect_line(machine, r"usable memory: (50\d|51\d) MiB")
        self.expect_line(machine, r"modules: 2$")
        for index, module in enumerate(modules):
            size = os.path.getsize(module.path)
            self.expect_line(machine, r"module %d: 0x[0-9a-f]+\.\.0x[0-9a-f]+ \(%d bytes\) '%s'$"
                             % (index, size, module.command_line()))
        self.expect_line(machine, r"handover region: 0x[0-9a-f]+\.\.0x[0-9a-f]+ \(64 MiB")
        self.expect_line(machine, r"ACPI: .* 2 CPUs")
        self.expect_line(machine, r"^\(relay\) cpus online: 2$")
        # These modules are not a Hyperlaunch configuration: module 0 must be a device
        # tree. Relay says so and stops with the failure status.
        self.expect_line(machine, r"error: boot failed: multiboot module 0 \('first.bin alpha=1 "
                                  r"beta'\) is not a flattened device tree")
        self.expect_exit(machine, relay_qemu.EXIT_FAILURE)
        self.assertNotIn("warning:", machine.output())

    def test_multiboot1_two_cpus_two_modules(self):
        modules = self.make_modules()
        machine = self.boot("loglevel=info max_cpus=8", modules, smp=2)
        self.check_boot(machine, "multiboot1", modules)

    def test_multiboot2_grub_iso(self):
        modules = self.make_modules()
        machine = self.boot("loglevel=info max_cpus=8", modules, smp=2, iso=True)
        self.expect_line(machine, r"booted by GRUB")
        self.check_boot(machine, "multiboot2", modules)

    def test_four_cpus(self):
        machine = self.boot("", smp=4)
        self.expect_line(machine, r"^\(relay\) cpus online: 4$")
        self.expect_exit(machine, relay_qemu.EXIT_SUCCESS)

    def test_max_cpus_limits_bring_up(self):
        machine = self.boot("max_cpus=1", smp=2)
        self.expect_line(machine, r"not started \(limit of 1 CPUs\)")
        self.expect_line(machine, r"^\(relay\) cpus online: 1$")
        self.expect_exit(machine, relay_qemu.EXIT_SUCCESS)

    def test_bad_command_line_is_reported_and_boot_continues(self):
        machine = self.boot("loglevel=shouty handover=3M frobnicate=1")
        self.expect_line(machine, r"warning: command line: loglevel: 'shouty'")
        self.expect_line(machine, r"warning: command line: handover: size 0x300000")
        self.expect_line(machine, r"warning: command line: unknown option 'frobnicate'")
        self.expect_line(machine, r"handover region: .* \(64 MiB")
        self.expect_line(machine, r"cpus online: 2")
        self.expect_exit(machine, relay_qemu.EXIT_SUCCESS)

    def test_handover_size_option(self):
        machine = self.boot("handover=32M")
        self.expect_line(machine, r"handover region: 0x[0-9a-f]+\.\.0x[0-9a-f]+ \(32 MiB, two halves of 16 MiB\)")
        self.expect_exit(machine, relay_qemu.EXIT_SUCCESS)


if __name__ == "__main__":
    unittest.main()
