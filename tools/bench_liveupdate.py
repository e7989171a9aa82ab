#!/usr/bin/env python3
"""./relay bench liveupdate: live-update blackout against guest RAM and domain count.

Under QEMU TCG on this host, Relay boots a configuration, the control domain updates back
and forth between two builds (relay.elf <-> relay_b.elf) several times, and the blackout
each update prints (last vCPU paused -> first vCPU resumed, with its phases) is collected:

  RAM series:     a control domain (16 MiB) and one memtest domain; 64 MiB, 512 MiB and
                  2 GiB of guest RAM in all
  domain series:  1, 4 and 16 domains (the control domain and 16 MiB memtests)

QEMU runs TCG round robin, as everywhere (relay_qemu.qemu_base_args).
Writes out/bench/liveupdate.csv (every update), out/bench/liveupdate_summary.csv
(medians per configuration, per phase) and out/bench/liveupdate.png (gnuplot).
"""

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "qemu"))
import hyperlaunch_dts  # noqa: E402
import relay_qemu  # noqa: E402
import relay_run  # noqa: E402

PHASES = ["quiesce", "serialize", "handover", "kexec", "target boot", "verify", "restore", "resume"]
BLACKOUT = re.compile(r"live-update: blackout (\d+) us \(" +
                      ", ".join(r"%s (\d+)" % p for p in PHASES) + r" us\)")
CONTROL_MIB = 16


def configurations():
    for total in (64, 512, 2048):
        yield {"series": "ram", "ram_mib": total, "domains": 2,
               "memtests": [(2, (total - CONTROL_MIB) * 1024)]}
    for count in (1, 4, 16):
        yield {"series": "domains", "ram_mib": CONTROL_MIB * count, "domains": count,
               "memtests": [(domid, 16 * 1024) for domid in range(2, count + 1)]}


def run_configuration(config, passes, options, work):
    script = "sleep 2;loop %d;stage relay_b.elf;update;stage relay.elf;update;end" % passes
    nodes = [hyperlaunch_dts.control_domain(script, ramdisk_index=3 if config["memtests"] else 2)]
    nodes += [hyperlaunch_dts.memtest_domain(domid, memory_kib=kib) for domid, kib in config["memtests"]]
    name = "%s-%d" % (config["series"], config["ram_mib"] if config["series"] == "ram" else config["domains"])
    dtb = hyperlaunch_dts.compile_configuration(nodes, work, name)
    modules = [relay_qemu.Module(dtb, "relay.hyperlaunch", name="config.dtb")]
    modules += relay_run.modules_from_config(options.relay_config, dtb)
    memory = "%dM" % (config["ram_mib"] + 768)
    boot_args, cwd = relay_qemu.multiboot1_args(options.image, "", modules, work)
    log = os.path.join(options.out, "liveupdate-%s.log" % name)
    machine = relay_qemu.Qemu(relay_qemu.qemu_base_args(smp=2, memory=memory) + boot_args, log,
                              timeout=options.timeout, cwd=cwd)
    try:
        machine.wait_for(r"^\(d1\) control: script done", options.timeout)
    except TimeoutError as error:
        print("  %s: %s" % (name, error), file=sys.stderr)
    finally:
        machine.close()
    samples = []
    for line in machine.lines():
        match = BLACKOUT.search(line)
        if match:
            values = [int(v) for v in match.groups()]
            samples.append({"blackout_us": values[0], **dict(zip(PHASES, values[1:]))})
    return name, samples


