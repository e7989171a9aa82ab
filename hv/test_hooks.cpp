#include "hv/test_hooks.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/console.hpp"
#include "hv/domain.hpp"
#include "hv/memory/layout.hpp"

namespace relay {

namespace {
u16 corrupt_domid = 0;
u64 corrupt_at_tsc = 0;
}  // namespace

void test_hooks_arm_corruption(u16 domid, u64 delay_microseconds) {
    corrupt_domid = domid;
    corrupt_at_tsc = x86::rdtsc() + x86::microseconds_to_tsc(delay_microseconds);
}

void test_hooks_tick() {
    if (corrupt_domid == 0 || x86::rdtsc() < corrupt_at_tsc) {
        return;
    }
    u16 domid = corrupt_domid;
    corrupt_domid = 0;
    Domain* domain = domain_find(domid);
    if (domain == nullptr || domain->ram_bytes == 0) {
        log_warning("test: no domain {} to corrupt", domid);
        return;
    }
    // Three quarters into RAM: inside what memtest checks, in its second vCPU's part.
    GuestPhysAddr address(align_down(domain->ram_bytes / 4 * 3, 8));
    u64 word = 0;
    if (!domain->copy_from_guest(&word, address, sizeof(word)).ok()) {
        return;
    }
    word ^= 1;
    (void)domain->copy_to_guest(address, &word, sizeof(word));
    log_warning("test: flipped bit 0 of the word at guest-physical {:#x} in domain {}",
                address.raw(), domid);
}

}  // namespace relay
