#!/usr/bin/env python3
"""./relay soak: many consecutive live updates under load, checked (docs/testing.md, "Soak").

Relay boots under QEMU TCG with a control domain, two memtest domains (one with two
vCPUs) and a dma domain driving QEMU's edu device through the IOMMU (edu at 00:04.0
assigned with relay,passthrough, QEMU with -device amd-iommu; --no-dma leaves it out). The control domain
updates A -> B -> A ... (relay_b.elf and relay.elf from //hv:update_images) N times, with
a short sleep between updates so that every guest runs between two of them. Then the
console is analysed (analyse()):

  updates     "update K ... complete" for K = 1..N in order, builds alternating, one
              blackout line and one `control: update: ok` each, every domain restored N
              times; no rollback, no error or panic from Relay, script without errors;
  memory      each memtest's heartbeats ok, errors=0, and its fill printed once (no
              restart);
  heartbeats  counters consecutive (a skipped, repeated or restarted counter is a lost or
              replayed heartbeat), and no heartbeat lost in time: between two heartbeats
              at most one interval passes besides the blackouts of the updates in between
              (LOST_AFTER, below);
  progress    after the last update every guest beats at least AFTER_BEATS more times and
              every memtest vCPU completes more passes; the dma guest's transfers grow.

The summary says how many updates completed, the blackout min/median/max, heartbeats per
guest and the longest silences; the exit status is 0 only when nothing failed. The full
console log is kept (out/soak/soak.log by default) and named in the summary.

tests/integration/soak_test.py runs a short version under Bazel with the same code.
"""