def plot(summary_path, png_path):
    script = """
set terminal pngcairo size 1400,500 font ",10"
set output '%(png)s'
set datafile separator ','
set multiplot layout 1,3 title "Relay live-update blackout under QEMU TCG (median of each configuration)"
set grid
set ylabel "blackout (ms)"
set yrange [0:*]
set title "against guest RAM (2 domains)"
set xlabel "guest RAM (MiB)"
set logscale x 2
plot '%(csv)s' using 3:(strcol(1) eq "ram" ? $5/1000 : 1/0) every ::1 with linespoints lw 2 pt 7 title "blackout"
unset logscale x
set title "against the number of domains"
set xlabel "domains"
plot '%(csv)s' using 4:(strcol(1) eq "domains" ? $5/1000 : 1/0) every ::1 with linespoints lw 2 pt 7 title "blackout"
set title "where it goes (phases, ms)"
set xlabel ""
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.7
set key outside right
set xtics rotate by -30
set key autotitle columnheader
plot for [i=6:13] '%(csv)s' using (column(i)/1000):xtic(2)
unset multiplot
""" % {"png": png_path, "csv": summary_path}
    result = subprocess.run(["gnuplot"], input=script, text=True, stderr=subprocess.PIPE)
    if result.returncode != 0:
        print("gnuplot failed: %s" % result.stderr, file=sys.stderr)
        return False
    return True


def main():
    parser = argparse.ArgumentParser(prog="relay bench liveupdate")
    parser.add_argument("--image", default=os.path.join(REPO, "bazel-bin/hv/relay.elf"))
    parser.add_argument("--relay-config", default=os.path.join(REPO, "bazel-bin/tools/relay_config/relay-config"))
    parser.add_argument("--out", default=os.path.join(REPO, "out", "bench"))
    parser.add_argument("--passes", type=int, default=3, help="A->B->A round trips per configuration")
    parser.add_argument("--timeout", type=int, default=300)
    options = parser.parse_args()
    os.makedirs(options.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="relay-bench-")

    rows = []
    summary = []
    started = time.monotonic()
    for config in configurations():
        name, samples = run_configuration(config, options.passes, options, work)
        expected = 2 * options.passes
        for index, sample in enumerate(samples, start=1):
            rows.append({"config": name, "series": config["series"], "ram_mib": config["ram_mib"],
                         "domains": config["domains"], "update": index, **sample})
        if not samples:
            print("%-12s no update completed (log: %s)" % (name, os.path.join(options.out, "liveupdate-%s.log" % name)))
            continue
        medians = {key: statistics.median(s[key] for s in samples) for key in ["blackout_us"] + PHASES}
        summary.append({"series": config["series"], "config": name, "ram_mib": config["ram_mib"],
                        "domains": config["domains"], **medians})
        print("%-12s %d/%d updates  blackout median %7.1f ms  min %7.1f  max %7.1f   %s" % (
            name, len(samples), expected, medians["blackout_us"] / 1000,
            min(s["blackout_us"] for s in samples) / 1000, max(s["blackout_us"] for s in samples) / 1000,
            "  ".join("%s %.1f" % (p, medians[p] / 1000) for p in PHASES)), flush=True)

    samples_path = os.path.join(options.out, "liveupdate.csv")
    with open(samples_path, "w", newline="") as out:
        writer = csv.DictWriter(out, ["config", "series", "ram_mib", "domains", "update", "blackout_us"] + PHASES)
        writer.writeheader()
        writer.writerows(rows)
    summary_path = os.path.join(options.out, "liveupdate_summary.csv")
    with open(summary_path, "w", newline="") as out:
        writer = csv.DictWriter(out, ["series", "config", "ram_mib", "domains", "blackout_us"] + PHASES)
        writer.writeheader()
        writer.writerows(summary)
    png = os.path.join(options.out, "liveupdate.png")
    plotted = plot(summary_path, png)
    print("\n%d updates in %.0f s; every update: %s\nmedians: %s%s" % (
        len(rows), time.monotonic() - started, os.path.relpath(samples_path, REPO),
        os.path.relpath(summary_path, REPO), "\nplot: %s" % os.path.relpath(png, REPO) if plotted else ""))
    return 0 if len(summary) == 6 else 1


if __name__ == "__main__":
    sys.exit(main())
