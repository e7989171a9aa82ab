"""Hyperlaunch: domains built at boot from a device tree run isolated under SVM with nested
paging (issue 4). Boots examples/default.dts and examples/rogue.dts with the real test
guests, and malformed configurations."""

import os
import re
import subprocess
import unittest

import guest_output
import relay_qemu
from relay_test_support import RelayTestCase, config_modules, runfile


def lines_of(machine, domid):
    prefix = "(d%d) " % domid
    return [line for line in machine.lines() if line.startswith(prefix)]


class HyperlaunchTest(RelayTestCase):
    timeout = 240

    def boot_config(self, config, smp=2, memory="1G", command_line=""):
        return self.boot(command_line, config_modules(config), smp=smp, memory=memory)

    def assert_clean(self, machine):
        output = machine.output()
        self.assertNotIn("PANIC", output)
        self.assertNotIn("EXCEPTION", output)
        self.assertNotIn("UNEXPECTED", output)
        self.assertNotIn("CORRUPT", output)

    def test_default_config(self):
        machine = self.boot_config("examples/default.dtb")
        self.expect_line(machine, r"configuration: 3 domains, 80 MiB of guest memory")
        self.expect_line(machine, r"domain 1 \(control\): 1 vCPU on cpus \d, 16 MiB .*, control$")
        self.expect_line(machine, r"domain 2 \(memtest1\): 1 vCPU on cpus \d, 32 MiB")
        _, spread = self.expect_line(machine, r"domain 3 \(memtest2\): 2 vCPUs on cpus (\d),(\d), 32 MiB")
        self.assertNotEqual(spread.group(1), spread.group(2), "vCPUs of one domain on both CPUs")
        self.expect_line(machine, r"3 domains running")

        # The control domain's view matches the configuration.
        done, _ = self.expect_line(machine, r"^\(d1\) control: script done: 11 commands, 0 errors, 0 unexpected")
        # The example ends in a live update into the second build (tests/integration/
        # live_update_test.py covers updates in depth).
        self.expect_line(machine, r"live-update: update 1 from 0\.1\.0 to 0\.1\.0\+b complete")
        listing = [line for line in lines_of(machine, 1) if " domain " in line and "name=" in line]
        self.assertIn("(d1) control: domain 1 name=control lifecycle=running vcpus=1 "
                      "memory_kib=16384 roles=control,boot", listing)
        self.assertIn("(d1) control: domain 2 name=memtest1 lifecycle=running vcpus=1 "
                      "memory_kib=32768 roles=-", listing)
        self.assertIn("(d1) control: domain 3 name=memtest2 lifecycle=running vcpus=2 "
                      "memory_kib=32768 roles=-", listing)

        # Pause is synchronous: from "pause 3: ok" until the control domain has slept a
        # second and is about to unpause ("sleep 1: ok"), memtest2 prints nothing, although
        # it would beat twice a second; and it made no progress in that time.
        lines = machine.lines()
        paused = next(i for i, l in enumerate(lines) if l == "(d1) control: pause 3: ok")
        slept = next(i for i, l in enumerate(lines) if i > paused and l == "(d1) control: sleep 1: ok")
        resumed = next(i for i, l in enumerate(lines) if l == "(d1) control: unpause 3: ok")
        self.assertEqual([l for l in lines[paused:slept] if l.startswith("(d3) ")], [],
                         "memtest2 ran while paused")
        before = guest_output.heartbeats(lines[:paused], 3)[-1]
        after = guest_output.heartbeats(lines[slept:], 3)
        if after:
            # The first beat after the pause shows no more than a heartbeat's worth of work.
            self.assertLessEqual(after[0].passes - before.passes,
                                 2 * (before.passes // max(before.count, 1)) + 2)

        # Every memtest keeps beating with intact memory, both vCPUs of memtest2 progress.
        for _ in range(3):
            self.expect_line(machine, r"^\(d2\) memtest: heartbeat \d+ ok", start=resumed + 1)
        start = len(machine.lines())
        self.expect_line(machine, r"^\(d3\) memtest: heartbeat \d+ ok", start=start)
        first = guest_output.heartbeats(machine.lines()[start:], 3)[0]
        later_start = len(machine.lines())
        for _ in range(3):
            self.expect_line(machine, r"^\(d3\) memtest: heartbeat \d+ ok", start=later_start)
        later = guest_output.heartbeats(machine.lines()[later_start:], 3)[-1]
        self.assertEqual(later.vcpus, 2)
        self.assertGreater(later.count, first.count)
        for vcpu in range(2):
            self.assertGreater(later.vcpu_passes[vcpu], first.vcpu_passes[vcpu],
                               "vCPU %d of memtest2 made progress" % vcpu)
        self.assert_clean(machine)

    def test_rogue_is_contained(self):
        machine = self.boot_config("examples/rogue.dtb")
        self.expect_line(machine, r"5 domains running")
        # rogue2: unknown hypercalls refused, then a triple fault that only ends rogue2.
        self.expect_line(machine, r"^\(d5\) rogue: \d+ attacks refused as expected, 0 unexpected$")
        self.expect_line(machine, r"error: domain 5 \(rogue2\) crashed: vCPU 0 triple fault")
        # rogue: every privileged hypercall, bad pointer, reserved argument, unknown MSR,
        # I/O and console trick refused or contained; then a write outside its RAM.
        self.expect_line(machine, r"^\(d4\) rogue: (\d+) attacks refused as expected, 0 unexpected$")
        crash, _ = self.expect_line(
            machine, r"error: domain 4 \(rogue\) crashed: vCPU 0 write at guest-physical "
                     r"0x400000000 outside its memory")
        # The others keep running: heartbeats from both memtests after both crashes.
        for domid in (2, 3):
            for _ in range(2):
                self.expect_line(machine, r"^\(d%d\) memtest: heartbeat \d+ ok" % domid, start=crash + 1)
        # The control domain sees the crashes.
        self.expect_line(machine, r"^\(d1\) control: domain 4 name=rogue lifecycle=crashed")
        self.expect_line(machine, r"^\(d1\) control: domain 5 name=rogue2 lifecycle=crashed")
        attacks = [l for l in machine.lines() if guest_output.ROGUE_ATTACK.match(l)]
        self.assertGreater(len(attacks), 100)
        # A guest cannot pass its output off as another domain's.
        self.assertFalse([l for l in machine.lines() if l.startswith("(d1) control: ROGUE-SPOOF")])
        self.assert_clean(machine)


MALFORMED = [
    ("duplicate domid", """
        a { compatible = "xen,domain"; domid = <2>; cpus = <1>; memory = <0x0 0x2000>;
            kernel { compatible = "module,kernel", "multiboot,module"; mb-index = <1>; }; };
        b { compatible = "xen,domain"; domid = <2>; cpus = <1>; memory = <0x0 0x2000>;
            kernel { compatible = "module,kernel", "multiboot,module"; mb-index = <1>; }; };
     """, r"domid"),
    ("unknown compatible", """
        a { compatible = "xen,domian"; domid = <2>; };
     """, r"compatible"),
    ("missing kernel", """
        a { compatible = "xen,domain"; domid = <2>; cpus = <1>; memory = <0x0 0x2000>; };
     """, r"kernel"),
    ("mb-index out of range", """
        a { compatible = "xen,domain"; domid = <2>; cpus = <1>; memory = <0x0 0x2000>;
            kernel { compatible = "module,kernel", "multiboot,module"; mb-index = <7>; }; };
     """, r"mb-index"),
    ("too much memory", """
        a { compatible = "xen,domain"; domid = <2>; cpus = <1>; memory = <0x10 0x0>;
            kernel { compatible = "module,kernel", "multiboot,module"; mb-index = <1>; }; };
     """, r"memory"),
]


class MalformedConfigTest(RelayTestCase):

    def test_malformed_configs_stop_the_boot_with_a_clear_error(self):
        memtest = relay_qemu.Module(runfile("tests/guests/memtest.elf"))
        for name, body, pattern in MALFORMED:
            with self.subTest(name=name):
                source = os.path.join(self.work_dir, "bad.dts")
                with open(source, "w") as f:
                    f.write('/dts-v1/;\n/ { chosen { hypervisor { compatible = "hypervisor,xen";\n'
                            + body + "\n}; }; };\n")
                dtb = os.path.join(self.work_dir, name.replace(" ", "_") + ".dtb")
                subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", dtb, source], check=True)
                machine = self.boot("", [relay_qemu.Module(dtb, "relay.hyperlaunch", name="c.dtb"),
                                         memtest], smp=1, name=name.replace(" ", "_"))
                _, match = self.expect_line(machine, r"error: boot failed: configuration: (.*)")
                self.assertRegex(match.group(1), pattern)
                self.expect_exit(machine, relay_qemu.EXIT_FAILURE, timeout=60)
                self.assertNotIn("domains running", machine.output())


if __name__ == "__main__":
    unittest.main()
