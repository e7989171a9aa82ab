"""kexec_stage refuses an image without a valid compatibility note (issue 7): the control
domain stages relay_nonote.elf (relay.elf with its PT_NOTE program header removed) and
relay_badnote.elf (its note's version damaged), both from //hv:update_images. Each is
refused with EINVAL and a console line naming the note; a refused stage also drops what
was staged before; the memtest domains never notice, and a good image still stages and
updates afterwards."""

import re

import guest_output
import hyperlaunch_dts
from relay_test_support import RelayTestCase, config_modules, main

SCRIPT = ";".join([
    "expect EINVAL stage relay_nonote.elf",
    "expect EINVAL stage relay_badnote.elf",
    "stage relay_b.elf",
    "expect EINVAL stage relay_nonote.elf",
    "expect ESTATE update",  # the refused stage left nothing staged
    "stage relay_b.elf",
    "update",
    "list",
])


class StageRefusalTest(RelayTestCase):
    timeout = 180

    def test_images_without_a_valid_note_are_refused(self):
        nodes = [hyperlaunch_dts.control_domain(SCRIPT),
                 hyperlaunch_dts.memtest_domain(2, bootargs="seed=5 heartbeat_ms=200")]
        dtb = hyperlaunch_dts.compile_configuration(nodes, self.work_dir)
        machine = self.boot("", config_modules(dtb), smp=2, memory="256M")
        _, done = self.expect_line(
            machine, r"^\(d1\) control: script done: (\d+) commands, (\d+) errors?, (\d+) unexpected")
        self.assertEqual((done.group(2), done.group(3)), ("0", "0"), "control script errors, unexpected")

        lines = machine.lines()
        refused = [l for l in lines if "live-update: image refused: " in l]
        self.assertEqual(len(refused), 3, refused)
        self.assertRegex(refused[0], r"image: no Relay compatibility note \(an image must say which "
                                     r"streams it reads")
        self.assertRegex(refused[1], r"image: compatibility note: compatibility note version 2989 is "
                                     r"not known")
        self.assertRegex(refused[2], r"no Relay compatibility note")
        results = [(c, r, d) for c, r, d in guest_output.control_results(lines) if "stage" in c]
        self.assertEqual(results, [
            ("expect EINVAL stage relay_nonote.elf", "ok", "(error EINVAL (-3) as expected)"),
            ("expect EINVAL stage relay_badnote.elf", "ok", "(error EINVAL (-3) as expected)"),
            ("stage relay_b.elf", "ok", results[2][2]),
            ("expect EINVAL stage relay_nonote.elf", "ok", "(error EINVAL (-3) as expected)"),
            ("stage relay_b.elf", "ok", results[4][2]),
        ])
        # Nothing was paused for a refused image; the update that followed completed.
        self.assertEqual(len([l for l in lines if "quiescing" in l]), 1)
        self.expect_line(machine, r"live-update: update 1 from 0\.1\.0 to 0\.1\.0\+b complete")
        start = self.expect_line(machine, r"^\(d2\) memtest: heartbeat \d+ ok", start=len(lines))[0]
        self.expect_line(machine, r"^\(d2\) memtest: heartbeat \d+ ok", start=start + 1)
        beats = guest_output.heartbeats(machine.lines(), 2)
        self.assertEqual(guest_output.check_heartbeats(beats), [])
        for bad in ("PANIC", "UNEXPECTED", "CORRUPT", "ROLLED BACK"):
            self.assertNotIn(bad, machine.output())
        self.assertFalse([l for l in machine.lines() if re.search(r"domain 2 .*crashed", l)])


if __name__ == "__main__":
    main()
