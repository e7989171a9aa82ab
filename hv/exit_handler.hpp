// #VMEXIT handling (AMD APM vol. 2 §15.9-15.13). One function decides what every exit
// means for the guest: emulate and continue, inject an exception, block the vCPU, or
// crash the domain with a report. Nothing a guest does here can harm the hypervisor or
// another domain.
#pragma once

#include "hv/vcpu.hpp"

namespace relay {

// Called with interrupts disabled right after #VMEXIT, on the vCPU's CPU.
void handle_exit(Vcpu& vcpu);

// Called before each VMRUN: pending event injection.
void prepare_entry(Vcpu& vcpu);

// Queues an exception for the guest (EVENTINJ), replacing nothing already queued.
void inject_exception(Vcpu& vcpu, u8 vector, bool has_error_code = false, u32 error_code = 0);

// Advances RIP past an emulated instruction of `length` bytes and ends any interrupt
// shadow (the emulated instruction consumed it). TCG's SVM has no NRIP save, so lengths
// are those of the only encodings that cause each exit.
void skip_instruction(Vcpu& vcpu, u64 length);

}  // namespace relay
