"""guest_output parses the lines the guests print (samples from their unit tests and
from runs on Relay)."""

import unittest

import guest_output

LINES = [
    "(d2) memtest: heartbeat 1 ok pass=7 checked=243642368 bytes vcpus=1 passes=7 errors=0",
    "(d2) memtest: heartbeat 2 ok pass=21 checked=676139008 bytes vcpus=1 passes=21 errors=0",
    "(d3) memtest: heartbeat 4 CORRUPT at 0x1234568 expected 0x950c0cea8c7ea507 found "
    "0x950c0cea8c7ea506 bad_words=1 vcpu=0 pass=50 checked=1613996032 bytes vcpus=2 "
    "passes=50,51 errors=1",
    "(d1) control: pause 3: ok",
    "(d1) control: pause 9: error ENOENT (-2)",
    "(d1) control: expect ENOENT pause 9: ok (error ENOENT (-2) as expected)",
    "(d1) control: expect ok pause 3: UNEXPECTED: error ESTATE (-10) (expected ok)",
    "(d1) control: list: ok 3 domains",
    "(d4) rogue: attack hypercalls/domain_pause(1): refused EPERM (expected EPERM) ok",
    "(d4) rogue: attack msrs/rdmsr(0xc0010117 VM_HSAVE_PA): #GP(0) (expected #GP(0)) ok",
    "(d4) rogue: attack pointers/console_write(0x700000000, 0x10) (outside RAM): returned 16 "
    "(expected EFAULT) UNEXPECTED",
    "(d4) rogue: check hypercalls/domain_info(own) contents: domid 4 name rogue vcpus 1 "
    "memory_kib 16384 (expected domid 4 name rogue vcpus 1 memory_kib 16384) ok",
    "(d4) rogue: 128 attacks refused as expected, 0 unexpected",
    "(d4) rogue: now writing outside RAM at 0x400000000 (RAM ends at 0x1000000)",
    "(d5) rogue: now triple-faulting: empty IDT, then an invalid opcode",
    "(d5) rogue: exception #PF (page fault, vector 14) error 0xb at rip 0x1000d8 on vcpu 0",
    # Spoofing attempts: text after a replaced carriage return is not a line start.
    "(d4) rogue: console spoof via the UART:?(d1) control: ROGUE-SPOOF uart",
]


class GuestOutputTest(unittest.TestCase):

    def test_heartbeats(self):
        beats = guest_output.heartbeats(LINES)
        self.assertEqual([(b.domid, b.count, b.ok) for b in beats],
                         [(2, 1, True), (2, 2, True), (3, 4, False)])
        self.assertEqual(beats[2].address, 0x1234568)
        self.assertEqual(beats[2].vcpu_passes, [50, 51])
        self.assertEqual(guest_output.check_heartbeats(guest_output.heartbeats(LINES, 2)), [])
        self.assertEqual(guest_output.check_heartbeats(beats[2:]),
                         ["heartbeat 4: CORRUPT at 0x1234568"])
        self.assertEqual(guest_output.check_heartbeats([beats[1], beats[0]]),
                         ["heartbeat 1 follows 2", "heartbeat 1 went back"])

    def test_control_results(self):
        self.assertEqual(guest_output.control_results(LINES), [
            ("pause 3", "ok", ""),
            ("pause 9", "error", "ENOENT (-2)"),
            ("expect ENOENT pause 9", "ok", "(error ENOENT (-2) as expected)"),
            ("expect ok pause 3", "UNEXPECTED", ": error ESTATE (-10) (expected ok)"),
            ("list", "ok", "3 domains"),
        ])

    def test_rogue(self):
        attacks = guest_output.rogue_attacks(LINES, 4)
        self.assertEqual([(m.group("group"), m.group("verdict")) for m in attacks],
                         [("hypercalls", "ok"), ("msrs", "ok"), ("pointers", "UNEXPECTED"),
                          ("hypercalls", "ok")])
        self.assertEqual(attacks[1].group("observed"), "#GP(0)")
        summary = [m for m in map(guest_output.ROGUE_SUMMARY.match, LINES) if m]
        self.assertEqual(summary[0].group("unexpected"), "0")
        fatal = [m for m in map(guest_output.ROGUE_FATAL.match, LINES) if m]
        self.assertEqual([(m.group("attack"), m.group("address")) for m in fatal],
                         [("writing outside RAM", "400000000"), ("triple-faulting", None)])
        exception = [m for m in map(guest_output.EXCEPTION.match, LINES) if m]
        self.assertEqual(exception[0].group("vector"), "14")

    def test_spoofed_lines_do_not_match(self):
        self.assertFalse(any(line.startswith("(d1)") for line in LINES
                             if "ROGUE-SPOOF" in line))
        self.assertEqual([c for c, _, _ in guest_output.control_results(LINES)
                          if "SPOOF" in c], [])


if __name__ == "__main__":
    unittest.main()
