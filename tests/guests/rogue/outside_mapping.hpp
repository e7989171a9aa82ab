// Makes a guest-physical address outside the domain's RAM addressable: Relay's page tables
// map only RAM, so a store "outside RAM" first needs a mapping of its own, or it would be
// a plain page fault inside the guest instead of a nested-paging fault the hypervisor
// must handle.
#pragma once

#include "lib/types.hpp"

namespace relay::guest::rogue {

// Identity-maps the 2 MiB page holding `address` (writable) in the running page tables,
// taking page-table pages from a static pool, and returns `address` as a pointer.
volatile u64* map_identity(u64 address);

}  // namespace relay::guest::rogue
