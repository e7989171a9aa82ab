// Hypercall dispatch (docs/hypercalls.md; numbers and layouts in hv/abi/hypercall.h).
// One table lists every hypercall with its argument count and the role it needs; the
// dispatcher enforces both (unused arguments must be zero) before any handler runs.
#pragma once

#include "hv/vcpu.hpp"
#include "lib/result.hpp"

namespace relay {

struct HypercallDescriptor {
    u32 number;
    const char* name;
    u8 argument_count;
    u32 required_permission;  // 0: any domain; RELAY_PERMISSION_* otherwise
    i64 (*handler)(Vcpu& caller, const u64* arguments);
};

// The table (for docs and tests).
const HypercallDescriptor* hypercall_table(usize* count);

// VMMCALL exit: decodes RAX/RDI/RSI/RDX/R10/R8/R9, dispatches, writes RAX.
void handle_hypercall(Vcpu& vcpu);

// Maps an Error to the ABI's negative codes.
i64 hypercall_error(const Error& error);

}  // namespace relay
