"""Boots Relay under QEMU (TCG) for ./relay run and the integration tests.

One place knows how to turn "an image, a hypervisor command line and a list of boot
modules" into a QEMU invocation, for both boot paths:
  * multiboot1 through QEMU's -kernel/-initrd loader;
  * multiboot2 through a GRUB rescue ISO made with grub-mkrescue.
Module command lines are "NAME ARGS" on both paths (docs/boot.md).

QEMU always runs under a timeout, its serial console is captured to a log file that
tests keep on failure, and only the process started here is ever stopped.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

# QEMU exit statuses produced by Relay through isa-debug-exit (hv/shutdown.hpp).
EXIT_SUCCESS = 33
EXIT_FAILURE = 35
EXIT_PANIC = 37

DEBUG_EXIT_DEVICE = "isa-debug-exit,iobase=0xf4,iosize=0x04"


class Module:
    """A boot module: a file and the arguments after its name on the command line."""

    def __init__(self, path, args="", name=None):
        self.path = path
        self.args = args
        self.name = name or os.path.basename(path)

    def command_line(self):
        return (self.name + " " + self.args).strip()


def single_thread_default():
    """TCG round robin (every CPU on one host thread) unless RELAY_QEMU_THREADS=multi."""
    return os.environ.get("RELAY_QEMU_THREADS", "single") != "multi"


def qemu_base_args(smp=2, memory="512M", extra_devices=(), single_thread=None):
    """`single_thread` (default: single_thread_default()): run every CPU on one host
    thread (TCG round robin). QEMU 7.2's multi-threaded TCG can triple-fault the machine
    at a #VMEXIT with intact page tables (docs/testing.md, "QEMU limitations"); round
    robin does not, and on the 2-core machines tests run on it is also faster."""
    if single_thread is None:
        single_thread = single_thread_default()
    args = [
        "qemu-system-x86_64",
        "-machine", "q35",
        "-accel", "tcg,thread=single" if single_thread else "tcg",
        "-cpu", "EPYC",
        "-smp", str(smp),
        "-m", str(memory),
        "-display", "none",
        "-no-reboot",
        "-device", DEBUG_EXIT_DEVICE,
    ]
    for device in extra_devices:
        args += ["-device", device]
    # Debugging: further QEMU arguments, e.g. RELAY_QEMU_EXTRA="-trace amdvi_page_fault".
    args += os.environ.get("RELAY_QEMU_EXTRA", "").split()
    return args


def multiboot1_args(image, command_line="", modules=(), work_dir=None):
    """-kernel/-initrd arguments, and the directory QEMU must run in.

    QEMU's multiboot loader passes "PATH ARGS" as a module's command line. To make that
    "NAME ARGS" (as on the GRUB path), each module is linked under its name into a
    directory and QEMU runs there with bare names. QEMU splits -initrd on commas; a comma
    inside an argument is doubled.
    """
    directory = tempfile.mkdtemp(prefix="relay-mb1-", dir=work_dir)
    args = ["-kernel", os.path.abspath(image)]
    if command_line:
        args += ["-append", command_line]
    if modules:
        entries = []
        for index, module in enumerate(modules):
            if "/" in module.name or "," in module.name or " " in module.name:
                raise ValueError("module name %r must be a plain file name" % module.name)
            link = os.path.join(directory, module.name)
            if os.path.lexists(link):
                raise ValueError("two modules named %r" % module.name)
            os.symlink(os.path.abspath(module.path), link)
            entry = module.command_line()
            entries.append(entry.replace(",", ",,"))
        args += ["-initrd", ",".join(entries)]
    return args, directory


def make_grub_iso(image, command_line, modules, out_path, work_dir=None):
    """Builds a BIOS GRUB ISO booting `image` with multiboot2 and the modules."""
    staging = tempfile.mkdtemp(prefix="relay-iso-", dir=work_dir)
    try:
        boot = os.path.join(staging, "boot")
        os.makedirs(os.path.join(boot, "grub"))
        shutil.copy(image, os.path.join(boot, "relay.elf"))
        lines = [
            "serial --unit=0 --speed=115200",
            "terminal_input serial",
            "terminal_output serial",
            "set timeout=0",
            'menuentry "Relay" {',
            "    multiboot2 /boot/relay.elf " + command_line,
        ]
        for index, module in enumerate(modules):
            target = "module%d-%s" % (index, re.sub(r"[^A-Za-z0-9._-]", "_", module.name))
            shutil.copy(module.path, os.path.join(boot, target))
            # GRUB passes the words after the path; repeat NAME so the command line reads
            # "NAME ARGS" as on the multiboot1 path.
            lines.append("    module2 /boot/%s %s" % (target, module.command_line()))
        lines.append("}")
        with open(os.path.join(boot, "grub", "grub.cfg"), "w") as cfg:
            cfg.write("\n".join(lines) + "\n")
        result = subprocess.run(
            ["grub-mkrescue", "-o", out_path, staging],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise RuntimeError("grub-mkrescue failed:\n" + result.stdout)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_path


_running = set()


def _stop_all():
    for machine in list(_running):
        machine.kill()


def _exit_on_signal(number, _frame):
    raise SystemExit(128 + number)


def _install_cleanup():
    """QEMU runs in its own session (so a test's Ctrl-C does not reach it first); make sure
    it never outlives us: at exit, and on SIGTERM/SIGHUP (Bazel's timeout, `timeout`),
    which otherwise end Python without running any cleanup."""
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(number) == signal.SIG_DFL:
                signal.signal(number, _exit_on_signal)


_install_cleanup()


class Qemu:
    """A running QEMU whose serial console is logged to a file and scanned for lines."""

    def __init__(self, args, log_path, timeout=120, echo=False, cwd=None):
        self.log_path = log_path
        self.timeout = timeout
        self._lines = []
        self._times = []  # time.monotonic() at which each line arrived
        self._condition = threading.Condition()
        self._echo = echo
        self._log = open(log_path, "w", buffering=1)
        self.started = time.monotonic()
        # A QMP socket for tests that look inside the machine (qmp()).
        self._qmp_dir = tempfile.mkdtemp(prefix="relay-qmp-")
        self.qmp_path = os.path.join(self._qmp_dir, "qmp.sock")
        self.process = subprocess.Popen(
            args + ["-serial", "stdio", "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, cwd=cwd)
        _running.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._stderr = []
        self._err_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_reader.start()

    def _read(self):
        for raw in iter(self.process.stdout.readline, b""):
            arrived = time.monotonic()
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            # GRUB's terminal escapes are noise in logs and assertions.
            line = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line)
            self._log.write(line + "\n")
            if self._echo:
                print(line, flush=True)
            with self._condition:
                self._lines.append(line)
                self._times.append(arrived)
                self._condition.notify_all()
        with self._condition:
            self._condition.notify_all()

    def _read_stderr(self):
        for raw in iter(self.process.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if "TCG doesn't support requested feature" in line:
                continue  # -cpu EPYC lists features TCG lacks; harmless
            self._stderr.append(line)
            self._log.write("[qemu] " + line + "\n")

    def qemu_messages(self):
        """What QEMU itself wrote to stderr so far (its device models' warnings)."""
        return list(self._stderr)

    def lines(self):
        with self._condition:
            return list(self._lines)

    def timed_lines(self):
        """(seconds since QEMU started, line) for every line so far, in order. Host time:
        under TCG the guests' TSC follows it, so a gap between two lines is guest time too."""
        with self._condition:
            return [(t - self.started, line) for t, line in zip(self._times, self._lines)]

    def output(self):
        return "\n".join(self.lines())

    def wait_for(self, pattern, timeout=None, start=0):
        """Waits until a console line at index >= start matches `pattern` (a regex).
        Returns (index, match); raises TimeoutError with the tail of the log."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        index = start
        with self._condition:
            while True:
                while index < len(self._lines):
                    match = regex.search(self._lines[index])
                    if match:
                        return index, match
                    index += 1
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise TimeoutError("QEMU exited (status %s) before /%s/ appeared; log: %s"
                                       % (self.process.returncode, pattern, self.log_path))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no line matching /%s/ within the timeout; log: %s"
                                       % (pattern, self.log_path))
                self._condition.wait(min(remaining, 0.5))

    def wait_exit(self, timeout=None):
        """Waits for QEMU to exit; returns its status (Relay's via isa-debug-exit)."""
        if timeout is None:
            remaining = self.timeout - (time.monotonic() - self.started)
        else:
            remaining = timeout
        try:
            status = self.process.wait(timeout=max(remaining, 0.1))
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError("QEMU did not exit within the timeout; log: %s" % self.log_path)
        self._reader.join(timeout=5)
        self._err_reader.join(timeout=5)
        return status

    def qmp(self, command, **arguments):
        """Runs one QMP command (QEMU's machine protocol) and returns its "return" value;
        raises RuntimeError with QEMU's message if it fails."""
        deadline = time.monotonic() + 10
        while not os.path.exists(self.qmp_path):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("QEMU's QMP socket did not appear")
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(120)
            connection.connect(self.qmp_path)
            stream = connection.makefile("rwb")

            def call(name, args=None):
                request = {"execute": name}
                if args:
                    request["arguments"] = args
                stream.write(json.dumps(request).encode() + b"\n")
                stream.flush()
                while True:
                    reply = json.loads(stream.readline())
                    if "return" in reply:
                        return reply["return"]
                    if "error" in reply:
                        raise RuntimeError("QMP %s: %s" % (name, reply["error"].get("desc")))
                    # events ("event": ...) are skipped

            json.loads(stream.readline())  # the greeting
            call("qmp_capabilities")
            return call(command, arguments)

    def kill(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        _running.discard(self)
        self._reader.join(timeout=5)

    def close(self):
        self.kill()
        self._log.close()
        shutil.rmtree(self._qmp_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
