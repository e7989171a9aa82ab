#!/usr/bin/env python3
"""./relay run and ./relay iso: boot Relay in QEMU with a Hyperlaunch configuration.

The configuration (.dts or .dtb) becomes multiboot module 0. The other modules come from
the command line, or, when none are given, from the configuration's `relay,file`
properties via `relay-config modules` (docs/hyperlaunch.md).
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "qemu"))
import relay_qemu  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_config(config, work_dir):
    if config.endswith(".dtb"):
        return config
    out = os.path.join(work_dir, os.path.splitext(os.path.basename(config))[0] + ".dtb")
    result = subprocess.run(["dtc", "-I", "dts", "-O", "dtb", "-o", out, config],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit("relay: dtc could not compile %s:\n%s" % (config, result.stdout))
    return out


def modules_from_config(relay_config, config):
    """Asks relay-config for the module list: lines 'INDEX PATH [ARGS...]'."""
    if not relay_config or not os.path.exists(relay_config):
        sys.exit("relay: no modules given and relay-config is not built; "
                 "list the modules after the configuration")
    result = subprocess.run([relay_config, "modules", config], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    if result.returncode != 0:
        sys.exit("relay: %s" % (result.stderr.strip() or result.stdout.strip()))
    modules = []
    for line in result.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 2:
            continue
        index, path = int(parts[0]), parts[1]
        args = parts[2] if len(parts) > 2 else ""
        if index == 0:
            continue  # the configuration itself
        if index != len(modules) + 1:
            sys.exit("relay: relay-config listed module %d out of order" % index)
        full = path if os.path.isabs(path) else os.path.join(REPO, path)
        if not os.path.exists(full):
            sys.exit("relay: module %d: %s does not exist (build it first)" % (index, path))
        modules.append(relay_qemu.Module(full, args))
    return modules


def main():
    parser = argparse.ArgumentParser(prog="relay run")
    parser.add_argument("--image", required=True, help="the Relay image (relay.elf)")
    parser.add_argument("--relay-config", help="relay-config binary (to derive modules)")
    parser.add_argument("--smp", type=int, default=2)
    parser.add_argument("--mem", default="1G")
    parser.add_argument("--append", default="", help="hypervisor command line")
    parser.add_argument("--iso", action="store_true", help="boot through GRUB (multiboot2)")
    parser.add_argument("--make-iso", metavar="OUT", help="only build the ISO at OUT")
    parser.add_argument("--timeout", type=int, default=0, help="seconds (0: none)")
    parser.add_argument("--log", help="also write the console to this file")
    parser.add_argument("--device", action="append", default=[], help="extra QEMU -device")
    parser.add_argument("config", nargs="?", help="Hyperlaunch configuration (.dts/.dtb)")
    parser.add_argument("modules", nargs="*", help="modules 1.. as PATH[:ARGS]")
    options = parser.parse_args()

    work_dir = tempfile.mkdtemp(prefix="relay-run-")
    modules = []
    if options.config:
        dtb = compile_config(options.config, work_dir)
        modules.append(relay_qemu.Module(dtb, "relay.hyperlaunch", name="config.dtb"))
        if options.modules:
            for spec in options.modules:
                path, _, args = spec.partition(":")
                modules.append(relay_qemu.Module(path, args))
        else:
            modules += modules_from_config(options.relay_config, dtb)

    if options.make_iso:
        relay_qemu.make_grub_iso(options.image, options.append, modules, options.make_iso)
        print(os.path.abspath(options.make_iso))
        return 0

    args = relay_qemu.qemu_base_args(options.smp, options.mem, options.device)
    cwd = None
    if options.iso:
        iso = os.path.join(work_dir, "relay.iso")
        relay_qemu.make_grub_iso(options.image, options.append, modules, iso)
        args += ["-cdrom", iso, "-boot", "d"]
    else:
        boot_args, cwd = relay_qemu.multiboot1_args(options.image, options.append, modules,
                                                    work_dir)
        args += boot_args
    log = options.log or os.path.join(work_dir, "console.log")
    qemu = relay_qemu.Qemu(args, log, timeout=options.timeout or 10**9, echo=True, cwd=cwd)
    try:
        status = qemu.wait_exit(timeout=options.timeout or None)
    except KeyboardInterrupt:
        qemu.kill()
        return 130
    except TimeoutError as error:
        print("relay: %s" % error, file=sys.stderr)
        return 124
    finally:
        qemu.close()
    meaning = {relay_qemu.EXIT_SUCCESS: "shut down cleanly",
               relay_qemu.EXIT_FAILURE: "shut down with a failure",
               relay_qemu.EXIT_PANIC: "panicked"}.get(status, "QEMU exited with status %d" % status)
    print("relay: hypervisor %s (console log: %s)" % (meaning, log), file=sys.stderr)
    return 0 if status == relay_qemu.EXIT_SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
