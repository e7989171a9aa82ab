// What the boot path learned that later parts of the hypervisor need (live update and
// state export): the boot information, the options, where this image and the handover
// region are, the ACPI RSDP, the TSC rate, and the image's pristine .data.
#pragma once

#include "hv/boot/boot_info.hpp"
#include "hv/boot/command_line.hpp"
#include "lib/address.hpp"

namespace relay {

struct BootState {
    const BootInfo* boot = nullptr;
    const CommandLineOptions* options = nullptr;
    HostPhysRange image;     // this image, .bss included
    HostPhysRange handover;  // both halves
    u8 rsdp[36] = {};
    usize rsdp_length = 0;
    u64 tsc_hz = 0;
    u64 boot_tsc = 0;     // TSC when this build's 64-bit code began
    u64 rtc_unix_ns = 0;  // wall clock at rtc_tsc (CMOS RTC), 0 if unknown
    u64 rtc_tsc = 0;
    const u8* pristine_data = nullptr;  // .data as loaded (hv/main.cpp)
    usize pristine_data_length = 0;
    int incoming_stream_module = -1;  // the stream this build booted from, if any
};

const BootState& boot_state();

// Wall-clock time now (ns since 1970), or 0 when the RTC could not be read.
u64 unix_time_ns();

}  // namespace relay
