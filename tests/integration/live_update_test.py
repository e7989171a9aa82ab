"""Live update (issue 5): the control domain stages a second Relay build from its ramdisk
and updates into it while memtest domains run; guest RAM stays in place and nothing is
lost. Also the refusals (a non-control domain, an incompatible target) and the rollback
(a target that rejects the stream hands it back), and inspection of the state stream
(state_export and the stream left in memory) with relay-dump.

Each test writes its own Hyperlaunch configuration (tools/qemu/hyperlaunch_dts.py): a
control domain running the test's script with the update images as its ramdisk, and two
memtest domains, one with two vCPUs."""

import os
import re
import subprocess

import guest_output
import hyperlaunch_dts
from relay_test_support import RelayTestCase, config_modules, main, runfile

BLACKOUT = guest_output.LIVE_UPDATE_BLACKOUT
COMPLETE = guest_output.LIVE_UPDATE_COMPLETE


class LiveUpdateTest(RelayTestCase):
    timeout = 300

    def boot_script(self, script, extra=(), smp=2, memory="512M"):
        nodes = [hyperlaunch_dts.control_domain(script),
                 hyperlaunch_dts.memtest_domain(2, name="memtest1", bootargs="seed=17 heartbeat_ms=200"),
                 hyperlaunch_dts.memtest_domain(3, name="memtest2", cpus=2,
                                                bootargs="seed=42 heartbeat_ms=200")]
        dtb = hyperlaunch_dts.compile_configuration(nodes + list(extra), self.work_dir)
        return self.boot("", config_modules(dtb), smp=smp, memory=memory)

    def script_done(self, machine, unexpected=0):
        _, match = self.expect_line(
            machine, r"^\(d1\) control: script done: \d+ commands, (\d+) errors?, (\d+) unexpected")
        self.assertEqual(int(match.group(1)), 0, "control script errors")
        self.assertEqual(int(match.group(2)), unexpected, "control script: unexpected results")

    def assert_guests_intact(self, machine, beats_after=3, start=None):
        """memtests: every heartbeat ok and consecutive from the first (memory and counters
        carried across), both started exactly once (no guest restart), and still beating."""
        start = len(machine.lines()) if start is None else start
        for domid in (2, 3):
            for _ in range(beats_after):
                start = self.expect_line(machine, r"^\(d%d\) memtest: heartbeat \d+ ok" % domid, start=start)[0] + 1
        lines = machine.lines()
        for domid in (2, 3):
            beats = guest_output.heartbeats(lines, domid)
            self.assertEqual(guest_output.check_heartbeats(beats), [], "domain %d heartbeats" % domid)
            starts = [l for l in lines if l.startswith("(d%d) memtest: filled: generation 0" % domid)]
            self.assertEqual(len(starts), 1, "domain %d started once" % domid)
        self.assert_console_clean(machine)
        self.assertFalse([l for l in machine.lines() if re.search(r"domain [23] .*crashed", l)])

    def blackouts(self, machine):
        return [BLACKOUT.search(l) for l in machine.lines() if BLACKOUT.search(l)]

    def test_a_to_b_to_a(self):
        machine = self.boot_script(
            "list;sleep 1;stage relay_b.elf;update;list;sleep 1;stage relay.elf;update;list")
        self.script_done(machine)
        updates = [COMPLETE.search(l).groups() for l in machine.lines() if COMPLETE.search(l)]
        self.assertEqual(updates, [("1", "0.1.0", "0.1.0+b"), ("2", "0.1.0+b", "0.1.0")])
        self.assertEqual(len(self.blackouts(machine)), 2)
        # The banner of each build, in order: A, B, A.
        banners = [l for l in machine.lines() if l.startswith("(relay) Relay hypervisor ")]
        self.assertEqual([b.split()[3] for b in banners], ["0.1.0", "0.1.0+b", "0.1.0"])
        # Same domains, same ids, same state, before and after.
        lists = []
        current = []
        for line in machine.lines():
            if line.startswith("(d1) control: domain ") and " name=" in line:
                current.append(line)
            elif line.startswith("(d1) control: list: ok"):
                lists.append(current)
                current = []
        self.assertEqual(len(lists), 3)
        self.assertEqual(lists[0], lists[1])
        self.assertEqual(lists[0], lists[2])
        # The control domain saw the update as one long hypercall.
        results = guest_output.control_results(machine.lines())
        self.assertEqual([r for r in results if r[0] == "update"][0][1], "ok")
        # Restored, not rebuilt: each domain restored twice and built once.
        restored = [l for l in machine.lines() if re.search(r"domain \d \(\w+\): restored Running", l)]
        self.assertEqual(len(restored), 6)
        self.assert_guests_intact(machine)

    def test_paused_and_crashed_domains_keep_their_state(self):
        rogue = hyperlaunch_dts.guest_domain("rogue", 4, 4, hyperlaunch_dts.ROGUE_ELF, "attacks=triple-fault")
        machine = self.boot_script("wait 4 crashed 60;pause 3;stage relay_b.elf;update;list;sleep 1;unpause 3;list",
                                   extra=[rogue])
        self.script_done(machine)
        update = self.expect_line(machine, COMPLETE.pattern)[0]
        self.expect_line(machine, r"domain 3 \(memtest2\): restored Paused")
        self.expect_line(machine, r"domain 4 \(rogue\): restored Crashed")
        after = machine.lines()[update:]
        self.assertIn("(d1) control: domain 3 name=memtest2 lifecycle=paused vcpus=2 memory_kib=32768 roles=-", after)
        self.assertIn("(d1) control: domain 4 name=rogue lifecycle=crashed vcpus=1 memory_kib=16384 roles=- "
                      "reason=crash", after)
        # Paused across the update: memtest2 printed nothing from the pause until the control
        # domain was about to unpause it ("sleep 1: ok"; once unpaused it may print before
        # the control domain's result line), then goes on from its next heartbeat.
        lines = machine.lines()
        paused = next(i for i, l in enumerate(lines) if l == "(d1) control: pause 3: ok")
        slept = next(i for i, l in enumerate(lines) if i > paused and l == "(d1) control: sleep 1: ok")
        unpaused = next(i for i, l in enumerate(lines) if l == "(d1) control: unpause 3: ok")
        self.assertEqual([l for l in lines[paused + 1:slept] if l.startswith("(d3) memtest: heartbeat")], [])
        self.assert_guests_intact(machine, start=unpaused)

    def test_twenty_updates(self):
        machine = self.boot_script("loop 10;stage relay_b.elf;update;stage relay.elf;update;end;list")
        self.script_done(machine)
        updates = [int(COMPLETE.search(l).group(1)) for l in machine.lines() if COMPLETE.search(l)]
        self.assertEqual(updates, list(range(1, 21)))
        blackouts = [int(m.group(1)) for m in self.blackouts(machine)]
        self.assertEqual(len(blackouts), 20)
        self.assertTrue(all(0 < b < 5_000_000 for b in blackouts), blackouts)
        self.assert_guests_intact(machine)

    def test_non_control_domain_is_refused(self):
        # A second control guest without PERMISSION_CONTROL: every live-update call is EPERM.
        intruder = hyperlaunch_dts.control_domain(
            "expect EPERM stage relay_b.elf;expect EPERM unstage;expect EPERM update;expect EPERM export",
            domid=4, name="intruder", privileged=False)
        machine = self.boot_script("sleep 4;list", extra=[intruder])
        self.expect_line(machine, r"^\(d4\) control: script done: 4 commands, 0 errors, 0 unexpected")
        self.script_done(machine)
        self.assertFalse([l for l in machine.lines() if "live-update: staged" in l or "quiescing" in l])
        self.assert_guests_intact(machine)

    def test_incompatible_target_is_refused_before_pausing(self):
        machine = self.boot_script("stage relay_incompatible.elf;expect EINCOMPATIBLE update;unstage;list")
        self.script_done(machine)
        refused, _ = self.expect_line(machine, r"live-update: refused before pausing anything: the staged build "
                                               r"cannot read this build's stream: unknown schema major: stream schema 1\.\d+, "
                                               r"the reading build reads majors 2 to 2")
        lines = machine.lines()
        self.assertFalse([l for l in lines if "quiescing" in l], "nothing was paused")
        self.assertEqual(len([l for l in lines if l.startswith("(relay) Relay hypervisor ")]), 1)
        self.assert_guests_intact(machine, start=refused)

    def test_rollback_when_the_target_rejects_the_stream(self):
        machine = self.boot_script(
            "sleep 1;stage relay_reject.elf;expect EROLLEDBACK update;list;stage relay_b.elf;update;list")
        self.script_done(machine)
        # The target says why, hands back, and the previous build says it rolled back.
        self.expect_line(machine, r"live-update: 0\.1\.0\+reject refuses the stream: .*schema major")
        self.expect_line(machine, r"live-update: rolling back to the previous build")
        self.expect_line(machine, r"live-update: ROLLED BACK: 0\.1\.0\+reject refused the stream: .*schema major")
        self.expect_line(machine, r"live-update: rolled back; blackout \d+ us; every domain resumed in 0\.1\.0$")
        banners = [l.split()[3] for l in machine.lines() if l.startswith("(relay) Relay hypervisor ")]
        self.assertEqual(banners, ["0.1.0", "0.1.0+reject", "0.1.0", "0.1.0+b"])
        # After the rollback the system updates normally.
        self.expect_line(machine, r"live-update: update 2 from 0\.1\.0 to 0\.1\.0\+b complete")
        self.assert_guests_intact(machine)

    def test_two_cpus_vcpus_on_both(self):
        machine = self.boot_script("sleep 1;stage relay_b.elf;update;sleep 2;list", smp=2)
        self.script_done(machine)
        _, placed = self.expect_line(machine, r"domain 3 \(memtest2\): restored Running, 2 vCPUs on cpus (\d),(\d)")
        self.assertNotEqual(placed.group(1), placed.group(2))
        start = self.expect_line(machine, COMPLETE.pattern)[0]
        first = self.expect_line(machine, r"^\(d3\) memtest: heartbeat \d+ ok", start=start)[0]
        for _ in range(4):
            last = self.expect_line(machine, r"^\(d3\) memtest: heartbeat \d+ ok", start=first + 1)[0]
            first = last
        beats = guest_output.heartbeats(machine.lines()[start:], 3)
        for vcpu in range(2):
            self.assertGreater(beats[-1].vcpu_passes[vcpu], beats[0].vcpu_passes[vcpu],
                               "vCPU %d of memtest2 runs after the update" % vcpu)
        self.assert_guests_intact(machine)

    def relay_dump(self, *arguments):
        return subprocess.run([runfile("tools/relay-dump")] + list(arguments), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    def test_state_export_and_relay_dump(self):
        machine = self.boot_script("sleep 1;export;stage relay_b.elf;update;export")
        self.script_done(machine)
        before, after = guest_output.exports(machine.lines())
        paths = []
        for name, data in (("before", before), ("after", after)):
            path = os.path.join(self.work_dir, name + ".stream")
            with open(path, "wb") as out:
                out.write(data)
            paths.append(path)
            verified = self.relay_dump("verify", path)
            self.assertEqual(verified.returncode, 0, verified.stdout)
        shown = self.relay_dump("show", paths[1])
        self.assertEqual(shown.returncode, 0, shown.stdout)
        for text in ("memtest1", "memtest2", "control", "0.1.0+b"):
            self.assertIn(text, shown.stdout)
        diff = self.relay_dump("diff", paths[0], paths[1])
        self.assertIn("update_history", diff.stdout)
        self.assertIn("0.1.0+b", diff.stdout)

    def test_relay_dump_extracts_the_stream_from_memory(self):
        machine = self.boot_script("sleep 1;stage relay_b.elf;update;list")
        self.script_done(machine)
        _, module = self.expect_line(machine, r"module \d+: (0x[0-9a-f]+)\.\.0x[0-9a-f]+ \(\d+ bytes\) "
                                              r"'relay\.stream kind=live-update")
        image = os.path.join(self.work_dir, "memory.raw")
        machine.qmp("pmemsave", val=0, size=64 * 1024 * 1024, filename=image)
        found = os.path.join(self.work_dir, "found.stream")
        extracted = self.relay_dump("extract", image, "--at", module.group(1), "-o", found)
        self.assertEqual(extracted.returncode, 0, extracted.stdout)
        shown = self.relay_dump("show", found)
        self.assertEqual(shown.returncode, 0, shown.stdout)
        self.assertIn("memtest2", shown.stdout)
        # Without --at the extractor finds it by its magic.
        scanned = self.relay_dump("extract", image, "-o", found)
        self.assertEqual(scanned.returncode, 0, scanned.stdout)


if __name__ == "__main__":
    main()
