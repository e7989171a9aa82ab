"""fuzzguest (docs/testing.md) beside a memtest domain and the control domain for about
10 s: random hypercalls from an unprivileged domain, with random numbers and arguments
(its own RAM, unmapped and hypervisor-looking addresses, huge lengths). Relay neither
crashes nor hangs, memtest keeps making progress with no corruption, no domain reports an
exception, and the fuzzguest says how many calls it made."""

import re

import guest_output
import hyperlaunch_dts
from relay_test_support import RelayTestCase, config_modules, main

FUZZGUEST_ELF = "bazel-bin/tests/guests/fuzzguest.elf"
DONE = re.compile(r"^\(d3\) fuzzguest: done: (\d+) calls in (\d+) ms, seed (\d+): ok=(\d+) (.*)$")


class FuzzTest(RelayTestCase):
    timeout = 120

    def test_random_hypercalls_beside_memtest(self):
        nodes = [hyperlaunch_dts.control_domain("sleep 12;list", ramdisk=False),
                 hyperlaunch_dts.memtest_domain(2, bootargs="seed=9 heartbeat_ms=250"),
                 hyperlaunch_dts.guest_domain("fuzz", 3, 3, FUZZGUEST_ELF,
                                              "seed=20261121 duration_s=10 heartbeat_ms=1000")]
        dtb = hyperlaunch_dts.compile_configuration(nodes, self.work_dir)
        machine = self.boot("", config_modules(dtb), smp=2, memory="256M")
        index, done = self.expect_line(machine, DONE.pattern)
        calls, elapsed = int(done.group(1)), int(done.group(2))
        print("fuzzguest: %d calls in %d ms (%s)" % (calls, elapsed, done.group(5)))
        self.assertGreaterEqual(elapsed, 10000)
        self.assertGreater(calls, 1000, "the fuzzguest hardly ran")
        self.assertGreater(int(done.group(4)), 0, "no call succeeded: the arguments are all wrong")
        # Every result is 0/positive or a documented error code (docs/testing.md, "fuzzguest").
        other = re.search(r"\bother=(\d+)", done.group(5))
        self.assertIsNotNone(other, done.group(5))
        self.assertEqual(int(other.group(1)), 0, "results outside the documented error codes")

        # The hypervisor still serves everyone: memtest beats on, the control domain lists.
        start = index + 1
        for _ in range(3):
            start = self.expect_line(machine, r"^\(d2\) memtest: heartbeat \d+ ok", start=start)[0] + 1
        self.expect_line(machine, r"^\(d1\) control: script done: \d+ commands, 0 errors, 0 unexpected")
        lines = machine.lines()
        beats = guest_output.heartbeats(lines, 2)
        self.assertEqual(guest_output.check_heartbeats(beats), [])
        self.assertGreater(len(beats), 30, "memtest made too little progress beside the fuzzguest")
        # Heartbeats every 250 ms: no stall of more than a few seconds while the fuzzing ran.
        fuzz_beats = [l for l in lines if l.startswith("(d3) fuzzguest: heartbeat ")]
        self.assertGreaterEqual(len(fuzz_beats), 9)
        self.assertIn("(d1) control: domain 3 name=fuzz lifecycle=running vcpus=1 memory_kib=16384 roles=-",
                      lines)
        for pattern in (r"^\(d\d+\) \w+: exception #", r"^\(d\d+\) \w+: panic: ", r"^\(relay\) .*PANIC",
                        r"^\(relay\) .*(crashed|exception)"):
            self.assertEqual([l for l in lines if re.search(pattern, l)], [], pattern)
        self.assertNotIn("CORRUPT", machine.output())


if __name__ == "__main__":
    main()
