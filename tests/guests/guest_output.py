"""The test guests' console lines, parsed (docs/testing.md, "Line formats").

Relay prints every line a domain writes as "(dN) LINE"; these helpers take whole console
lines, prefix included, and anchor at its start, so that text a guest prints in the middle
of a line (rogue's spoofing attempts) never matches. Used by the QEMU integration tests
of Relay (tests/integration).
"""

import base64
import re

_PREFIX = r"^\(d(?P<domid>\d+)\) "

HEARTBEAT = re.compile(
    _PREFIX + r"memtest: heartbeat (?P<count>\d+) (?P<status>ok|CORRUPT)"
    r"(?: at 0x(?P<address>[0-9a-f]+) expected 0x(?P<expected>[0-9a-f]+) "
    r"found 0x(?P<found>[0-9a-f]+) bad_words=(?P<bad_words>\d+) vcpu=(?P<vcpu>\d+))?"
    r" pass=(?P<passes>\d+) checked=(?P<checked>\d+) bytes vcpus=(?P<vcpus>\d+) "
    r"passes=(?P<vcpu_passes>[\d,]+) errors=(?P<errors>\d+)$")

CONTROL_RESULT = re.compile(
    _PREFIX + r"control: (?P<command>.+?): (?P<result>ok|error|UNEXPECTED)(?P<detail>.*)$")

ROGUE_ATTACK = re.compile(
    _PREFIX + r"rogue: (?P<kind>attack|check) (?P<group>[a-z-]+)/(?P<name>.+): "
    r"(?P<observed>.+) \(expected (?P<expected>.+)\) (?P<verdict>ok|UNEXPECTED)$")

ROGUE_SUMMARY = re.compile(
    _PREFIX + r"rogue: (?P<expected>\d+) attacks refused as expected, "
    r"(?P<unexpected>\d+) unexpected$")

ROGUE_FATAL = re.compile(
    _PREFIX + r"rogue: now (?P<attack>writing outside RAM|reading outside RAM|triple-faulting)"
    r"(?: at 0x(?P<address>[0-9a-f]+))?")

EXCEPTION = re.compile(
    _PREFIX + r"(?P<program>[a-z]+): exception (?P<mnemonic>#?[A-Z?]+) \((?P<description>[^,]+), "
    r"vector (?P<vector>\d+)\) error 0x(?P<error>[0-9a-f]+) at rip 0x(?P<rip>[0-9a-f]+) "
    r"on vcpu (?P<vcpu>\d+)$")


EXPORT_DATA = re.compile(_PREFIX + r"control: export data (?P<data>[A-Za-z0-9+/=]+)$")

EXPORT_DONE = re.compile(
    _PREFIX + r"control: (?:expect \S+ )?export: ok (?P<size>\d+) bytes fnv1a64=(?P<fnv>[0-9a-f]{16})")


def fnv1a64(data):
    value = 0xcbf29ce484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return value


def exports(lines, domid=1):
    """The state streams the control guest exported (its `export` command), in order, as
    bytes; each is checked against the size and checksum the guest printed."""
    streams = []
    chunks = []
    for line in lines:
        match = EXPORT_DATA.match(line)
        if match and int(match.group("domid")) == domid:
            chunks.append(match.group("data"))
            continue
        match = EXPORT_DONE.match(line)
        if match and int(match.group("domid")) == domid:
            data = base64.b64decode("".join(chunks))
            chunks = []
            if len(data) != int(match.group("size")) or fnv1a64(data) != int(match.group("fnv"), 16):
                raise ValueError("export of %s bytes does not match its checksum" % match.group("size"))
            streams.append(data)
    return streams


class Heartbeat:
    """One memtest heartbeat line."""

    def __init__(self, match):
        self.domid = int(match.group("domid"))
        self.count = int(match.group("count"))
        self.ok = match.group("status") == "ok"
        self.address = int(match.group("address"), 16) if match.group("address") else None
        self.passes = int(match.group("passes"))
        self.checked = int(match.group("checked"))
        self.vcpus = int(match.group("vcpus"))
        self.vcpu_passes = [int(p) for p in match.group("vcpu_passes").split(",")]
        self.errors = int(match.group("errors"))


def heartbeats(lines, domid=None):
    """The heartbeat lines among `lines` (of one domain, if given), in order."""
    result = []
    for line in lines:
        match = HEARTBEAT.match(line)
        if match and (domid is None or int(match.group("domid")) == domid):
            result.append(Heartbeat(match))
    return result


def check_heartbeats(beats):
    """Problems with a domain's heartbeats, as strings (empty when all is well): every
    beat ok, counters consecutive from the first, passes and bytes never going back. A
    domain whose memory survived a pause or a live update keeps counting."""
    problems = []
    for previous, current in zip(beats, beats[1:]):
        if current.count != previous.count + 1:
            problems.append("heartbeat %d follows %d" % (current.count, previous.count))
        if current.passes < previous.passes or current.checked < previous.checked:
            problems.append("heartbeat %d went back" % current.count)
    problems += ["heartbeat %d: CORRUPT at %#x" % (b.count, b.address) for b in beats
                 if not b.ok]
    return problems


def control_results(lines):
    """(command, result, detail) for every control result line."""
    return [(m.group("command"), m.group("result"), m.group("detail").strip())
            for m in map(CONTROL_RESULT.match, lines) if m]


def rogue_attacks(lines, domid=None):
    """The match objects of every rogue attack and check line."""
    return [m for m in map(ROGUE_ATTACK.match, lines)
            if m and (domid is None or int(m.group("domid")) == domid)]
