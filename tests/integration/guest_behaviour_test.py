"""The test guests' own behaviours, on Relay: heartbeats over the console hypercall,
corruption detected at its exact address, bad arguments and scripts refused, the control
program without its role, vcpu_up checks, reads outside RAM and unexpected guest
exceptions. One boot of tests/integration/configs/guests.dts with eight domains."""

import unittest

import guest_output
from relay_test_support import RelayTestCase, config_modules


class GuestBehaviourTest(RelayTestCase):
    timeout = 240

    def test_guest_behaviours(self):
        machine = self.boot("test_corrupt=3", config_modules("tests/integration/configs/guests.dtb"),
                            smp=2, memory="1G")
        self.expect_line(machine, r"8 domains running")

        # The control program without the permission: refused, and it knows why.
        self.expect_line(machine, r"^\(d1\) control: warning: this domain lacks ")
        self.expect_line(machine, r"^\(d1\) control: list: error EPERM \(-1\)$")
        self.expect_line(machine, r"^\(d1\) control: pause 2: error EPERM \(-1\)$")
        self.expect_line(machine, r"^\(d1\) control: script done: 2 commands, 2 errors, ")

        # Heartbeats over the console hypercall.
        self.expect_line(machine, r"^\(d2\) memtest: heartbeat 2 ok ")

        # Bad arguments and scripts are refused by the guests.
        self.expect_line(machine, r'^\(d4\) memtest: panic: seed="banana": not a number')
        self.expect_line(machine, r'^\(d5\) control: script rejected: command 2 \("pase 3"\): ')

        # vcpu_up checks with a second vCPU.
        self.expect_line(machine, r"^\(d6\) rogue: attack pointers/vcpu_up\(1, 0x700000000\): ")
        self.expect_line(machine, r"^\(d6\) rogue: \d+ attacks refused as expected, 0 unexpected$")
        self.expect_line(machine, r"^\(d6\) rogue: done: every attack ran")

        # A read outside RAM ends only that domain, with Relay's report.
        self.expect_line(machine, r"^\(d7\) rogue: now reading outside RAM at 0x80000000 ")
        self.expect_line(machine, r"error: domain 7 \(readoutside\) crashed: vCPU 0 read at "
                                  r"guest-physical 0x80000000 outside its memory")

        # An exception the guest does not expect: its own report, then it shuts down crashed.
        self.expect_line(machine, r"^\(d8\) rogue: exception #PF \(page fault, vector 14\) ")
        self.expect_line(machine, r"cr2 0x7fffffe00000 ")
        self.expect_line(machine, r"domain 8 \(guestexception\) shut down: crash")

        # Relay flips one bit in domain 3's RAM; memtest reports exactly that word, once,
        # from the vCPU that owns it, and keeps going.
        flip, flipped = self.expect_line(
            machine, r"warning: test: flipped bit 0 of the word at guest-physical 0x([0-9a-f]+) "
                     r"in domain 3")
        address = int(flipped.group(1), 16)
        _, corrupt = self.expect_line(machine, r"^\(d3\) memtest: heartbeat (\d+) CORRUPT at 0x([0-9a-f]+) ",
                                      start=flip)
        self.assertEqual(int(corrupt.group(2), 16), address)
        report = guest_output.HEARTBEAT.match(next(l for l in machine.lines() if "CORRUPT" in l))
        self.assertEqual(report.group("vcpu"), "1", "the corrupted word is in the second vCPU's part")
        self.expect_line(machine, r"^\(d3\) memtest: heartbeat %d ok .* errors=1$"
                         % (int(report.group("count")) + 1))
        corrupt_lines = [l for l in machine.lines() if "CORRUPT" in l]
        self.assertEqual(len(corrupt_lines), 1, "reported once")
        self.assertNotIn("PANIC", machine.output())
        self.assertNotIn("UNEXPECTED", machine.output())


if __name__ == "__main__":
    unittest.main()
