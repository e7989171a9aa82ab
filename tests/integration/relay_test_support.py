"""Support for Relay's QEMU integration tests.

Each test boots the real image under QEMU TCG with a timeout. The full console log of
every boot is kept in the test's undeclared outputs (bazel-testlogs/.../outputs.zip), and
a failing test prints the log's tail.
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest

import guest_output
import relay_qemu


def runfile(path):
    """Path of a workspace-relative file in the test's runfiles."""
    for root in (os.environ.get("TEST_SRCDIR"), os.environ.get("RUNFILES_DIR")):
        if root:
            candidate = os.path.join(root, "relay", path)
            if os.path.exists(candidate):
                return candidate
    if os.path.exists(path):
        return path
    raise FileNotFoundError(path)


def config_modules(config_runfile):
    """The multiboot modules for a Hyperlaunch configuration, as a launcher derives them:
    `relay-config modules` lists them in mb-index order (docs/hyperlaunch.md)."""
    config = runfile(config_runfile)
    relay_config = runfile("tools/relay_config/relay-config")
    listing = subprocess.run([relay_config, "modules", config], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
    modules = []
    for line in listing.splitlines():
        index, path, arguments = (line.split(None, 2) + [""])[:3]
        if index == "0":
            modules.append(relay_qemu.Module(config, arguments, name="config.dtb"))
            continue
        # relay,file paths are relative to the repository root; built files are runfiles.
        if path.startswith("bazel-bin/"):
            path = path[len("bazel-bin/"):]
        modules.append(relay_qemu.Module(runfile(path), arguments))
    return modules


def output_dir():
    directory = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR") or tempfile.mkdtemp()
    os.makedirs(directory, exist_ok=True)
    return directory


class RelayTestCase(unittest.TestCase):
    """Boots Relay and offers assertions on its console."""

    image = None
    timeout = 90

    @classmethod
    def setUpClass(cls):
        cls.image = runfile("hv/relay.elf")

    def setUp(self):
        self._machines = []
        self.work_dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def tearDown(self):
        failed = self._outcome_failed()
        for machine in self._machines:
            machine.close()
            if failed:
                with open(machine.log_path) as log:
                    lines = log.read().splitlines()
                sys.stderr.write("\n---- console of %s (last 60 lines; full log: %s) ----\n"
                                 % (self.id(), machine.log_path))
                sys.stderr.write("\n".join(lines[-60:]) + "\n")

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        result = getattr(outcome, "result", None)
        if result is not None:
            for test, _ in result.failures + result.errors:
                if test is self:
                    return True
            return False
        errors = getattr(outcome, "errors", [])
        return any(error for _, error in errors)

    def boot(self, command_line="", modules=(), smp=2, memory="512M", iso=False, devices=(),
             name=None):
        """Starts QEMU; returns the running relay_qemu.Qemu."""
        label = name or re.sub(r"[^A-Za-z0-9_.-]", "_", self.id().split(".")[-1])
        log_path = os.path.join(output_dir(), "%s-%d.log" % (label, len(self._machines)))
        args = relay_qemu.qemu_base_args(smp, memory, devices)
        cwd = None
        if iso:
            iso_path = os.path.join(self.work_dir, "relay.iso")
            relay_qemu.make_grub_iso(self.image, command_line, modules, iso_path,
                                     work_dir=self.work_dir)
            args += ["-cdrom", iso_path, "-boot", "d"]
        else:
            boot_args, cwd = relay_qemu.multiboot1_args(self.image, command_line, modules,
                                                        self.work_dir)
            args += boot_args
        machine = relay_qemu.Qemu(args, log_path, timeout=self.timeout, cwd=cwd)
        self._machines.append(machine)
        return machine

    def expect_line(self, machine, pattern, timeout=None, start=0):
        try:
            return machine.wait_for(pattern, timeout, start)
        except TimeoutError as error:
            self.fail(str(error))

    def assert_console_clean(self, machine, words=("PANIC", "EXCEPTION", "CORRUPT", "UNEXPECTED")):
        """None of `words` on the console (the hypervisor's "*** EXCEPTION" and PANIC, the
        guests' CORRUPT and UNEXPECTED), and no guest reported an exception (a guest prints
        "<program>: exception #GP (...)", guest_output.EXCEPTION)."""
        output = machine.output()
        for word in words:
            self.assertNotIn(word, output)
        exceptions = [l for l in machine.lines() if guest_output.EXCEPTION.match(l)]
        self.assertEqual(exceptions, [], "a guest took an exception")

    def expect_exit(self, machine, status, timeout=None):
        try:
            actual = machine.wait_exit(timeout)
        except TimeoutError as error:
            self.fail(str(error))
        self.assertEqual(actual, status, "QEMU exit status (33 success, 35 failure, 37 panic)")


def main():
    """unittest.main() with Bazel's test sharding (shard_count in BUILD): each shard runs
    every TEST_TOTAL_SHARDS-th test, so slow QEMU tests spread over the CPUs. Honours
    --test_filter (a substring of the test ids)."""
    total = int(os.environ.get("TEST_TOTAL_SHARDS", "1"))
    index = int(os.environ.get("TEST_SHARD_INDEX", "0"))
    status_file = os.environ.get("TEST_SHARD_STATUS_FILE")
    if status_file:
        open(status_file, "w").close()  # tells Bazel this runner shards

    def flatten(suite):
        for item in suite:
            if isinstance(item, unittest.TestSuite):
                yield from flatten(item)
            else:
                yield item

    tests = sorted(flatten(unittest.TestLoader().loadTestsFromModule(sys.modules["__main__"])),
                   key=lambda test: test.id())
    # bazel test --test_filter=NAME: only tests whose id contains NAME.
    wanted = os.environ.get("TESTBRIDGE_TEST_ONLY")
    if wanted:
        tests = [test for test in tests if wanted in test.id()]
    selected = [test for position, test in enumerate(tests) if position % total == index]
    result = unittest.TextTestRunner(verbosity=2).run(unittest.TestSuite(selected))
    sys.exit(0 if result.wasSuccessful() else 1)
