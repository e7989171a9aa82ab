// The purgatory page (kexec/purgatory.S): leaves long mode and enters the next Relay
// image, or parks a CPU with paging off until the next image sends it INIT.
#pragma once

#include "lib/address.hpp"

namespace relay::kexec {

struct PurgatoryJump {
    HostPhysAddr entry;      // the next image's 32-bit entry
    HostPhysAddr info;       // its multiboot2 information
    HostPhysAddr copy_from;  // pristine .data of the previous image (length 0: no copy)
    HostPhysAddr copy_to;
    u32 copy_length = 0;
    // The next image must still have this checksum (kexec/image_checksum.hpp) over
    // [check_base, check_base + check_length), or purgatory enters the fallback instead.
    // check_length 0: no check. All below 4 GiB; check_length a multiple of 4.
    HostPhysAddr check_base;
    u32 check_length = 0;
    u32 check_expected = 0;
    HostPhysAddr fallback_entry;
    HostPhysAddr fallback_info;
};

// Writes the purgatory code and its data into the page at `page` (physical, below
// 4 GiB), reached through `page_virtual` now.
void install_purgatory(HostPhysAddr page, void* page_virtual, const PurgatoryJump& jump);

// Runs the purgatory's jump with `cr3` (an address space that identity-maps the page
// and maps the caller's stack); does not return.
[[noreturn]] void purgatory_jump(HostPhysAddr page, u64 cr3);

// Parks the calling CPU in the purgatory page with paging off; does not return.
[[noreturn]] void purgatory_park(HostPhysAddr page, u64 cr3);

}  // namespace relay::kexec
