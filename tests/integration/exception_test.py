"""Faults in the hypervisor print a full report and end with the panic status; they are
never a silent triple fault (test_fault= options, hv/boot/command_line.hpp)."""

import unittest

import relay_qemu
from relay_test_support import RelayTestCase

REGISTERS = ["RIP", "RSP", "CR0", "CR2", "CR3", "CR4", "RAX", "RBX", "RCX", "RDX", "RSI",
             "RDI", "RBP", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"]


class ExceptionTest(RelayTestCase):

    def expect_report(self, machine, vector_pattern, cpu):
        index, _ = self.expect_line(
            machine, r"\*\*\* EXCEPTION: %s on cpu %d \*\*\*" % (vector_pattern, cpu))
        self.expect_line(machine, r"error code 0x[0-9a-f]+", start=index)
        for register in REGISTERS:
            self.expect_line(machine, r"\b%s +0x[0-9a-f]{16}\b" % register, start=index)
        self.expect_line(machine, r"stack trace:", start=index)
        return index

    def test_page_fault_on_boot_cpu(self):
        machine = self.boot("test_fault=page-fault")
        index = self.expect_report(machine, r"#PF page fault \(vector 14\)", 0)
        self.expect_line(machine, r"page fault: read access, page not present, supervisor",
                         start=index)
        self.expect_line(machine, r"CR2 0x00000000dead0000", start=index)
        # The trace names the function that faulted (the image carries its symbols).
        self.expect_line(machine, r"#0  0xffffffff8[0-9a-f]+ .*trigger_test_fault", start=index)
        self.expect_line(machine, r"#\d+  0xffffffff8[0-9a-f]+ .*boot_continue", start=index)
        self.expect_line(machine, r"PANIC on cpu 0: unhandled exception #PF", start=index)
        self.expect_exit(machine, relay_qemu.EXIT_PANIC)

    def test_page_fault_on_application_processor(self):
        machine = self.boot("test_fault=ap-page-fault", smp=2)
        index = self.expect_report(machine, r"#PF page fault \(vector 14\)", 1)
        self.expect_line(machine, r"CR2 0x00000000dead1000", start=index)
        self.expect_line(machine, r"#0  0xffffffff8[0-9a-f]+ relay::ap_started", start=index)
        self.expect_exit(machine, relay_qemu.EXIT_PANIC)

    def test_stack_overflow_reported_through_double_fault_stack(self):
        machine = self.boot("test_fault=stack-overflow")
        index = self.expect_report(machine, r"#DF double fault \(vector 8\)", 0)
        self.expect_line(machine, r"recurse_deeply", start=index)
        self.expect_line(machine, r"\.\.\. \d+ more frames at", start=index)
        self.expect_exit(machine, relay_qemu.EXIT_PANIC)

    def test_other_exceptions(self):
        cases = [("general-protection", r"#GP general protection \(vector 13\)"),
                 ("invalid-opcode", r"#UD invalid opcode \(vector 6\)"),
                 ("divide-error", r"#DE divide error \(vector 0\)"),
                 ("breakpoint", r"#BP breakpoint \(vector 3\)")]
        for fault, pattern in cases:
            with self.subTest(fault=fault):
                machine = self.boot("test_fault=" + fault, smp=1, name=fault)
                self.expect_report(machine, pattern, 0)
                self.expect_exit(machine, relay_qemu.EXIT_PANIC)

    def test_panic_prints_message_and_trace(self):
        machine = self.boot("test_fault=panic", smp=1)
        index, _ = self.expect_line(machine, r"PANIC on cpu 0: test_fault=panic requested")
        self.expect_line(machine, r"#\d+  0xffffffff8[0-9a-f]+ .*trigger_test_fault", start=index)
        self.expect_exit(machine, relay_qemu.EXIT_PANIC)


if __name__ == "__main__":
    unittest.main()
