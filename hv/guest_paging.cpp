#include "hv/guest_paging.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/domain.hpp"

namespace relay {

namespace {
constexpr u64 kPresent = 1ull << 0;
constexpr u64 kWrite = 1ull << 1;
constexpr u64 kUser = 1ull << 2;
constexpr u64 kLarge = 1ull << 7;
constexpr u64 kAddressMask = 0x000F'FFFF'FFFF'F000ull;
constexpr u32 kFaultPresent = 1u << 0;
constexpr u32 kFaultWrite = 1u << 1;
constexpr u32 kFaultUser = 1u << 2;
}  // namespace

bool translate_guest_virtual(const Domain& domain, const svm::Vmcb& vmcb, u64 address, bool write,
                             GuestPhysAddr* out, GuestPageFault* fault, bool* unsupported) {
    *unsupported = false;
    if ((vmcb.cr0 & x86::kCr0Pg) == 0) {
        *out = GuestPhysAddr(address & 0xFFFF'FFFFull);
        return true;
    }
    if ((vmcb.efer & x86::kEferLma) == 0) {
        *unsupported = true;  // 32-bit paging modes: Relay runs 64-bit guests
        return false;
    }
    bool user = vmcb.cpl == 3;
    bool write_protect = (vmcb.cr0 & x86::kCr0Wp) != 0;
    u32 error = (write ? kFaultWrite : 0) | (user ? kFaultUser : 0);
    u64 table = vmcb.cr3 & kAddressMask;
    bool writable = true;
    bool user_allowed = true;
    for (int level = 3; level >= 0; --level) {
        u64 index = (address >> (12 + 9 * level)) & 0x1FF;
        u64 entry = 0;
        if (!domain.copy_from_guest(&entry, GuestPhysAddr(table + index * 8), sizeof(entry)).ok()) {
            *unsupported = true;  // the guest's tables point outside its RAM
            return false;
        }
        if ((entry & kPresent) == 0) {
            *fault = GuestPageFault{address, error};
            return false;
        }
        writable = writable && (entry & kWrite) != 0;
        user_allowed = user_allowed && (entry & kUser) != 0;
        bool leaf = level == 0 || ((level == 1 || level == 2) && (entry & kLarge) != 0);
        if (leaf) {
            if ((user && !user_allowed) || (write && !writable && (user || write_protect))) {
                *fault = GuestPageFault{address, error | kFaultPresent};
                return false;
            }
            u64 page = 1ull << (12 + 9 * level);
            *out = GuestPhysAddr((entry & kAddressMask & ~(page - 1)) | (address & (page - 1)));
            return true;
        }
        table = entry & kAddressMask;
    }
    return false;
}

}  // namespace relay
