// The running build's side of a live update (DESIGN.md, "Live update, step by step",
// steps 1-5) and of a state export. Called from the hypercall table (hv/hypercall.cpp)
// on the calling vCPU's CPU, interrupts disabled.
#pragma once

#include "hv/vcpu.hpp"
#include "lib/types.hpp"

namespace relay::liveupdate {

// kexec_stage(buffer, size): validates the image in the caller's memory and stages it in
// the free half of the handover region.
i64 stage(Vcpu& caller, u64 buffer, u64 size);
// kexec_unload(): forgets the staged image.
i64 unstage(Vcpu& caller);
// live_update(): pre-flight, quiesce, serialize, hand over. Returns only on failure
// (nothing was lost: every domain runs on); success returns in the new build.
i64 live_update(Vcpu& caller);
// state_export(buffer, capacity): the current state as an export stream, without
// updating. capacity 0 asks how many bytes to provide.
i64 state_export(Vcpu& caller, u64 buffer, u64 capacity);

}  // namespace relay::liveupdate
