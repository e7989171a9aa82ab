"""Every hypercall docs/hypercalls.md marks control-only, issued by a domain without the
control role, is refused with RELAY_EPERM; numbers past the documented ones are
RELAY_ENOSYS. The list of calls is read from the document when the test runs and handed
to the rogue guest on its command line (`attacks=calls control_calls=... unknown_calls=...`,
docs/testing.md), so a hypercall added to the document and the hypervisor is tried
without touching this test; hypercall_doc_test holds the document to hv's dispatch table."""

import re

import hypercall_doc
import hyperlaunch_dts
from relay_test_support import RelayTestCase, config_modules, main, runfile

ATTACK = re.compile(r"^\(d2\) rogue: attack calls/hypercall\((\d+)[ ,][^:]*: (.*) \(expected (\w+)\) (ok|UNEXPECTED)$")


class HypercallPrivilegeTest(RelayTestCase):
    timeout = 120

    def test_control_only_calls_are_eperm_for_others(self):
        with open(runfile("docs/hypercalls.md")) as doc:
            calls = hypercall_doc.doc_hypercalls(doc.read())
        control = [call.number for call in hypercall_doc.control_only(calls)]
        self.assertTrue(control, "docs/hypercalls.md lists no control-only hypercall")
        first_unknown = max(call.number for call in calls) + 1
        unknown = list(range(first_unknown, first_unknown + 16)) + [(1 << 32) | n for n in control]
        bootargs = "attacks=calls control_calls=%s unknown_calls=%s" % (
            ",".join(map(str, control)), ",".join("%#x" % n for n in unknown))
        nodes = [hyperlaunch_dts.control_domain("sleep 1;list", ramdisk=False),
                 hyperlaunch_dts.guest_domain("rogue", 2, 2, hyperlaunch_dts.ROGUE_ELF, bootargs)]
        dtb = hyperlaunch_dts.compile_configuration(nodes, self.work_dir)
        machine = self.boot("", config_modules(dtb), smp=2, memory="256M")
        self.expect_line(machine, r"^\(d2\) rogue: done: every attack ran")

        seen = {}
        for line in machine.lines():
            match = ATTACK.match(line)
            if match:
                seen.setdefault(int(match.group(1)), []).append(match.groups()[1:])
        for number in control:
            name = next(call.name for call in calls if call.number == number)
            self.assertEqual(len(seen.get(number, [])), 2, "hypercall %d (%s) tried twice" % (number, name))
            for observed, expected, verdict in seen[number]:
                self.assertEqual((observed, expected, verdict), ("refused EPERM", "EPERM", "ok"),
                                 "hypercall %d (%s) from an unprivileged domain" % (number, name))
        for number in unknown:
            self.assertEqual(seen.get(number), [("refused ENOSYS", "ENOSYS", "ok")],
                             "hypercall %#x is not documented: it must not exist" % number)
        self.expect_line(machine, r"^\(d2\) rogue: %d attacks refused as expected, 0 unexpected$"
                         % (2 * len(control) + len(unknown)))
        # The control domain still works (nothing was paused or destroyed on its behalf).
        self.expect_line(machine, r"^\(d1\) control: list: ok")
        self.assertNotIn("UNEXPECTED", machine.output())


if __name__ == "__main__":
    main()