import argparse
import math
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for _path in (os.path.join(HERE, "qemu"), os.path.join(REPO, "tests", "guests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
import guest_output  # noqa: E402
import hyperlaunch_dts  # noqa: E402

# The two builds the control domain alternates between (//hv:update_images); the first
# update goes from the booted build (A) to relay_b.elf (B).
BUILDS = ("relay_b.elf", "relay.elf")

MEMTESTS = (  # domid, name, vCPUs, seed
    (2, "memtest1", 1, 17),
    (3, "memtest2", 2, 42),
)
DMA_DOMID = 4
DMA_NAME = "dma"
# edu at a fixed slot, so the configuration can name it whatever else QEMU adds
# (amd-iommu takes a slot before it; Relay refuses to assign a function no IOMMU covers).
DMA_QEMU_DEVICE = "edu,addr=04.0"
DMA_FUNCTION = "00:04.0"
DMA_MODULE_INDEX = 4  # after control.elf, memtest.elf and the update images

# Heartbeats the guests must print after the last update (and after the script is done).
AFTER_BEATS = 3
# A heartbeat is lost when, between two consecutive ones, the time not explained by the
# blackouts in between exceeds this many intervals: another heartbeat was due and did not
# come. Under TCG a heartbeat is a few milliseconds late at most, and a host that stalls
# QEMU stalls the guests' clock with it.
LOST_AFTER = 2.0


class Settings:
    """What a soak runs: `updates` live updates, a sleep of `pause` seconds after each
    stage and each update, heartbeats every `heartbeat_ms`, and the dma domain when `dma`.
    A guest silent for more than `stall_limit` seconds (less blackouts) has stalled. The
    control domain sleeps `lead_in` seconds before the first update, so that every guest
    (the dma guest takes longest) beats before it."""

    def __init__(self, updates=100, dma=True, heartbeat_ms=250, pause=0.3, stall_limit=5.0,
                 lead_in=1.0):
        if updates < 1:
            raise ValueError("at least one update")
        self.updates = updates
        self.dma = dma
        self.heartbeat_ms = heartbeat_ms
        self.pause = pause
        self.stall_limit = stall_limit
        self.lead_in = lead_in

    def domains(self):
        """(domid, name, kind) of every guest that beats."""
        guests = [(domid, name, "memtest") for domid, name, _, _ in MEMTESTS]
        if self.dma:
            guests.append((DMA_DOMID, DMA_NAME, "dma"))
        return guests

    def script(self):
        """The control domain's script: N updates alternating the builds, a sleep after
        each, then a list (its lines show every domain still there)."""
        one = "stage %s;sleep {0};update;sleep {0}".format("%g" % self.pause)
        loop = "loop %d;%s;%s;end" % (self.updates // 2, one % BUILDS[0], one % BUILDS[1])
        parts = ["sleep %g" % self.lead_in] if self.lead_in else []
        if self.updates >= 2:
            parts.append(loop)
        if self.updates % 2:
            parts.append(one % BUILDS[0])
        return ";".join(parts + ["list"])

    def nodes(self):
        beat = "heartbeat_ms=%d" % self.heartbeat_ms
        nodes = [hyperlaunch_dts.control_domain(self.script())]
        for domid, name, cpus, seed in MEMTESTS:
            nodes.append(hyperlaunch_dts.memtest_domain(domid, name=name, cpus=cpus,
                                                        bootargs="seed=%d %s" % (seed, beat)))
        if self.dma:
            nodes.append(hyperlaunch_dts.guest_domain(
                DMA_NAME, DMA_DOMID, DMA_MODULE_INDEX, hyperlaunch_dts.DMA_ELF,
                "seed=%d %s bdf=%s" % (DMA_DOMID, beat, DMA_FUNCTION), memory_kib=32 * 1024,
                passthrough=[DMA_FUNCTION]))
        return nodes

    def write_configuration(self, directory, name="soak"):
        """Writes and compiles the Hyperlaunch configuration; returns the .dtb path."""
        return hyperlaunch_dts.compile_configuration(self.nodes(), directory, name)

    def qemu_devices(self):
        return ["amd-iommu", DMA_QEMU_DEVICE] if self.dma else []

    def timeout(self):
        """Seconds a soak may take under TCG: about 1 s per update besides the sleeps,
        with a wide margin for a busy host."""
        return int(120 + self.lead_in + self.updates * (3 + 2 * self.pause))


# Lines after which the run cannot go on: Relay stopped or the script ended.
FATAL = r"^\(relay\) (shutting down|.*(panic|PANIC))|^\(d1\) control: script (done|rejected)"


def run(machine, settings):
    """Waits until the control script is done and every guest beat AFTER_BEATS more
    times. Returns None, or why the run ended early (QEMU exited, a timeout)."""
    deadline = time.monotonic() + settings.timeout()
    try:
        index, match = machine.wait_for(FATAL, timeout=settings.timeout())
        if "script" not in match.group(0):
            return "Relay stopped: %s" % match.string
        if "rejected" in match.group(0):
            return "the control script was rejected: %s" % match.string
        for domid, _, kind in settings.domains():
            start = index + 1
            for _ in range(AFTER_BEATS):
                remaining = max(deadline - time.monotonic(), 1)
                start = machine.wait_for(r"^\(d%d\) %s: heartbeat \d+ " % (domid, kind),
                                         timeout=remaining, start=start)[0] + 1
    except TimeoutError as error:
        return str(error)
    return None


class Update:
    """One completed live update, with the host times of its lines."""

    def __init__(self, number, source, target, completed_at):
        self.number = number
        self.source = source
        self.target = target
        self.completed_at = completed_at
        self.quiesced_at = None  # its "quiescing" line
        self.blackout = None  # dict of microseconds (guest_output.blackouts)

    def pause_seconds(self):
        """How long the guests were stopped, at most: the quiesce (a vCPU may stop at its
        start) and the blackout."""
        if self.blackout is None:
            return 0.0
        return (self.blackout["quiesce"] + self.blackout["blackout"]) / 1e6


class GuestReport:
    """One guest's heartbeats: counts, silences and what is wrong with them."""

    def __init__(self, domid, name, kind):
        self.domid = domid
        self.name = name
        self.kind = kind
        self.beats = []
        self.first = self.last = None  # counters
        self.skipped = 0  # heartbeats missing from the counter sequence
        self.lost = 0  # heartbeats due in time that did not come (beyond the blackouts)
        self.longest_silence = 0.0  # seconds between two heartbeats, no update between
        self.across_updates = 0  # silences that spanned an update
        self.longest_across_update = 0.0  # the longest of those
        self.longest_across_update_excess = 0.0  # the same, less its blackouts
        self.late = 0  # silences of more than LOST_AFTER intervals without an update
        self.late_during_stage = 0  # of those, how many spanned a kexec_stage
        self.after_last_update = 0  # heartbeats after the last update completed
        self.problems = []


class Report:
    def __init__(self, settings):
        self.settings = settings
        self.updates = []
        self.guests = []
        self.problems = []
        self.update_call_us = []  # the control domain's view of each update call
        self.wall_seconds = None
        self.update_seconds = None  # first quiesce to the last update complete
        self.stages = []  # host times of "live-update: staged" lines
        self.log_path = None
        self.timed = False

    def ok(self):
        return not self.problems and all(not g.problems for g in self.guests)

    def all_problems(self):
        return self.problems + ["domain %d (%s): %s" % (g.domid, g.name, p)
                                for g in self.guests for p in g.problems]

    def blackouts_ms(self):
        return [u.blackout["blackout"] / 1000 for u in self.updates if u.blackout]


def _as_timed(lines):
    """Accepts lines or (seconds, line) pairs; returns the pairs (None for no time)."""
    if lines and isinstance(lines[0], tuple):
        return list(lines), True
    return [(None, line) for line in lines], False


def analyse(lines, settings):
    """Checks a soak's console (lines, or (seconds, line) pairs from Qemu.timed_lines(),
    which also allow the heartbeat timing checks); returns a Report."""
    timed, has_times = _as_timed(lines)
    report = Report(settings)
    report.timed = has_times
    text = [line for _, line in timed]
    problems = report.problems

    # Updates: numbered 1..N, alternating builds, each with its blackout.
    pending_quiesce = None
    pending_blackout = None
    for seconds, line in timed:
        if line.startswith("(relay) live-update: quiescing "):
            pending_quiesce = seconds
            continue
        if line.startswith("(relay) live-update: staged build "):
            report.stages.append(seconds)
            continue
        found = guest_output.blackouts([line])
        if found:
            pending_blackout = found[0]
            continue
        match = guest_output.LIVE_UPDATE_COMPLETE.match(line)
        if match:
            update = Update(int(match.group("number")), match.group("source"),
                            match.group("target"), seconds)
            update.quiesced_at = pending_quiesce
            update.blackout = pending_blackout
            pending_quiesce = pending_blackout = None
            report.updates.append(update)
    numbers = [u.number for u in report.updates]
    if numbers != list(range(1, settings.updates + 1)):
        problems.append("updates completed: %d of %d (numbers %s)"
                        % (len(numbers), settings.updates, _ranges(numbers)))
    for previous, current in zip(report.updates, report.updates[1:]):
        if current.source != previous.target or current.target != previous.source:
            problems.append("update %d goes from %s to %s after %s to %s: builds do not alternate"
                            % (current.number, current.source, current.target, previous.source,
                               previous.target))
    missing = [u.number for u in report.updates if u.blackout is None]
    if missing:
        problems.append("no blackout line for update %s" % _ranges(missing))

    results = guest_output.control_results(text)
    calls = [r for r in results if r[0] == "update"]
    report.update_call_us = [int(detail.split()[1]) for _, result, detail in calls
                             if result == "ok" and detail.startswith("in ")]
    failed_calls = [r for r in calls if r[1] != "ok"]
    if failed_calls:
        problems.append("%d update calls failed, first: update: %s %s" % (
            len(failed_calls), failed_calls[0][1], failed_calls[0][2]))
    if len(calls) != settings.updates:
        problems.append("the control domain made %d update calls, not %d"
                        % (len(calls), settings.updates))
    done = [l for l in text if l.startswith("(d1) control: script done:")]
    if not done:
        problems.append("the control script did not finish")
    elif not done[-1].endswith(" 0 errors, 0 unexpected"):
        problems.append(done[-1][len("(d1) "):])

    # Relay itself: nothing went wrong, nothing rolled back, no domain lost.
    for line in text:
        if line.startswith("(relay) ") and any(word in line for word in (
                "error:", "ROLLED BACK", "rolled back", "panic", "PANIC", "crashed", "shutting down")):
            problems.append("Relay: %s" % line[len("(relay) "):])
        elif (guest_output.EXCEPTION.match(line) or " UNEXPECTED" in line
              or (line.startswith("(d") and ": panic: " in line)):
            problems.append("guest: %s" % line)
    for domid, name, _ in [(1, "control", None)] + settings.domains():
        restored = [l for l in text if l.startswith("(relay) domain %d (%s): restored Running"
                                                     % (domid, name))]
        if len(restored) != len(report.updates):
            problems.append("domain %d (%s) restored running %d times in %d updates"
                            % (domid, name, len(restored), len(report.updates)))

    last_update = report.updates[-1].completed_at if report.updates else None
    last_update_index = max((i for i, l in enumerate(text)
                             if guest_output.LIVE_UPDATE_COMPLETE.match(l)), default=len(text))
    for domid, name, kind in settings.domains():
        report.guests.append(_analyse_guest(domid, name, kind, timed, report, last_update_index))

    if has_times and timed:
        report.wall_seconds = timed[-1][0]
        firsts = [u.quiesced_at for u in report.updates if u.quiesced_at is not None]
        if firsts and last_update is not None:
            report.update_seconds = last_update - firsts[0]
    return report


def _analyse_guest(domid, name, kind, timed, report, last_update_index):
    settings = report.settings
    guest = GuestReport(domid, name, kind)
    indexed = [(i, seconds, line) for i, (seconds, line) in enumerate(timed)
               if line.startswith("(d%d) " % domid)]
    lines = [line for _, _, line in indexed]
    if kind == "memtest":
        beats = guest_output.heartbeats(lines, domid)
        guest.problems += guest_output.check_heartbeats(beats)
        fills = [l for l in lines if l.startswith("(d%d) memtest: filled: generation 0" % domid)]
        if len(fills) != 1:
            guest.problems.append("filled its memory %d times (a restart?)" % len(fills))
    else:
        beats = guest_output.dma_heartbeats(lines, domid)
        guest.problems += guest_output.check_dma_heartbeats(beats)
        found = [l for l in lines if guest_output.DMA_DEVICE.match(l)]
        if len(found) != 1:
            guest.problems.append("found its device %d times (a restart?)" % len(found))
    guest.beats = beats
    if not beats:
        guest.problems.append("no heartbeat")
        return guest
    guest.first, guest.last = beats[0].count, beats[-1].count
    if beats[0].count != 1:
        guest.problems.append("first heartbeat is %d, not 1" % beats[0].count)
    guest.skipped = sum(max(b.count - a.count - 1, 0) for a, b in zip(beats, beats[1:]))
    if beats[-1].errors != 0:
        guest.problems.append("errors=%d on its last heartbeat" % beats[-1].errors)

    # Where each heartbeat line is, in the console and in time.
    pattern = guest_output.HEARTBEAT if kind == "memtest" else guest_output.DMA_HEARTBEAT
    where = [(i, seconds) for i, seconds, line in indexed if pattern.match(line)]
    after = [beat for beat, (i, _) in zip(beats, where) if i > last_update_index]
    guest.after_last_update = len(after)
    if report.updates and len(after) < AFTER_BEATS:
        guest.problems.append("%d heartbeats after the last update, wanted %d"
                              % (len(after), AFTER_BEATS))
    elif report.updates and len(after) >= 2:
        first, last = after[0], after[-1]
        if kind == "memtest":
            stuck = [v for v, (a, b) in enumerate(zip(first.vcpu_passes, last.vcpu_passes))
                     if b <= a]
            if stuck:
                guest.problems.append("vCPU %s made no pass after the last update"
                                      % ",".join(map(str, stuck)))
        elif last.transfers <= first.transfers:
            guest.problems.append("no DMA transfer after the last update")

    if report.timed:
        _check_timing(guest, beats, [seconds for _, seconds in where], report)
    return guest


def _check_timing(guest, beats, times, report):
    """The silences between a guest's heartbeats (docs/testing.md, "Soak"). Across an
    update, the next heartbeat must come within LOST_AFTER intervals plus the time the
    update stopped the guests, or heartbeats were lost beyond the blackout. Elsewhere a
    silence of more than LOST_AFTER intervals is a late heartbeat (counted, and whether a
    kexec_stage ran meanwhile: it holds its CPU), and one longer than the stall limit
    means the guest stopped."""
    settings = report.settings
    interval = settings.heartbeat_ms / 1000
    for ta, tb, beat in zip(times, times[1:], beats[1:]):
        silence = tb - ta
        spanned = [u for u in report.updates if u.quiesced_at is not None and ta < u.quiesced_at < tb]
        paused = sum(u.pause_seconds() for u in spanned)
        excess = silence - paused
        if spanned:
            guest.across_updates += 1
            guest.longest_across_update = max(guest.longest_across_update, silence)
            guest.longest_across_update_excess = max(guest.longest_across_update_excess, excess)
            if excess > LOST_AFTER * interval:
                missed = max(int(math.floor(excess / interval)) - 1, 1)
                guest.lost += missed
                guest.problems.append(
                    "heartbeat %d came %.0f ms after the previous one, across update %s "
                    "(%.0f ms paused): %d heartbeat%s lost beyond the blackout"
                    % (beat.count, silence * 1000, ",".join(str(u.number) for u in spanned),
                       paused * 1000, missed, "" if missed == 1 else "s"))
            continue
        guest.longest_silence = max(guest.longest_silence, silence)
        if excess > settings.stall_limit:
            guest.problems.append("heartbeat %d came %.0f ms after the previous one: the guest "
                                  "stalled" % (beat.count, silence * 1000))
        elif excess > LOST_AFTER * interval:
            guest.late += 1
            if any(ta < staged < tb for staged in report.stages):
                guest.late_during_stage += 1


def _ranges(numbers):
    if not numbers:
        return "none"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return "%d-%d" % (numbers[0], numbers[-1]) if len(numbers) > 1 else str(numbers[0])
    shown = ",".join(map(str, numbers[:12]))
    return shown + (",..." if len(numbers) > 12 else "")


def summary(report):
    """The soak's result, for people."""
    settings = report.settings
    out = []
    out.append("updates:    %d of %d completed (A -> B -> A ..., %s)" % (
        len(report.updates), settings.updates,
        " / ".join(sorted({"%s -> %s" % (u.source, u.target) for u in report.updates})) or "none"))
    blackouts = report.blackouts_ms()
    if blackouts:
        out.append("blackout:   min %.1f ms, median %.1f ms, max %.1f ms (%d updates)" % (
            min(blackouts), statistics.median(blackouts), max(blackouts), len(blackouts)))
        phases = [u.blackout for u in report.updates if u.blackout]
        out.append("  phases (median ms): " + ", ".join(
            "%s %.1f" % (p, statistics.median(b[p] for b in phases) / 1000)
            for p in guest_output.LIVE_UPDATE_PHASES))
    if report.update_call_us:
        calls = [us / 1000 for us in report.update_call_us]
        out.append("  update call as the control domain saw it: median %.1f ms, max %.1f ms"
                   % (statistics.median(calls), max(calls)))
    out.append("heartbeats (every %d ms):" % settings.heartbeat_ms)
    for guest in report.guests:
        if not guest.beats:
            out.append("  d%d %-9s none" % (guest.domid, guest.name))
            continue
        last = guest.beats[-1]
        detail = ("passes=%s errors=%d" % (",".join(map(str, last.vcpu_passes)), last.errors)
                  if guest.kind == "memtest" else
                  "transfers=%d errors=%d, %d paused with a DMA in flight (longest %d ms)"
                  % (last.transfers, last.errors, last.paused_in_flight, last.longest_pause_ms))
        line = "  d%d %-9s %4d beats (%d..%d), %d skipped, %d after the last update; %s" % (
            guest.domid, guest.name, len(guest.beats), guest.first, guest.last, guest.skipped,
            guest.after_last_update, detail)
        out.append(line)
        if report.timed:
            out.append("     across %d updates: longest silence %.0f ms (%.0f ms beyond the "
                       "blackouts), %d lost" % (
                           guest.across_updates, guest.longest_across_update * 1000,
                           guest.longest_across_update_excess * 1000, guest.lost))
            out.append("     elsewhere: longest silence %.0f ms; %d late (over %g intervals), "
                       "%d of them during a kexec_stage" % (
                           guest.longest_silence * 1000, guest.late, LOST_AFTER,
                           guest.late_during_stage))
    if report.wall_seconds is not None:
        out.append("time:       %.0f s in QEMU%s" % (
            report.wall_seconds, ", updates from the first quiesce to the last: %.0f s"
            % report.update_seconds if report.update_seconds is not None else ""))
    if report.log_path:
        out.append("console:    %s" % report.log_path)
    problems = report.all_problems()
    if problems:
        out.append("FAILED: %d problem%s" % (len(problems), "" if len(problems) == 1 else "s"))
        out += ["  " + p for p in problems[:40]]
        if len(problems) > 40:
            out.append("  ... and %d more" % (len(problems) - 40))
    else:
        out.append("verdict:    PASS: no corruption, no heartbeat lost, every guest progressing")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(prog="relay soak", description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=100, help="live updates (default 100)")
    parser.add_argument("--dma", action=argparse.BooleanOptionalAction, default=True,
                        help="a dma domain with QEMU's edu assigned through the IOMMU "
                             "(default; --no-dma leaves it out)")
    parser.add_argument("--heartbeat-ms", type=int, default=250)
    parser.add_argument("--pause", type=float, default=0.3,
                        help="seconds the control domain sleeps after each update")
    parser.add_argument("--lead-in", type=float, default=1.0,
                        help="seconds the control domain waits before the first update")
    parser.add_argument("--append", default="",
                        help="Relay's command line (e.g. test_corrupt=3 to see the soak fail)")
    parser.add_argument("--timeout", type=int, help="seconds for the whole run")
    parser.add_argument("--image", default=os.path.join(REPO, "bazel-bin/hv/relay.elf"))
    parser.add_argument("--relay-config",
                        default=os.path.join(REPO, "bazel-bin/tools/relay_config/relay-config"))
    parser.add_argument("--out", default=os.path.join(REPO, "out", "soak"))
    options = parser.parse_args()

    sys.path.insert(0, HERE)
    import relay_qemu  # noqa: E402
    import relay_run  # noqa: E402

    settings = Settings(options.updates, options.dma, options.heartbeat_ms, options.pause,
                        lead_in=options.lead_in)
    os.makedirs(options.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="relay-soak-")
    dtb = settings.write_configuration(work)
    modules = [relay_qemu.Module(dtb, "relay.hyperlaunch", name="config.dtb")]
    modules += relay_run.modules_from_config(options.relay_config, dtb)
    boot_args, cwd = relay_qemu.multiboot1_args(options.image, options.append, modules, work)
    log_path = os.path.join(options.out, "soak.log")
    timeout = options.timeout or settings.timeout()
    print("relay soak: %d updates%s, heartbeats every %d ms; console: %s" % (
        settings.updates, " with a dma domain" if settings.dma else "", settings.heartbeat_ms,
        os.path.relpath(log_path)), flush=True)
    machine = relay_qemu.Qemu(
        relay_qemu.qemu_base_args(smp=2, memory="512M", extra_devices=settings.qemu_devices())
        + boot_args, log_path, timeout=timeout, cwd=cwd)
    try:
        ended = run(machine, settings)
    finally:
        machine.close()
    timed = machine.timed_lines()
    # The same console with each line's arrival time: what the heartbeat timing saw.
    with open(os.path.join(options.out, "soak-timed.log"), "w") as out:
        out.writelines("%9.3f %s\n" % (seconds, line) for seconds, line in timed)
    report = analyse(timed, settings)
    report.log_path = log_path
    if ended:
        report.problems.insert(0, "run: %s" % ended)
    text = summary(report)
    print(text)
    with open(os.path.join(options.out, "soak-summary.txt"), "w") as out:
        out.write(text + "\n")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
