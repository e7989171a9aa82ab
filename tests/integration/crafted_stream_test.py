"""A crafted state stream that gives a domain the hypervisor's own memory is refused
(issue 7). The stream (migration_stream:write_sample_stream, two running domains) is
handed to Relay at boot as a `relay.stream kind=restore` module, which Relay restores like
a stream handed back by a later build (docs/live-update.md, "Stream module"); with its
guest RAM placed on Relay's image or in the handover region, the verifier refuses it and
names the problem, and since there is no previous build to return to, the machine stops
with the panic status before any domain runs."""

import os
import subprocess

import relay_qemu
from relay_test_support import RelayTestCase, main, runfile

# The sample stream's handover region (migration_stream/testing/sample_host_state.cpp):
# 64 MiB at 128 MiB, producer half 0. The command line must fix the same one.
HANDOVER = "handover=64M@0x8000000"


class CraftedStreamTest(RelayTestCase):
    timeout = 60

    def boot_stream(self, guest_ram_base):
        path = os.path.join(self.work_dir, "crafted-%#x.stream" % guest_ram_base)
        subprocess.run([runfile("migration_stream/write_sample_stream"), path, "--kind", "restore",
                        "--no-iommu", "--guest-ram-base", "%#x" % guest_ram_base], check=True)
        module = relay_qemu.Module(path, "kind=restore", name="relay.stream")
        return self.boot(HANDOVER, [module], smp=2, memory="512M")

    def assert_refused(self, machine, reason):
        self.expect_line(machine, r"live-update: restore stream of \d+ bytes at ")
        self.expect_line(machine, r"live-update: this build cannot use the restore stream and cannot hand "
                                  r"it back: " + reason)
        self.expect_exit(machine, 37)
        output = machine.output()
        self.assertNotIn("stream verified", output)
        self.assertNotIn("restored Running", output)
        self.assertNotIn("(d1)", output)

    def test_guest_ram_on_the_hypervisor_image(self):
        # Relay is loaded at 2 MiB (hv/hv.ld, LOAD_PHYS); domain 1's 4 MiB start there.
        machine = self.boot_stream(0x200000)
        self.assert_refused(machine, r"preserved range 1 \(GuestRam of domid 1\) \[0x200000, 0x5fffff\] "
                                     r"overlaps hypervisor memory: this build's image \[0x200000, ")

    def test_guest_ram_in_the_handover_region(self):
        # Domain 1's RAM in the handover region's first half (where a previous build lives).
        machine = self.boot_stream(0x9000000)
        self.assert_refused(machine, r"preserved range 1 \(GuestRam of domid 1\) \[0x9000000, 0x93fffff\] "
                                     r"overlaps hypervisor memory: the handover region "
                                     r"\[0x8000000, \+0x4000000\)")


if __name__ == "__main__":
    main()
