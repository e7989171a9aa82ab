"""The test guests, booted one at a time by the guest harness under QEMU's SVM (TCG).

The harness (harness.cpp) stands in for Relay's domain builder and hypercalls for a
world of one domain, so these tests check the guests themselves: entry, start info,
IDT and fault catching, console, hypercall registers, memtest's loops and heartbeat,
control's script over real hypercalls, rogue's attacks and fatal endings. They do not
check Relay; tests/integration will, with the same line formats (docs/testing.md).
"""

import os
import sys
import tempfile
import unittest

import guest_output
import relay_qemu

HARNESS_EXIT_POWEROFF = 33
HARNESS_EXIT_CRASH = 35
HARNESS_EXIT_FAILURE = 37


def runfile(path):
    for root in (os.environ.get("TEST_SRCDIR"), os.environ.get("RUNFILES_DIR")):
        if root:
            candidate = os.path.join(root, "relay", path)
            if os.path.exists(candidate):
                return candidate
    if os.path.exists(path):
        return path
    raise FileNotFoundError(path)


class GuestHarnessTest(unittest.TestCase):
    timeout = 60

    def setUp(self):
        self.machines = []
        self.work_dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def tearDown(self):
        failed = any(error for _, error in getattr(self._outcome, "errors", [])) or (
            getattr(self._outcome, "result", None) is not None
            and any(test is self for test, _ in self._outcome.result.failures
                    + self._outcome.result.errors))
        for machine in self.machines:
            machine.close()
            if failed:
                with open(machine.log_path) as log:
                    lines = log.read().splitlines()
                sys.stderr.write("\n---- console of %s (last 40 lines; %s) ----\n"
                                 % (self.id(), machine.log_path))
                sys.stderr.write("\n".join(lines[-40:]) + "\n")

    def boot(self, guest, guest_args, harness_args):
        out = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or self.work_dir
        label = self.id().split(".")[-1]
        log_path = os.path.join(out, "%s-%d.log" % (label, len(self.machines)))
        args = relay_qemu.qemu_base_args(smp=1, memory="256M")
        module = relay_qemu.Module(runfile("tests/guests/%s.elf" % guest), guest_args)
        boot_args, cwd = relay_qemu.multiboot1_args(
            runfile("tests/guests/harness/harness.elf"), harness_args, [module], self.work_dir)
        machine = relay_qemu.Qemu(args + boot_args, log_path, timeout=self.timeout, cwd=cwd)
        self.machines.append(machine)
        return machine

    def expect_line(self, machine, pattern, start=0, timeout=None):
        try:
            return machine.wait_for(pattern, timeout, start)
        except TimeoutError as error:
            self.fail(str(error))

    def expect_exit(self, machine, status):
        try:
            self.assertEqual(machine.wait_exit(), status)
        except TimeoutError as error:
            self.fail(str(error))

    def guest_lines(self, machine, domid, program):
        prefix = "(d%d) %s: " % (domid, program)
        return [line[len(prefix):] for line in machine.lines() if line.startswith(prefix)]

    # ---- memtest ----

    def test_memtest_heartbeats_count_up_and_passes_advance(self):
        machine = self.boot("memtest", "seed=17 heartbeat_ms=200",
                            "domid=2 name=memtest1 memory_mib=32")
        self.expect_line(machine, r"^\(d2\) memtest: domain 2 \"memtest1\": 1 vCPU, 32768 KiB RAM")
        self.expect_line(machine, r"^\(d2\) memtest: seed=17 domid=2: \d+ bytes of free RAM in 1 "
                                  r"region above the image end 0x[0-9a-f]+$")
        self.expect_line(machine, r"^\(d2\) memtest: filled: generation 0 written in \d+ ms$")
        index, _ = self.expect_line(machine, r"^\(d2\) memtest: heartbeat 5 ")
        lines = machine.lines()[:index + 1]
        beats = guest_output.heartbeats(lines, domid=2)
        self.assertEqual(len(beats), len([line for line in lines if "memtest: heartbeat " in line]),
                         "every heartbeat line parses")
        self.assertEqual([b.count for b in beats], [1, 2, 3, 4, 5])
        self.assertEqual(guest_output.check_heartbeats(beats), [])
        self.assertGreater(beats[-1].passes, 0, "at least one complete pass within 5 heartbeats")
        self.assertTrue(all(b.errors == 0 and b.vcpus == 1 for b in beats))

    def test_memtest_reports_a_flipped_bit_once_and_keeps_going(self):
        machine = self.boot("memtest", "seed=42",
                            "domid=3 name=memtest2 memory_mib=32 corrupt_gpa=0x1234568 "
                            "corrupt_after_lines=8")
        index, _ = self.expect_line(machine, r"^\(harness\) flipped bit 0 of the word at "
                                             r"guest-physical 0x1234568$")
        index, match = self.expect_line(
            machine, r"^\(d3\) memtest: heartbeat (\d+) CORRUPT at 0x1234568 expected "
                     r"0x([0-9a-f]{16}) found 0x([0-9a-f]{16}) bad_words=1 vcpu=0 pass=\d+ "
                     r"checked=\d+ bytes vcpus=1 passes=\d+ errors=1$", start=index)
        self.assertEqual(int(match.group(2), 16) ^ int(match.group(3), 16), 1)
        self.expect_line(machine, r"^\(d3\) memtest: heartbeat %d ok .* errors=1$"
                         % (int(match.group(1)) + 1), start=index)

    def test_memtest_on_two_vcpus_splits_memory_and_reports_the_vcpu(self):
        # 0x1800000 lies in the second vCPU's half of 32 MiB.
        machine = self.boot("memtest", "seed=42",
                            "domid=3 name=memtest2 memory_mib=32 vcpus=2 corrupt_gpa=0x1800000 "
                            "corrupt_after_lines=10")
        self.expect_line(machine, r"^\(d3\) memtest: domain 3 \"memtest2\": 2 vCPUs, ")
        _, first = self.expect_line(machine, r"^\(d3\) memtest: vcpu 0 tests 0x([0-9a-f]+)-"
                                             r"0x([0-9a-f]+) \((\d+) bytes\)$")
        _, second = self.expect_line(machine, r"^\(d3\) memtest: vcpu 1 tests 0x([0-9a-f]+)-"
                                              r"0x2000000 \((\d+) bytes\)$")
        self.assertEqual(first.group(2), second.group(1), "the halves meet")
        self.assertLess(abs(int(first.group(3)) - int(second.group(2))), 8192)
        self.expect_line(machine, r"^\(d3\) memtest: testing \d+ bytes with 2 vcpus, ")
        index, _ = self.expect_line(machine, r"^\(d3\) memtest: heartbeat 2 ok pass=\d+ "
                                             r"checked=\d+ bytes vcpus=2 passes=\d+,\d+ errors=0$")
        self.expect_line(machine, r"^\(d3\) memtest: heartbeat \d+ CORRUPT at 0x1800000 "
                                  r"expected 0x[0-9a-f]{16} found 0x[0-9a-f]{16} bad_words=1 "
                                  r"vcpu=1 ", start=index)

    def test_memtest_over_the_console_hypercall(self):
        machine = self.boot("memtest", "console=hypercall seed=1",
                            "domid=2 name=memtest1 memory_mib=8")
        self.expect_line(machine, r"^\(d2\) memtest: heartbeat 2 ok ")

    def test_memtest_refuses_a_bad_argument(self):
        machine = self.boot("memtest", "seed=banana", "domid=2 name=memtest1 memory_mib=8")
        self.expect_line(machine, r'^\(d2\) memtest: panic: seed="banana": not a number')
        self.expect_exit(machine, HARNESS_EXIT_CRASH)

    # ---- control ----

    def test_control_runs_its_script_over_hypercalls(self):
        script = ("version;list;info 1;expect ENOENT pause 3;unpause 3;sleep 0.2;"
                  "echo phase two;wait 1 running 1;expect EINVAL shutdown 99;shutdown")
        machine = self.boot("control", "script=" + script,
                            "domid=1 name=control memory_mib=16 control=1")
        self.expect_exit(machine, HARNESS_EXIT_POWEROFF)
        self.assertEqual(self.guest_lines(machine, 1, "control")[1:], [
            "script: 10 commands",
            "version: ok 1.0",
            "domain 1 name=control lifecycle=running vcpus=1 memory_kib=16384 roles=control",
            "list: ok 1 domain",
            "info 1: ok domain 1 name=control lifecycle=running vcpus=1 memory_kib=16384 "
            "roles=control uuid=00000000-0000-0000-0000-000000000001 pause_count=0 exits=0 "
            "run_time_ms=0",
            "expect ENOENT pause 3: ok (error ENOENT (-2) as expected)",
            "unpause 3: error ENOENT (-2)",
            "sleep 0.2: ok",
            "echo phase two: ok",
            "wait 1 running 1: ok after 0.000 s",
            "expect EINVAL shutdown 99: shutting down (reason 99)",
            "expect EINVAL shutdown 99: ok (error EINVAL (-3) as expected)",
            "shutdown: shutting down (poweroff)",
        ])
        self.expect_line(machine, r"^\(harness\) domain 1 shut down: reason 1$")

    def test_control_without_the_permission_sees_eperm_and_idles(self):
        machine = self.boot("control", "script=list;pause 2",
                            "domid=1 name=control memory_mib=16 control=0")
        self.expect_line(machine, r"^\(d1\) control: warning: this domain lacks "
                                  r"PERMISSION_CONTROL")
        self.expect_line(machine, r"^\(d1\) control: list: error EPERM \(-1\)$")
        self.expect_line(machine, r"^\(d1\) control: pause 2: error EPERM \(-1\)$")
        self.expect_line(machine, r"^\(d1\) control: script done: 2 commands, 2 errors, "
                                  r"0 unexpected$")

    def test_control_rejects_a_bad_script(self):
        machine = self.boot("control", "script=list;pase 3",
                            "domid=1 name=control memory_mib=16 control=1")
        self.expect_line(machine, r'^\(d1\) control: script rejected: command 2 \("pase 3"\): '
                                  r'unknown command "pase"')

    # ---- rogue ----

    def test_rogue_all_attacks_then_write_outside(self):
        machine = self.boot("rogue", "attacks=all", "domid=4 name=rogue memory_mib=16")
        index, match = self.expect_line(
            machine, r"^\(d4\) rogue: (\d+) attacks refused as expected, (\d+) unexpected$")
        self.assertGreater(int(match.group(1)), 100)
        self.assertEqual(match.group(2), "0")
        self.expect_line(machine, r"^\(d4\) rogue: now writing outside RAM at 0x400000000 "
                                  r"\(RAM ends at 0x1000000\)$", start=index)
        self.expect_line(machine, r"^\(harness\) domain 4 crashed: nested page fault at "
                                  r"guest-physical 0x400000000")
        self.expect_exit(machine, HARNESS_EXIT_CRASH)
        output = machine.output()
        self.assertNotIn("UNEXPECTED", output)
        attacks = guest_output.rogue_attacks(machine.lines(), domid=4)
        self.assertEqual(len(attacks), int(match.group(1)), "one line per attack or check")
        self.assertEqual(len(attacks), len([line for line in machine.lines()
                                            if line.startswith("(d4) rogue: attack ")
                                            or line.startswith("(d4) rogue: check ")]))
        self.assertEqual({m.group("group") for m in attacks},
                         {"hypercalls", "pointers", "reserved", "unknown", "msrs", "io",
                          "console"})
        # No spoofed line starts as another domain's.
        self.assertFalse(any(line.startswith("(d1)") for line in machine.lines()))

    def test_rogue_with_a_second_vcpu_checks_vcpu_up_arguments(self):
        machine = self.boot("rogue", "attacks=hypercalls,pointers,reserved",
                            "domid=4 name=rogue memory_mib=16 vcpus=2")
        self.expect_line(machine, r"^\(d4\) rogue: attack pointers/vcpu_up\(1, 0x700000000\): "
                                  r"refused EFAULT \(expected EFAULT\) ok$")
        self.expect_line(machine, r"^\(d4\) rogue: attack reserved/vcpu_up\(1, "
                                  r"start.reserved\[4\]=1\): refused ERESERVED \(expected "
                                  r"ERESERVED\) ok$")
        self.expect_line(machine, r"^\(d4\) rogue: \d+ attacks refused as expected, 0 unexpected$")
        self.expect_line(machine, r"^\(d4\) rogue: done: every attack ran")

    def test_rogue_triple_fault(self):
        machine = self.boot("rogue", "attacks=unknown,triple-fault",
                            "domid=5 name=rogue2 memory_mib=8")
        self.expect_line(machine, r"^\(d5\) rogue: 10 attacks refused as expected, 0 unexpected$")
        self.expect_line(machine, r"^\(d5\) rogue: now triple-faulting")
        self.expect_line(machine, r"^\(harness\) domain 5 crashed: triple fault")
        self.expect_exit(machine, HARNESS_EXIT_CRASH)

    def test_rogue_read_outside(self):
        machine = self.boot("rogue", "attacks=read-outside outside=0x80000000",
                            "domid=5 name=rogue2 memory_mib=8")
        self.expect_line(machine, r"^\(d5\) rogue: now reading outside RAM at 0x80000000 ")
        self.expect_line(machine, r"^\(harness\) domain 5 crashed: nested page fault at "
                                  r"guest-physical 0x80000000 ")
        self.expect_exit(machine, HARNESS_EXIT_CRASH)

    def test_an_unexpected_exception_is_reported_and_crashes_the_domain(self):
        # A mapping above the CPU's physical address width: a reserved-bit page fault
        # inside the guest, which no catch_fault expects.
        machine = self.boot("rogue", "attacks=write-outside outside=0x7fffffe00000",
                            "domid=5 name=rogue2 memory_mib=8")
        self.expect_line(machine, r"^\(d5\) rogue: exception #PF \(page fault, vector 14\) "
                                  r"error 0x[0-9a-f]+ at rip 0x[0-9a-f]+ on vcpu 0$")
        self.expect_line(machine, r"^\(d5\) rogue:   rax 0x[0-9a-f]{16} rbx ")
        self.expect_line(machine, r"cr2 0x7fffffe00000 ")
        self.expect_line(machine, r"^\(d5\) rogue: crashed: shutting down the domain "
                                  r"\(RELAY_SHUTDOWN_CRASH\)$")
        self.expect_line(machine, r"^\(harness\) domain 5 shut down: reason 4$")
        self.expect_exit(machine, HARNESS_EXIT_CRASH)


if __name__ == "__main__":
    unittest.main()
