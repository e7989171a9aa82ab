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
    "(d6) dma: found edu 1234:11e8 at 00:04.0 (revision 0x10, class 00ff00)",
    "(d6) dma: heartbeat 1 ok transfers=2 bytes=8176 errors=0 paused_in_flight=0 "
    "longest_pause_ms=0 device=00:04.0",
    "(d6) dma: outside transfer to 0x8000000 issued (4088 bytes from the device buffer; "
    "RAM ends at 0x2000000)",
    "(d6) dma: outside transfer to 0x8000000 completed after 100 ms",
    "(d6) dma: outside transfer from 0x8000000 issued (4088 bytes into the device buffer; "
    "RAM ends at 0x2000000)",
    "(d6) dma: outside transfer from 0x8000000 TIMEOUT after 1000 ms (command 0x1)",
    "(d6) dma: outside read: device buffer all zero (511 words)",
    "(d6) dma: heartbeat 2 CORRUPT at 0x9c3060 expected 0x950c0cea8c7ea507 found "
    "0x950c0cea8c7ea506 bad_words=1 in=destination transfer=3 source=0x2a5000 "
    "destination=0x9c3000 transfers=5 bytes=12264 errors=2 paused_in_flight=1 "
    "longest_pause_ms=131 device=00:04.0",
    "(d6) dma: heartbeat 3 TIMEOUT in=from-device transfer=6 waited_ms=1000 command=0x3 "
    "source=0x2a5000 destination=0x9c3000 transfers=6 bytes=12264 errors=3 paused_in_flight=2 "
    "longest_pause_ms=131 device=00:04.0",
    "(d7) dma: heartbeat 1 ok transfers=0 bytes=0 errors=0 paused_in_flight=0 "
    "longest_pause_ms=0 device=00:05.0",
    "(d7) dma: outside read: UNEXPECTED: device buffer holds the data written to 0x8000000: "
    "the DMAs reached memory outside the domain",
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

    def test_dma_heartbeats(self):
        beats = guest_output.dma_heartbeats(LINES, 6)
        self.assertEqual([(b.count, b.status, b.transfers, b.errors) for b in beats],
                         [(1, "ok", 2, 0), (2, "CORRUPT", 5, 2), (3, "TIMEOUT", 6, 3)])
        self.assertEqual(beats[0].device, "00:04.0")
        self.assertEqual(beats[0].bytes, 8176)
        self.assertEqual([(b.paused_in_flight, b.longest_pause_ms) for b in beats],
                         [(0, 0), (1, 131), (2, 131)])
        self.assertEqual((beats[1].address, beats[1].place, beats[1].transfer),
                         (0x9c3060, "destination", 3))
        self.assertEqual((beats[2].step, beats[2].transfer), ("from-device", 6))
        self.assertEqual(len(guest_output.dma_heartbeats(LINES)), 4)
        self.assertEqual(guest_output.check_dma_heartbeats(beats[:1]), [])
        self.assertEqual(guest_output.check_dma_heartbeats(beats), [
            "heartbeat 2: CORRUPT at 0x9c3060 in destination (transfer 3)",
            "heartbeat 3: TIMEOUT in from-device (transfer 6)",
        ])
        other = guest_output.dma_heartbeats(LINES, 7)
        self.assertEqual(guest_output.check_dma_heartbeats([beats[0], other[0]]), [
            "heartbeat 1 follows 1", "heartbeat 1 went back",
            "heartbeat 1: device 00:05.0, was 00:04.0"])
        # memtest's parser does not take dma's lines, nor the other way round.
        self.assertEqual([b.domid for b in guest_output.heartbeats(LINES)], [2, 2, 3])

    def test_dma_device_and_outside_lines(self):
        device = [m for m in map(guest_output.DMA_DEVICE.match, LINES) if m]
        self.assertEqual([(m.group("device_id"), m.group("device")) for m in device],
                         [("11e8", "00:04.0")])
        outside = [m for m in map(guest_output.DMA_OUTSIDE.match, LINES) if m]
        self.assertEqual([(m.group("direction"), bool(m.group("issued")),
                           m.group("completed_ms"), bool(m.group("timeout"))) for m in outside],
                         [("to", True, None, False), ("to", False, "100", False),
                          ("from", True, None, False), ("from", False, None, True)])
        self.assertEqual(outside[0].group("address"), "8000000")
        reads = [m for m in map(guest_output.DMA_OUTSIDE_READ.match, LINES) if m]
        self.assertEqual([(m.group("contents"), bool(m.group("unexpected"))) for m in reads],
                         [("all zero", False), ("holds the data written", True)])

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

    def test_live_update_lines(self):
        lines = [
            "(relay) live-update: blackout 45011 us (quiesce 527, serialize 1085, handover 86, "
            "kexec 5072, target boot 22365, verify 9950, restore 5732, resume 675 us)",
            "(relay) live-update: update 1 from 0.1.0 to 0.1.0+b complete",
            # Only Relay's own lines count, not a guest's copy of them.
            "(d4) (relay) live-update: blackout 1 us (quiesce 1, serialize 1, handover 1, "
            "kexec 1, target boot 1, verify 1, restore 1, resume 1 us)",
            "(d4) (relay) live-update: update 2 from 0.1.0 to 0.1.0+b complete",
        ]
        self.assertEqual(guest_output.blackouts(lines), [
            {"blackout": 45011, "quiesce": 527, "serialize": 1085, "handover": 86, "kexec": 5072,
             "target boot": 22365, "verify": 9950, "restore": 5732, "resume": 675}])
        complete = [m.groups() for m in map(guest_output.LIVE_UPDATE_COMPLETE.match, lines) if m]
        self.assertEqual(complete, [("1", "0.1.0", "0.1.0+b")])


if __name__ == "__main__":
    unittest.main()
