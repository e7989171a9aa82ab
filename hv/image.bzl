"""relay_image: links one Relay image (hv/BUILD.bazel).

An image is the hypervisor libraries plus a build variant (hv/variants/*.cpp) and a
compatibility note generated at build time (tools/build/compat_note.cpp). It is linked
twice: `<name>_stage1.elf` with an empty symbol table, then `<name>.elf` with the table
generated from the first link (hv/symbols.hpp); the table lies after all other read-only
data, so code addresses are identical in both links (tests/image checks this).
"""

load("//bazel:relay.bzl", "relay_freestanding_library")

IMAGE_LINKOPTS = [
    "-nostdlib",
    "-static",
    "-no-pie",
    "-fuse-ld=bfd",
    "-Wl,-T,$(location //hv:hv.ld)",
    "-Wl,-z,max-page-size=0x1000",
    "-Wl,--build-id=sha1",
    "-Wl,--no-dynamic-linker",
    "-Wl,--fatal-warnings",
]

def relay_image(name, variant, note_args = []):
    native.genrule(
        name = name + "_note_source",
        outs = [name + "_note.S"],
        cmd = "$(location //tools/build:compat_note) %s > $@" % " ".join(note_args),
        tools = ["//tools/build:compat_note"],
    )
    relay_freestanding_library(
        name = name + "_variant",
        srcs = [variant, ":" + name + "_note_source"],
        deps = [":core"],
    )
    parts = [":image_main", ":" + name + "_variant"]
    native.cc_binary(
        name = name + "_stage1.elf",
        additional_linker_inputs = ["//hv:hv.ld"],
        features = ["-supports_start_end_lib"],
        linkopts = IMAGE_LINKOPTS,
        deps = parts + [":symbols_empty"],
    )
    native.genrule(
        name = name + "_symbols_source",
        srcs = [":" + name + "_stage1.elf"],
        outs = [name + "_symbols.S"],
        cmd = ("nm -n -S --defined-only -C $(location :%s_stage1.elf) > $(@D)/%s_symbols.nm && " +
               "python3 $(location //tools/build:gen_symbols.py) $(@D)/%s_symbols.nm $@") % (name, name, name),
        tools = ["//tools/build:gen_symbols.py"],
    )
    relay_freestanding_library(
        name = name + "_symbols",
        srcs = [":" + name + "_symbols_source"],
    )
    native.cc_binary(
        name = name + ".elf",
        additional_linker_inputs = ["//hv:hv.ld"],
        features = ["-supports_start_end_lib"],
        linkopts = IMAGE_LINKOPTS,
        deps = parts + [":" + name + "_symbols"],
    )
