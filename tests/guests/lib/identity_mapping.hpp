// Makes a guest-physical address outside the domain's RAM addressable: Relay's page tables
// map only RAM, so a store "outside RAM" (rogue) or an access to a device's memory BAR
// (dma) first needs a mapping of its own, or it would be a plain page fault inside the
// guest instead of reaching the hypervisor or the device. Guest-only: edits the running
// page tables (the editing itself is page_tables.hpp, tested on the host).
#pragma once

#include "lib/types.hpp"
#include "tests/guests/lib/page_tables.hpp"

namespace relay::guest {

// Identity-maps the 2 MiB pages covering [address, address + size) (writable, with the
// given caching) in the page tables CR3 points to, taking new page-table pages from a
// static pool, invalidates the TLB for them and returns `address` as a pointer. Panics
// when that is impossible (the range is not below 2^47, overlaps an existing mapping such
// as RAM, or the pool is used up). Not safe against another vCPU editing the page tables
// at the same time.
volatile void* map_identity(u64 address, u64 size, Caching caching);

}  // namespace relay::guest
