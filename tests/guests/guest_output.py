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

DMA_HEARTBEAT = re.compile(
    _PREFIX + r"dma: heartbeat (?P<count>\d+) (?:"
    r"(?P<ok>ok)"
    r"|(?P<corrupt>CORRUPT) at 0x(?P<address>[0-9a-f]+) expected 0x(?P<expected>[0-9a-f]{16}) "
    r"found 0x(?P<found>[0-9a-f]{16}) bad_words=(?P<bad_words>\d+) "
    r"in=(?P<place>destination|past-count|source) transfer=(?P<corrupt_transfer>\d+) "
    r"source=0x(?P<corrupt_source>[0-9a-f]+) destination=0x(?P<corrupt_destination>[0-9a-f]+)"
    r"|(?P<timeout>TIMEOUT) in=(?P<step>busy|to-device|from-device) "
    r"transfer=(?P<timeout_transfer>\d+) waited_ms=(?P<waited_ms>\d+) "
    r"command=0x(?P<command>[0-9a-f]+) source=0x(?P<timeout_source>[0-9a-f]+) "
    r"destination=0x(?P<timeout_destination>[0-9a-f]+))"
    r" transfers=(?P<transfers>\d+) bytes=(?P<bytes>\d+) errors=(?P<errors>\d+) "
    r"paused_in_flight=(?P<paused_in_flight>\d+) longest_pause_ms=(?P<longest_pause_ms>\d+) "
    r"device=(?P<device>[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7])$")

DMA_DEVICE = re.compile(
    _PREFIX + r"dma: found edu (?P<vendor>[0-9a-f]{4}):(?P<device_id>[0-9a-f]{4}) "
    r"at (?P<device>[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7])")

DMA_OUTSIDE = re.compile(
    _PREFIX + r"dma: outside transfer (?P<direction>to|from) 0x(?P<address>[0-9a-f]+) (?:"
    r"(?P<issued>issued)|completed after (?P<completed_ms>\d+) ms"
    r"|(?P<timeout>TIMEOUT) after (?P<timeout_ms>\d+) ms|(?P<not_started>not started))")

DMA_OUTSIDE_READ = re.compile(
    _PREFIX + r"dma: outside read: (?P<unexpected>UNEXPECTED: )?device buffer "
    r"(?P<contents>unchanged|all zero|all ones|holds the data written|changed|not checked)")

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


class DmaHeartbeat:
    """One dma heartbeat line. `status` is "ok", "CORRUPT" or "TIMEOUT"; the details of
    the first failed transfer since the previous heartbeat are set for the latter two."""

    def __init__(self, match):
        self.domid = int(match.group("domid"))
        self.count = int(match.group("count"))
        self.status = match.group("ok") or match.group("corrupt") or match.group("timeout")
        self.ok = self.status == "ok"
        self.transfers = int(match.group("transfers"))
        self.bytes = int(match.group("bytes"))
        self.errors = int(match.group("errors"))
        # Transfers with a DMA in flight while the guest was paused (30 ms or more; a live
        # update's blackout), and the longest such pause.
        self.paused_in_flight = int(match.group("paused_in_flight"))
        self.longest_pause_ms = int(match.group("longest_pause_ms"))
        self.device = match.group("device")
        self.address = int(match.group("address"), 16) if match.group("address") else None
        self.place = match.group("place")
        self.step = match.group("step")
        transfer = match.group("corrupt_transfer") or match.group("timeout_transfer")
        self.transfer = int(transfer) if transfer else None


def dma_heartbeats(lines, domid=None):
    """The dma heartbeat lines among `lines` (of one domain, if given), in order."""
    result = []
    for line in lines:
        match = DMA_HEARTBEAT.match(line)
        if match and (domid is None or int(match.group("domid")) == domid):
            result.append(DmaHeartbeat(match))
    return result


def check_dma_heartbeats(beats):
    """Problems with a dma domain's heartbeats, as strings (empty when all is well):
    counters consecutive from the first, transfers, bytes and errors never going back,
    one device, every beat ok."""
    problems = []
    for previous, current in zip(beats, beats[1:]):
        if current.count != previous.count + 1:
            problems.append("heartbeat %d follows %d" % (current.count, previous.count))
        if (current.transfers < previous.transfers or current.bytes < previous.bytes
                or current.errors < previous.errors
                or current.paused_in_flight < previous.paused_in_flight
                or current.longest_pause_ms < previous.longest_pause_ms):
            problems.append("heartbeat %d went back" % current.count)
        if current.device != previous.device:
            problems.append("heartbeat %d: device %s, was %s" % (current.count, current.device,
                                                                 previous.device))
    for beat in beats:
        if beat.status == "CORRUPT":
            problems.append("heartbeat %d: CORRUPT at %#x in %s (transfer %d)"
                            % (beat.count, beat.address, beat.place, beat.transfer))
        elif beat.status == "TIMEOUT":
            problems.append("heartbeat %d: TIMEOUT in %s (transfer %d)"
                            % (beat.count, beat.step, beat.transfer))
    return problems


# Relay's own live-update lines (docs/live-update.md, "Operator's view" and "Blackout"),
# anchored at "(relay) " so that nothing a guest prints can match them.
LIVE_UPDATE_PHASES = ("quiesce", "serialize", "handover", "kexec", "target boot", "verify",
                      "restore", "resume")

LIVE_UPDATE_BLACKOUT = re.compile(
    r"^\(relay\) live-update: blackout (?P<blackout>\d+) us \("
    + ", ".join(r"%s (\d+)" % phase for phase in LIVE_UPDATE_PHASES) + r" us\)$")

LIVE_UPDATE_COMPLETE = re.compile(
    r"^\(relay\) live-update: update (?P<number>\d+) from (?P<source>\S+) to (?P<target>\S+) "
    r"complete$")


def blackouts(lines):
    """Every completed update's blackout line, in order, as a dict: "blackout" and each of
    LIVE_UPDATE_PHASES, in microseconds."""
    result = []
    for match in map(LIVE_UPDATE_BLACKOUT.match, lines):
        if match:
            values = [int(value) for value in match.groups()]
            result.append(dict(zip(("blackout",) + LIVE_UPDATE_PHASES, values)))
    return result


def control_results(lines):
    """(command, result, detail) for every control result line."""
    return [(m.group("command"), m.group("result"), m.group("detail").strip())
            for m in map(CONTROL_RESULT.match, lines) if m]


def rogue_attacks(lines, domid=None):
    """The match objects of every rogue attack and check line."""
    return [m for m in map(ROGUE_ATTACK.match, lines)
            if m and (domid is None or int(m.group("domid")) == domid)]
