// Guest-virtual to guest-physical translation through the guest's own page tables, for
// emulating instructions whose memory operands the hardware does not translate for us
// (string I/O; TCG's SVM has no decode assists). Reads the tables through the domain's
// checked guest-memory access, so a hostile table can only make the walk fail.
#pragma once

#include "hv/arch/x86/svm/vmcb.hpp"
#include "lib/address.hpp"
#include "lib/result.hpp"

namespace relay {

class Domain;

struct GuestPageFault {
    u64 address = 0;
    u32 error_code = 0;  // #PF error code (AMD APM vol. 2 §8.4.2)
};

// Translates `address` for an access of the vCPU in `vmcb`'s current mode: paging off
// (physical = virtual) or 4-level long-mode paging. Returns false and fills `fault` when
// the access would fault (not present, write to read-only, user to supervisor page), or
// `unsupported` for a paging mode Relay does not emulate (legacy/PAE 32-bit).
bool translate_guest_virtual(const Domain& domain, const svm::Vmcb& vmcb, u64 address, bool write,
                             GuestPhysAddr* out, GuestPageFault* fault, bool* unsupported);

}  // namespace relay
