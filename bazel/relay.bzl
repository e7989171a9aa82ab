"""Relay's build configurations, in one place.

Two configurations exist side by side in one Bazel build:
  * freestanding: the hypervisor image and everything linked into it, and the test
    guests (tests/guests, with the GUEST_* additions below);
  * hosted: host tools (relay-dump, relay-config) and tests.
Code shared by both (schema, migration_stream, config parsing, table logic) is declared
once with `relay_shared_library` and compiled twice.
"""

# Warnings are errors everywhere.
WARNING_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wvla",
    "-Wundef",
]

# Flags valid for C and C++ in freestanding code (ENVIRONMENT.md lists why each is here).
FREESTANDING_COMMON_COPTS = [
    "-ffreestanding",
    "-fno-pic",
    "-fno-pie",
    "-mcmodel=kernel",
    "-mno-red-zone",
    "-mno-mmx",
    "-mno-sse",
    "-mno-sse2",
    "-mno-avx",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-omit-frame-pointer",
    "-fno-strict-aliasing",
    "-fno-sanitize=all",
    # Optimised in every Bazel mode: the hypervisor runs under QEMU TCG in tests, where
    # -O0 code makes a live update's verify and restore several times slower, and what
    # is tested should be what ships. Frame pointers stay for the stack traces.
    "-O2",
    "-DRELAY_FREESTANDING=1",
]

# C++-only freestanding flags (C files would warn about them).
FREESTANDING_CXX_COPTS = [
    "-fno-exceptions",
    "-fno-rtti",
    "-fno-threadsafe-statics",
    "-fno-use-cxa-atexit",
    # FlatBuffers' headers use assert(); the hypervisor routes it to its own panic.
    "-DFLATBUFFERS_ASSERT=RELAY_FLATBUFFERS_ASSERT",
    "-DFLATBUFFERS_ASSERT_INCLUDE=\\\"lib/flatbuffers_assert.hpp\\\"",
]

FREESTANDING_CXX_ALL = FREESTANDING_COMMON_COPTS + FREESTANDING_CXX_COPTS + WARNING_COPTS

HOSTED_COPTS = WARNING_COPTS + [
    "-DRELAY_HOSTED=1",
]

# Test guests (tests/guests, docs/testing.md) compile like the hypervisor, optimised: they
# run under QEMU TCG, where memtest's loops at -O0 would be too slow to keep its heartbeat.
# -mcmodel=kernel stays: guests link at 1 MiB, whose addresses fit the model's
# sign-extended 32-bit relocations, so they share //lib's freestanding objects.
GUEST_CXX_COPTS = FREESTANDING_CXX_ALL + [
    "-DRELAY_GUEST=1",
]

# A guest is a static ELF loaded by the domain builder at its physical addresses
# (hv/abi/start_info.h): no dynamic linker, no libc, 4 KiB segment alignment so that the
# image is small and starts at exactly 1 MiB.
GUEST_LINKOPTS = [
    "-nostdlib",
    "-static",
    "-no-pie",
    "-fuse-ld=bfd",
    "-Wl,-z,max-page-size=0x1000",
    "-Wl,--no-dynamic-linker",
    "-Wl,--build-id=none",
    "-Wl,--fatal-warnings",
]

GUEST_LINKER_SCRIPT = "//tests/guests/lib:guest.ld"

def relay_freestanding_library(name, copts = [], deps = [], **kwargs):
    """A freestanding library: linked into the hypervisor image (or a test guest)."""
    native.cc_library(
        name = name,
        copts = FREESTANDING_CXX_ALL + copts,
        deps = deps,
        linkstatic = True,
        alwayslink = True,
        **kwargs
    )

def relay_shared_library(name, copts = [], deps = [], freestanding_deps = None, hosted_deps = None, **kwargs):
    """A library compiled twice: `name` (hosted) and `name_freestanding`.

    `deps` name hosted targets; the freestanding variant depends on the
    `_freestanding` twin of each (override with `freestanding_deps`).
    """
    if freestanding_deps == None:
        freestanding_deps = [_freestanding_twin(d) for d in deps]
    native.cc_library(
        name = name,
        copts = HOSTED_COPTS + copts,
        deps = deps + (hosted_deps or []),
        **kwargs
    )
    native.cc_library(
        name = name + "_freestanding",
        copts = FREESTANDING_CXX_ALL + copts,
        deps = freestanding_deps,
        linkstatic = True,
        alwayslink = True,
        **kwargs
    )

def _freestanding_twin(label):
    if ":" in label:
        return label + "_freestanding"
    return label + ":" + label.split("/")[-1] + "_freestanding"

def relay_host_test(name, copts = [], deps = [], tags = [], **kwargs):
    """A GoogleTest unit test of host-compilable code (tagged `unit`: the sanitizer run
    builds exactly these)."""
    native.cc_test(
        name = name,
        copts = HOSTED_COPTS + copts,
        deps = deps + ["//third_party/system:gtest_main"],
        tags = tags + ["unit"],
        **kwargs
    )

def relay_guest_library(name, copts = [], deps = [], **kwargs):
    """A library linked into test guests only (tests/guests)."""
    native.cc_library(
        name = name,
        copts = GUEST_CXX_COPTS + copts,
        deps = deps,
        linkstatic = True,
        alwayslink = True,
        **kwargs
    )

def relay_guest_elf(name, deps, **kwargs):
    """A test guest kernel: a static ELF linked at 1 MiB by tests/guests/lib/guest.ld.

    `deps` must provide `guest_main` and `kGuestProgram` (tests/guests/lib/guest.hpp) and
    include //tests/guests/lib:guest, which provides the entry point.
    """
    native.cc_binary(
        name = name,
        additional_linker_inputs = [GUEST_LINKER_SCRIPT],
        features = ["-supports_start_end_lib"],
        linkopts = GUEST_LINKOPTS + ["-Wl,-T,$(location %s)" % GUEST_LINKER_SCRIPT],
        deps = deps,
        **kwargs
    )
