"""The hypercall list of docs/hypercalls.md ("Hypercalls" table) and of the hypervisor
(hv/abi/hypercall.h numbers, hv/hypercall.cpp dispatch table), read from their text so
tests can hold the three to each other and derive what to try from the document."""

import re
from collections import namedtuple

Hypercall = namedtuple("Hypercall", "number name arguments role")

_DOC_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*`(\w+)`[^|]*\|([^|]*)\|.*\|\s*([^|]+?)\s*\|\s*$")
_HEADER_DEFINE = re.compile(r"^#define\s+RELAY_HC_(\w+)\s+(\d+)\b", re.M)
_TABLE_ROW = re.compile(r"\{\s*RELAY_HC_(\w+)\s*,\s*\"(\w+)\"\s*,\s*(\d+)\s*,\s*([\w|\s]+?)\s*,\s*(\w+)\s*\}")


def doc_hypercalls(text):
    """Rows of the table under "## Hypercalls": number, name, argument count (the
    backquoted names in the arguments column; "—" is none) and the role column as
    written ("control", "any", "any for its own domid, control for others")."""
    section = text.split("\n## Hypercalls", 1)
    if len(section) != 2:
        raise ValueError("docs/hypercalls.md has no \"## Hypercalls\" section")
    calls = []
    for line in section[1].split("\n### ", 1)[0].splitlines():
        match = _DOC_ROW.match(line.replace("\\|", "/"))
        if match:
            arguments = len(re.findall(r"`\w+`", match.group(3)))
            calls.append(Hypercall(int(match.group(1)), match.group(2), arguments,
                                   match.group(4).strip()))
    if not calls:
        raise ValueError("docs/hypercalls.md: no rows in the Hypercalls table")
    return calls


def control_only(calls):
    """Hypercalls whose role is exactly "control": every caller without it gets EPERM."""
    return [call for call in calls if call.role == "control"]


def header_numbers(text):
    """RELAY_HC_* numbers of hv/abi/hypercall.h by upper-case name (COUNT included)."""
    return {name: int(number) for name, number in _HEADER_DEFINE.findall(text)}


def dispatch_table(hypercall_cpp, header_text):
    """The rows of kTable in hv/hypercall.cpp, numbers resolved through the header."""
    numbers = header_numbers(header_text)
    table = hypercall_cpp.split("kTable[] = {", 1)
    if len(table) != 2:
        raise ValueError("hv/hypercall.cpp: no kTable")
    rows = []
    for constant, name, arguments, permission, _ in _TABLE_ROW.findall(table[1].split("};", 1)[0]):
        role = "control" if "RELAY_PERMISSION_CONTROL" in permission else (
            "any" if permission.strip() == "0" else permission.strip())
        rows.append(Hypercall(numbers[constant], name, int(arguments), role))
    return rows
