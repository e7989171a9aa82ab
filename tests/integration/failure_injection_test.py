"""Failure injection at every live-update phase (issue 7, docs/reliability.md).

For each phase, Relay boots with `test_fail_update=PHASE`, the control domain stages the
second build and updates, and the update fails on purpose at that phase. Whatever the
phase, the outcome must be a completed update or the update undone with every domain
running in one build, memory intact, no guest restarted; never a lost domain, never a
hang. The test derives each phase's outcome from what the console shows and checks that
docs/reliability.md's table says exactly that (the table is produced by this test: its
rows are written to the test's outputs, reliability_table.md)."""

import os
import re

import guest_output
import hyperlaunch_dts
from relay_test_support import RelayTestCase, config_modules, main, output_dir, runfile

# Phase, where it fails.
PHASES = [
    ("staging", "running build"),
    ("pre-flight", "running build"),
    ("quiesce", "running build"),
    ("serialize", "running build"),
    ("handoff", "purgatory"),
    ("target-header", "new build"),
    ("target-verify", "new build"),
    ("target-restore", "new build"),
    ("resume", "new build"),
]

COMPLETE = guest_output.LIVE_UPDATE_COMPLETE


def table_row(phase, where, outcome, result):
    return "| `%s` | %s | %s | `%s` | 3 of 3 domains running, memory intact, none restarted |" % (
        phase, where, outcome, result)


class FailureInjectionTest(RelayTestCase):
    timeout = 240
    rows = {}

    def run_phase(self, phase):
        stage = "expect error stage relay_b.elf" if phase == "staging" else "stage relay_b.elf"
        script = "sleep 1;%s;expect error update;sleep 2;list" % stage
        nodes = [hyperlaunch_dts.control_domain(script),
                 hyperlaunch_dts.memtest_domain(2, name="memtest1", bootargs="seed=17 heartbeat_ms=200"),
                 hyperlaunch_dts.memtest_domain(3, name="memtest2", cpus=2, bootargs="seed=42 heartbeat_ms=200")]
        dtb = hyperlaunch_dts.compile_configuration(nodes, self.work_dir)
        machine = self.boot("test_fail_update=%s" % phase, config_modules(dtb), smp=2)
        _, done = self.expect_line(
            machine, r"^\(d1\) control: script done: \d+ commands, (\d+) errors?, (\d+) unexpected")
        self.assertEqual(done.group(2), "0", "the update failed as the script expected")
        lines = machine.lines()
        update = [r for r in guest_output.control_results(lines) if r[0] == "expect error update"][0]
        result = re.search(r"error (E[A-Z]+)", update[2]).group(1)

        # Every domain is running after it, in one build, memory intact, none restarted.
        listed = [l for l in lines if l.startswith("(d1) control: domain ") and " name=" in l][-3:]
        self.assertEqual(len(listed), 3)
        for line in listed:
            self.assertIn("lifecycle=running", line)
        start = len(machine.lines())
        for domid in (2, 3):
            self.expect_line(machine, r"^\(d%d\) memtest: heartbeat \d+ ok" % domid, start=start)
        lines = machine.lines()
        for domid in (2, 3):
            self.assertEqual(guest_output.check_heartbeats(guest_output.heartbeats(lines, domid)), [])
            self.assertEqual(len([l for l in lines if l.startswith("(d%d) memtest: filled: generation 0" % domid)]),
                             1, "domain %d was not restarted" % domid)
        output = machine.output()
        self.assert_console_clean(machine, ("PANIC", "EXCEPTION", "CORRUPT", "crashed"))
        # Injected where asked: the hook of this phase said so (the command line, printed
        # at boot, names the phase too, so that alone proves nothing).
        injected = "injected failure (test_fail_update=%s)" % phase
        self.assertTrue([l for l in lines if l.startswith("(relay) ") and injected in l],
                        "no (relay) line says " + injected)

        # The outcome, as the console shows it.
        banners = [l.split()[3] for l in lines if l.startswith("(relay) Relay hypervisor ")]
        if [l for l in lines if COMPLETE.search(l)]:
            outcome = "update completed"
        elif "ROLLED BACK" in output:
            self.assertIn("live-update: rolled back; blackout", output)
            if "0.1.0+b" in banners:
                outcome = "rolled back: the new build handed the stream back, the previous build resumed every domain"
            else:
                outcome = "rolled back: purgatory found the staged image changed and entered the previous build"
        elif "quiescing" in output:
            self.assertIn("every domain runs on", output)
            self.assertEqual(banners, ["0.1.0"])
            outcome = "abandoned after the quiesce: every domain resumed in the running build"
        else:
            self.assertEqual(banners, ["0.1.0"])
            outcome = "refused before anything paused"
        self.rows[phase] = table_row(phase, dict(PHASES)[phase], outcome, result)
        return outcome

    def check_documented(self, phase):
        with open(os.path.join(output_dir(), "reliability_table_%s.md" % phase), "w") as out:
            out.write(self.rows[phase] + "\n")
        with open(runfile("docs/reliability.md")) as doc:
            documented = doc.read()
        self.assertIn(self.rows[phase], documented,
                      "docs/reliability.md must have this row (produced by this test)")


def make_test(phase):
    def test(self):
        self.run_phase(phase)
        self.check_documented(phase)
    test.__name__ = "test_%s" % phase.replace("-", "_")
    return test


for _phase, _ in PHASES:
    setattr(FailureInjectionTest, "test_%s" % _phase.replace("-", "_"), make_test(_phase))


if __name__ == "__main__":
    main()
