"""Writes Hyperlaunch configurations (docs/hyperlaunch.md) for tests, the demo and the
benchmarks: a control domain running a script, with the update images as its ramdisk, and
any number of memtest domains.

Module numbering: 1 control.elf, 2 memtest.elf, 3 the update images (cpio); 2 for the
images when there is no memtest domain.
"""

import os
import subprocess

CONTROL_ELF = "bazel-bin/tests/guests/control.elf"
MEMTEST_ELF = "bazel-bin/tests/guests/memtest.elf"
UPDATE_IMAGES = "bazel-bin/hv/update_images.cpio"


def _uuid(domid):
    return "52 45 4c 41 59 00 40 00 80 00 00 00 00 00 %02x %02x" % (domid >> 8, domid & 0xFF)


def _memory(kib):
    return "<0x%x 0x%x>" % (kib >> 32, kib & 0xFFFFFFFF)


def control_domain(script, domid=1, name="control", privileged=True, memory_kib=16 * 1024,
                   ramdisk=True, ramdisk_index=3):
    """A control guest node running `script` (docs/testing.md, "control"). Without memtest
    domains the ramdisk is module 2 (`ramdisk_index`): modules may not have gaps."""
    roles = "                permissions = <0x1>;\n                functions = <0x1>;\n" if privileged else ""
    node = """            %(name)s {
                compatible = "xen,domain";
                domid = <%(domid)d>;
%(roles)s                mode = <0x4>;
                domain-uuid = [%(uuid)s];
                cpus = <1>;
                memory = %(memory)s;
                kernel {
                    compatible = "module,kernel", "multiboot,module";
                    mb-index = <1>;
                    bootargs = "script=%(script)s";
                    relay,file = "%(elf)s";
                };
""" % {"name": name, "domid": domid, "roles": roles, "uuid": _uuid(domid),
       "memory": _memory(memory_kib), "script": script, "elf": CONTROL_ELF}
    if ramdisk:
        node += """                ramdisk {
                    compatible = "module,ramdisk", "multiboot,module";
                    mb-index = <%d>;
                    relay,file = "%s";
                };
""" % (ramdisk_index, UPDATE_IMAGES)
    return node + "            };\n"


def memtest_domain(domid, memory_kib=32 * 1024, cpus=1, bootargs=None, name=None):
    """A memtest node (seed = domid unless bootargs say otherwise)."""
    return guest_domain(name or "memtest%d" % domid, domid, 2, MEMTEST_ELF,
                        bootargs if bootargs is not None else "seed=%d" % domid, memory_kib, cpus)


ROGUE_ELF = "bazel-bin/tests/guests/rogue.elf"
DMA_ELF = "bazel-bin/tests/guests/dma.elf"


def guest_domain(name, domid, mb_index, elf, bootargs, memory_kib=16 * 1024, cpus=1,
                 passthrough=()):
    """An unprivileged domain running `elf` (multiboot module `mb_index`), with the PCI
    functions `passthrough` ("BB:DD.F") assigned to it (relay,passthrough)."""
    assigned = ""
    if passthrough:
        assigned = "                relay,passthrough = %s;\n" % ", ".join('"%s"' % f for f in passthrough)
    return """            %(name)s {
                compatible = "xen,domain";
                domid = <%(domid)d>;
                mode = <0x4>;
                domain-uuid = [%(uuid)s];
                cpus = <%(cpus)d>;
                memory = %(memory)s;
%(assigned)s                kernel {
                    compatible = "module,kernel", "multiboot,module";
                    mb-index = <%(index)d>;
                    bootargs = "%(bootargs)s";
                    relay,file = "%(elf)s";
                };
            };
""" % {"name": name, "domid": domid, "uuid": _uuid(domid), "cpus": cpus,
       "memory": _memory(memory_kib), "index": mb_index, "bootargs": bootargs, "elf": elf,
       "assigned": assigned}


DMA_ELF = "bazel-bin/tests/guests/dma.elf"


def dma_domain(domid, functions, mb_index, bootargs="", memory_kib=16 * 1024, name="dma"):
    """A dma guest node (docs/testing.md, "dma") with `functions` (a list of "BB:DD.F")
    assigned through relay,passthrough."""
    node = guest_domain(name, domid, mb_index, DMA_ELF, bootargs, memory_kib)
    listed = ", ".join('"%s"' % f for f in functions)
    return node.replace("                kernel {",
                        "                relay,passthrough = %s;\n                kernel {" % listed, 1)


def configuration(nodes):
    return """/dts-v1/;
/ {
    chosen {
        hypervisor {
            compatible = "hypervisor,xen";
%s        };
    };
};
""" % "".join(nodes)


def compile_configuration(nodes, directory, name="config"):
    """Writes NAME.dts and compiles NAME.dtb with dtc; returns the .dtb path."""
    source = os.path.join(directory, name + ".dts")
    with open(source, "w") as out:
        out.write(configuration(nodes))
    blob = os.path.join(directory, name + ".dtb")
    subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", blob, source], check=True)
    return blob
