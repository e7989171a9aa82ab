// Serializes the running system into a HostState stream (DESIGN.md, "The state stream"):
// every domain with its vCPUs (registers, VMCB state, XSAVE area, virtual APIC, MSRs),
// memory extents, console, and the host facts the next build needs (boot modules,
// handover region, preserved ranges, update history). Guest RAM is never copied: only
// where it is.
//
// Every vCPU must be quiescent (its domain paused, or the calling vCPU inside the
// hypervisor with its extended state saved).
#pragma once

#include "hv/boot/boot_info.hpp"
#include "lib/address.hpp"
#include "lib/result.hpp"
#include "migration_stream/stream_header.hpp"
#include "migration_stream/stream_size_bound.hpp"

namespace relay::liveupdate {

struct StateWriterInputs {
    stream::StreamKind kind = stream::StreamKind::kLiveUpdate;
    u16 schema_minor = 0;  // 0: this build's own
    const BootInfo* boot = nullptr;
    // Modules to leave out of the stream's boot modules (the stream this build booted with).
    u64 skip_module_mask = 0;  // bit i: module i (BootInfo::kMaxModules is 64)
    HostPhysRange handover;
    u8 producer_half = 0;
    // Extra preserved ranges (the stream's own buffer, the previous image).
    HostPhysRange stream_buffer;
    HostPhysRange previous_image;
    u64 tsc_khz = 0;
};

// Upper bound of the stream's size for the current system.
usize state_stream_bound(const StateWriterInputs& inputs);

// Writes the stream into `output`; returns its size.
Result<usize> write_state(const StateWriterInputs& inputs, void* scratch, usize scratch_size,
                          void* output, usize output_capacity);

}  // namespace relay::liveupdate
