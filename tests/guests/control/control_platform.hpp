// What the control script interpreter needs from the machine it runs on: the hypercalls
// of hv/abi/hypercall.h, time, and a line of output. The guest implements it with
// hypercalls (control_main.cpp); host tests with a fake hypervisor that records every
// call, so the interpreter's whole behaviour is tested on the host.
#pragma once

#include <span>
#include <string_view>

#include "hv/abi/hypercall.h"
#include "lib/types.hpp"

namespace relay::guest::control {

class ControlPlatform {
public:
    // Each returns the hypercall's RAX: >= 0 success, < 0 a RELAY_E* code.
    virtual i64 version() = 0;
    virtual i64 domain_list(relay_domain_entry* entries, u64 capacity) = 0;
    virtual i64 domain_info(u64 domid, relay_domain_info* info) = 0;
    virtual i64 domain_pause(u64 domid) = 0;
    virtual i64 domain_unpause(u64 domid) = 0;
    virtual i64 domain_destroy(u64 domid) = 0;
    // Does not return when the hypervisor shuts the domain down; a fake returns >= 0.
    virtual i64 shutdown(u64 reason) = 0;
    // Live update (ABI 1.1). live_update returns 0 in the new build.
    virtual i64 kexec_stage(const void* image, u64 size) = 0;
    virtual i64 kexec_unload() = 0;
    virtual i64 live_update() = 0;
    virtual i64 state_export(void* buffer, u64 capacity) = 0;

    // The domain's ramdisk module (a cpio archive), empty without one.
    virtual std::span<const u8> ramdisk() = 0;
    // Memory a state export is written into.
    virtual std::span<u8> export_buffer() = 0;

    virtual void sleep_microseconds(u64 microseconds) = 0;
    virtual u64 monotonic_microseconds() = 0;

    // One complete line of output, without its '\n'.
    virtual void write_line(std::string_view line) = 0;

protected:
    ~ControlPlatform() = default;
};

}  // namespace relay::guest::control
