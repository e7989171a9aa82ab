"""tools/soak.py's analysis, on made-up consoles: a clean soak passes, and each way a soak
can go wrong (a skipped or late heartbeat, corruption, a restart, a missing or rolled-back
update, a stalled guest) fails it with a line that says so."""

import unittest

import soak

BLACKOUT_US = 80_000
QUIESCE_US = 2_000


def console(updates=4, heartbeat_ms=250, update_every=1.0, drop=(), delay=None, corrupt=None,
            rollback=None, restart=None, dma=False):
    """(seconds, line) pairs of a soak as the tool sees it. `drop`: (domid, count) beats
    left out; `delay`: (domid, count, seconds) added before that beat and every later
    one; `corrupt`: (domid, count); `rollback`: the update that rolls back instead;
    `restart`: (domid, count) from which the guest counts from 1 again."""
    events = []
    settings = soak.Settings(updates, dma=dma, heartbeat_ms=heartbeat_ms)
    names = {1: "control"}
    names.update((domid, name) for domid, name, _ in settings.domains())
    for domid, name, kind in settings.domains():
        if kind == "memtest":
            events.append((0.05, "(d%d) memtest: filled: generation 0 written in 20 ms" % domid))
        else:
            events.append((0.05, "(d%d) dma: found edu 1234:11e8 at 00:04.0 (revision 0x10, "
                                 "class 00ff00)" % domid))
    pauses = []
    number = 0
    builds = ("0.1.0", "0.1.0+b")
    for index in range(updates):
        start = 0.5 + index * update_every
        events.append((start - 0.4, "(relay) live-update: staged build 64219dcf6c468c0e from "
                                    "domain 1: 1224 KiB at 0x1be00000, entry 0x1be00080, reads schema 1-1.2"))
        events.append((start, "(relay) live-update: quiescing %d domains on 2 CPUs" % len(names)))
        end = start + (QUIESCE_US + BLACKOUT_US) / 1e6
        pauses.append((start, end))
        if rollback == index + 1:
            events.append((end, "(relay) error: live-update: ROLLED BACK: 0.1.0+b refused the stream: x"))
            events.append((end + 0.001, "(d1) control: update: error EROLLEDBACK (-12)"))
            continue
        number += 1
        source, target = builds[index % 2], builds[(index + 1) % 2]
        for domid in sorted(names):
            events.append((end - 0.01, "(relay) domain %d (%s): restored Running, 1 vCPU on cpus 0, "
                                       "32 MiB in 1 extents" % (domid, names[domid])))
        events.append((end, "(relay) live-update: blackout %d us (quiesce %d, serialize 10000, "
                            "handover 100, kexec 5000, target boot 30000, verify 20000, restore "
                            "14000, resume 900 us)" % (BLACKOUT_US, QUIESCE_US)))
        events.append((end + 0.001, "(relay) live-update: update %d from %s to %s complete"
                       % (number, source, target)))
        events.append((end + 0.002, "(d1) control: update: ok in %d us" % (BLACKOUT_US + 5000)))
    done = 0.5 + updates * update_every
    events.append((done, "(d1) control: script done: %d commands, 0 errors, 0 unexpected"
                   % (4 * updates + 1)))
    interval = heartbeat_ms / 1000
    for domid, _, kind in settings.domains():
        now, count, shown = 0.0, 0, 0
        while now < done + 4 * interval:
            now += interval
            for start, end in pauses:
                if start <= now < end:
                    now = end + 0.003
            count += 1
            shown += 1
            if restart == (domid, count):
                shown = 1
            if delay and delay[:2] == (domid, count):
                now += delay[2]
            if (domid, count) in drop:
                continue
            if kind == "memtest":
                status = "ok"
                errors = 0
                if corrupt and corrupt[0] == domid and count >= corrupt[1]:
                    errors = 1
                    if count == corrupt[1]:
                        status = ("CORRUPT at 0x1234568 expected 0x950c0cea8c7ea507 found "
                                  "0x950c0cea8c7ea506 bad_words=1 vcpu=0")
                line = ("(d%d) memtest: heartbeat %d %s pass=%d checked=%d bytes vcpus=1 passes=%d "
                        "errors=%d" % (domid, shown, status, count, count * 4096, count, errors))
            else:
                line = ("(d%d) dma: heartbeat %d ok transfers=%d bytes=%d errors=0 "
                        "paused_in_flight=0 longest_pause_ms=0 device=00:04.0"
                        % (domid, shown, 2 * count, 2 * count * 4088))
            events.append((now, line))
    events.sort(key=lambda event: event[0])
    return events, soak.Settings(updates, dma=dma, heartbeat_ms=heartbeat_ms)


