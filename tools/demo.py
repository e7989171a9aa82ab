#!/usr/bin/env python3
"""./relay demo: Relay's main job, end to end (README.md).

Boots examples/default.dts on two CPUs: a control domain and two memtest domains. The
control domain's script pauses and resumes memtest2, exports the state, stages the second
build (relay_b.elf) from its ramdisk, live-updates into it and exports the state again.
The demo shows the console as it happens (the exported streams' base64 lines folded),
then what happened: the blackout and where it went, the memtest heartbeats on both sides
of the update (memory intact, counters continuing), and relay-dump's view of the two
exported streams (`show` of the second, `diff` of both).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "qemu"))
sys.path.insert(0, os.path.join(REPO, "tests", "guests"))
import guest_output  # noqa: E402
import relay_qemu  # noqa: E402
import relay_run  # noqa: E402

BLACKOUT = re.compile(r"live-update: blackout (\d+) us \((.*)\)")


def section(title):
    print("\n\033[1m== %s ==\033[0m" % title, flush=True)


def main():
    parser = argparse.ArgumentParser(prog="relay demo")
    parser.add_argument("--image", default=os.path.join(REPO, "bazel-bin/hv/relay.elf"))
    parser.add_argument("--relay-config", default=os.path.join(REPO, "bazel-bin/tools/relay_config/relay-config"))
    parser.add_argument("--relay-dump", default=os.path.join(REPO, "bazel-bin/tools/relay-dump"))
    parser.add_argument("--config", default=os.path.join(REPO, "examples/default.dts"))
    parser.add_argument("--out", default=os.path.join(REPO, "out", "demo"))
    parser.add_argument("--timeout", type=int, default=180)
    options = parser.parse_args()
    os.makedirs(options.out, exist_ok=True)

    work = tempfile.mkdtemp(prefix="relay-demo-")
    dtb = relay_run.compile_config(options.config, work)
    modules = [relay_qemu.Module(dtb, "relay.hyperlaunch", name="config.dtb")]
    modules += relay_run.modules_from_config(options.relay_config, dtb)
    args = relay_qemu.qemu_base_args(smp=2, memory="1G")
    boot_args, cwd = relay_qemu.multiboot1_args(options.image, "", modules, work)
    log = os.path.join(options.out, "console.log")

    section("Booting %s under QEMU (TCG, 2 CPUs); console:" % os.path.relpath(options.config, REPO))
    machine = relay_qemu.Qemu(args + boot_args, log, timeout=options.timeout, cwd=cwd)
    shown = 0
    folded = 0
    try:
        deadline = time.monotonic() + options.timeout
        done_at = None
        beats_after = {2: 0, 3: 0}
        while time.monotonic() < deadline:
            lines = machine.lines()
            for line in lines[shown:]:
                if guest_output.EXPORT_DATA.match(line):
                    folded += 1
                    continue
                if folded:
                    print("(d1) control: export data ... [%d lines of base64]" % folded)
                    folded = 0
                print(line)
                if done_at is not None:
                    beat = guest_output.HEARTBEAT.match(line)
                    if beat:
                        beats_after[int(beat.group("domid"))] += 1
                if line.startswith("(d1) control: script done"):
                    done_at = len(lines)
            sys.stdout.flush()
            shown = len(lines)
            if done_at is not None and min(beats_after.values()) >= 4:
                break
            if machine.process.poll() is not None:
                break
            time.sleep(0.2)
    finally:
        machine.close()
    lines = machine.lines()

    ok = True
    section("What happened")
    results = guest_output.control_results(lines)
    update = [r for r in results if r[0] == "update"]
    blackouts = [BLACKOUT.search(l) for l in lines if BLACKOUT.search(l)]
    if not update or update[0][1] != "ok" or not blackouts:
        print("the live update did not complete; console log: %s" % log)
        return 1
    banners = [l.split()[3] for l in lines if l.startswith("(relay) Relay hypervisor ")]
    print("builds, in order:        %s" % " -> ".join(banners))
    print("blackout:                %.1f ms (%s)" % (int(blackouts[0].group(1)) / 1000.0, blackouts[0].group(2)))
    print("control domain saw:      update: %s %s" % (update[0][1], update[0][2]))
    boundary = next(i for i, l in enumerate(lines) if BLACKOUT.search(l))
    for domid in (2, 3):
        beats = guest_output.heartbeats(lines, domid)
        before = [b for b in guest_output.heartbeats(lines[:boundary], domid)]
        after = [b for b in guest_output.heartbeats(lines[boundary:], domid)]
        problems = guest_output.check_heartbeats(beats)
        ok = ok and not problems and bool(before) and bool(after)
        print("memtest domain %d:        last heartbeat before the update #%d (%d passes), first after "
              "#%d (%d passes), %d in all: %s" % (
                  domid, before[-1].count if before else -1, before[-1].passes if before else -1,
                  after[0].count if after else -1, after[0].passes if after else -1, len(beats),
                  "memory intact, counting on" if not problems else "; ".join(problems)))

    streams = guest_output.exports(lines)
    if len(streams) != 2:
        print("expected two exported streams, found %d" % len(streams))
        return 1
    paths = []
    for name, data in zip(("before", "after"), streams):
        path = os.path.join(options.out, "%s.stream" % name)
        with open(path, "wb") as out:
            out.write(data)
        paths.append(path)
    print("exported streams:        %s (%d bytes), %s (%d bytes)" % (
        os.path.relpath(paths[0], REPO), len(streams[0]), os.path.relpath(paths[1], REPO), len(streams[1])))

    section("relay-dump show %s" % os.path.relpath(paths[1], REPO))
    shown = subprocess.run([options.relay_dump, "show", paths[1]], stdout=subprocess.PIPE, text=True)
    print(shown.stdout, end="")
    section("relay-dump diff %s %s" % (os.path.relpath(paths[0], REPO), os.path.relpath(paths[1], REPO)))
    diff = subprocess.run([options.relay_dump, "diff", paths[0], paths[1]], stdout=subprocess.PIPE, text=True)
    print(diff.stdout, end="")
    ok = ok and shown.returncode == 0
    section("Result")
    print("%s; full console log: %s" % ("live update completed, no guest lost anything" if ok
                                       else "PROBLEMS above", os.path.relpath(log, REPO)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
