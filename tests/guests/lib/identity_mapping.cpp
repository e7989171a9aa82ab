#include "tests/guests/lib/identity_mapping.hpp"

#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/shutdown.hpp"

namespace relay::guest {

namespace {

// Enough for a PDPT and a page directory below an absent PML4 entry, twice: rogue maps one
// address per fatal attack, dma one BAR (usually a directory below Relay's PDPT). Every
// guest links this: keep it small.
alignas(4096) PageTable g_table_pool[4];
constinit PageTablePool g_pool(g_table_pool);

}  // namespace

volatile void* map_identity(u64 address, u64 size, Caching caching) {
    u64* pml4 = reinterpret_cast<u64*>(read_cr3() & kPageAddressMask);
    Status mapped = add_identity_mapping(pml4, address, size, caching, g_pool);
    if (!mapped.ok()) {
        panic("{}", mapped.error().message());
    }
    for (u64 page = align_down(address, kPageSize2M); page < address + size; page += kPageSize2M) {
        invalidate_page(page);
    }
    return reinterpret_cast<volatile void*>(address);
}

}  // namespace relay::guest
