"""Compiling device-tree sources (.dts) to blobs (.dtb) with dtc at build time."""

def device_tree_blob(name, src, out = None, dtc_flags = [], **kwargs):
    """Compiles `src` with dtc into `out` (default: src with .dtb). A dtc warning fails
    the build, like a compiler warning; silence a specific one with dtc_flags
    (e.g. "-Wno-avoid_unnecessary_addr_size") when a test needs the construct."""
    if out == None:
        out = src[:-len(".dts")] + ".dtb" if src.endswith(".dts") else src + ".dtb"
    native.genrule(
        name = name,
        srcs = [src],
        outs = [out],
        cmd = ("log=$$(mktemp); dtc %s -I dts -O dtb -o $@ $< 2>$$log; status=$$?; " +
               "if [ $$status -ne 0 ] || [ -s $$log ]; then cat $$log >&2; rm -f $$log; " +
               "exit 1; fi; rm -f $$log") % " ".join(dtc_flags),
        **kwargs
    )