class SoakAnalysisTest(unittest.TestCase):

    def analyse(self, **kwargs):
        lines, settings = console(**kwargs)
        return soak.analyse(lines, settings)

    def assertProblem(self, report, text):
        problems = report.all_problems()
        self.assertFalse(report.ok())
        self.assertTrue(any(text in p for p in problems), "%r not among %s" % (text, problems))
        self.assertIn("FAILED", soak.summary(report))

    def test_clean_soak_passes(self):
        report = self.analyse()
        self.assertEqual(report.all_problems(), [])
        self.assertTrue(report.ok())
        self.assertEqual([u.number for u in report.updates], [1, 2, 3, 4])
        self.assertEqual(report.blackouts_ms(), [80.0] * 4)
        text = soak.summary(report)
        self.assertIn("updates:    4 of 4 completed", text)
        self.assertIn("blackout:   min 80.0 ms, median 80.0 ms, max 80.0 ms (4 updates)", text)
        self.assertIn("0 skipped", text)
        self.assertIn("verdict:    PASS", text)
        for guest in report.guests:
            self.assertEqual(guest.across_updates, 4)
            self.assertEqual(guest.lost, 0)

    def test_clean_soak_with_dma_passes(self):
        report = self.analyse(dma=True)
        self.assertEqual(report.all_problems(), [])
        self.assertEqual([g.kind for g in report.guests], ["memtest", "memtest", "dma"])

    def test_without_times_the_counters_are_still_checked(self):
        lines, settings = console(drop=[(2, 5)])
        report = soak.analyse([line for _, line in lines], settings)
        self.assertFalse(report.timed)
        self.assertProblem(report, "heartbeat 6 follows 4")
        clean, settings = console()
        self.assertTrue(soak.analyse([line for _, line in clean], settings).ok())

    def test_skipped_heartbeat_fails(self):
        report = self.analyse(drop=[(3, 7)])
        self.assertProblem(report, "domain 3 (memtest2): heartbeat 8 follows 6")
        self.assertEqual(report.guests[1].skipped, 1)

    def test_heartbeat_late_across_an_update_is_lost(self):
        # Beat 4 of domain 2 is the first after update 1 (at 0.5 s); 0.6 s more is over
        # two intervals beyond the blackout.
        report = self.analyse(delay=(2, 4, 0.6))
        self.assertProblem(report, "heartbeat 4 came")
        self.assertProblem(report, "lost beyond the blackout")
        self.assertGreaterEqual(report.guests[0].lost, 1)

    def test_late_heartbeat_without_an_update_is_counted(self):
        report = self.analyse(delay=(2, 3, 0.4))
        self.assertTrue(report.ok(), report.all_problems())
        self.assertEqual(report.guests[0].late, 1)

    def test_stalled_guest_fails(self):
        report = self.analyse(updates=1, delay=(2, 4, 6.0))
        self.assertProblem(report, "stalled")

    def test_corruption_fails(self):
        report = self.analyse(corrupt=(3, 6))
        self.assertProblem(report, "heartbeat 6: CORRUPT at 0x1234568")
        self.assertProblem(report, "errors=1 on its last heartbeat")

    def test_restarted_guest_fails(self):
        report = self.analyse(restart=(2, 9))
        self.assertProblem(report, "heartbeat 1 follows")

    def test_rolled_back_update_fails(self):
        report = self.analyse(rollback=3)
        self.assertProblem(report, "updates completed: 3 of 4")
        self.assertProblem(report, "Relay: error: live-update: ROLLED BACK")
        self.assertProblem(report, "update calls failed")

    def test_script_must_finish(self):
        lines, settings = console()
        lines = [(t, l) for t, l in lines if "script done" not in l]
        self.assertProblem(soak.analyse(lines, settings), "the control script did not finish")

    def test_script(self):
        self.assertEqual(soak.Settings(3, pause=0.5).script(),
                         "sleep 1;loop 1;stage relay_b.elf;sleep 0.5;update;sleep 0.5;stage relay.elf;"
                         "sleep 0.5;update;sleep 0.5;end;stage relay_b.elf;sleep 0.5;update;"
                         "sleep 0.5;list")


if __name__ == "__main__":
    unittest.main()
