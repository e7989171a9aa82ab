"""docs/hypercalls.md's table of hypercalls against the hypervisor's: the same numbers
and names as hv/abi/hypercall.h and the dispatch table in hv/hypercall.cpp, the same
argument counts, and "control" in the document exactly where the table requires the
control role. A hypercall added to one and not the other fails here; the integration test
hypercall_privilege_test then tries every control-only call the document lists."""

import unittest

import hypercall_doc
from relay_test_support import runfile


def read(path):
    with open(runfile(path)) as source:
        return source.read()


class HypercallDocTest(unittest.TestCase):
    def setUp(self):
        self.doc = hypercall_doc.doc_hypercalls(read("docs/hypercalls.md"))
        header = read("hv/abi/hypercall.h")
        self.numbers = hypercall_doc.header_numbers(header)
        self.table = hypercall_doc.dispatch_table(read("hv/hypercall.cpp"), header)

    def test_the_document_lists_every_number_once_in_order(self):
        self.assertEqual([call.number for call in self.doc], list(range(len(self.doc))))

    def test_the_document_matches_the_header(self):
        documented = {call.name.upper(): call.number for call in self.doc}
        header = {name: number for name, number in self.numbers.items() if name != "COUNT"}
        self.assertEqual(documented, header, "docs/hypercalls.md vs hv/abi/hypercall.h")
        self.assertEqual(self.numbers["COUNT"], len(self.doc), "RELAY_HC_COUNT")

    def test_the_document_matches_the_dispatch_table(self):
        by_number = {call.number: call for call in self.table}
        self.assertEqual(len(by_number), len(self.table), "a number twice in kTable")
        for call in self.doc:
            self.assertIn(call.number, by_number,
                          "hypercall %d (%s) is documented but not in hv/hypercall.cpp's kTable"
                          % (call.number, call.name))
            row = by_number.pop(call.number)
            self.assertEqual(row.name, call.name, "hypercall %d's name" % call.number)
            self.assertEqual(row.arguments, call.arguments,
                             "hypercall %d (%s): argument count" % (call.number, call.name))
            documented_role = "control" if call.role == "control" else "any"
            self.assertEqual(row.role, documented_role,
                             "hypercall %d (%s): the document says role \"%s\""
                             % (call.number, call.name, call.role))
        self.assertEqual(list(by_number.values()), [],
                         "in hv/hypercall.cpp's dispatch table but not in docs/hypercalls.md")

    def test_there_are_control_only_calls(self):
        # The parser found the roles: the privilege test would prove nothing otherwise.
        self.assertGreaterEqual(len(hypercall_doc.control_only(self.doc)), 8)

    def test_parser_reads_rows_added_to_the_table(self):
        text = ("# ABI\n\n## Hypercalls\n\n| # | name | arguments | result | role |\n|---|---|---|---|---|\n"
                "| 0 | `version` | — | `(major << 16) \\| minor` | any |\n"
                "| 1 | `frob` (1.2) | `domid`, `buffer` (gpa) | 0 | control |\n\n### 0 `version`\n"
                "| 9 | `not_a_row` | — | 0 | control |\n")
        calls = hypercall_doc.doc_hypercalls(text)
        self.assertEqual(calls, [hypercall_doc.Hypercall(0, "version", 0, "any"),
                                 hypercall_doc.Hypercall(1, "frob", 2, "control")])
        self.assertEqual([c.name for c in hypercall_doc.control_only(calls)], ["frob"])


if __name__ == "__main__":
    unittest.main()
