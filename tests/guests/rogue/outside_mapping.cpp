#include "tests/guests/rogue/outside_mapping.hpp"

#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/shutdown.hpp"

namespace relay::guest::rogue {

namespace {

// Long-mode page-table entry bits (AMD APM vol. 2 §5.3.3).
constexpr u64 kPresent = 1ull << 0;
constexpr u64 kWritable = 1ull << 1;
constexpr u64 kLargePage = 1ull << 7;
constexpr u64 kAddressMask = 0x000F'FFFF'FFFF'F000ull;
constexpr u64 kLargePageSize = 2 * MiB;

// Enough for a PDPT and a page directory below an absent PML4 entry, twice.
alignas(4096) u64 g_table_pool[4][512];
usize g_tables_used = 0;

u64* table_at(u64 entry) {
    return reinterpret_cast<u64*>(entry & kAddressMask);
}

// The table an entry points to, creating it when the entry is absent.
u64* next_table(u64* entry) {
    if ((*entry & kPresent) == 0) {
        if (g_tables_used == 4) {
            panic("map_identity: out of page-table pages");
        }
        u64* table = g_table_pool[g_tables_used++];
        *entry = reinterpret_cast<uptr>(table) | kPresent | kWritable;
    }
    return table_at(*entry);
}

}  // namespace

volatile u64* map_identity(u64 address) {
    u64* pml4 = table_at(read_cr3());
    u64* pdpt = next_table(&pml4[(address >> 39) & 511]);
    u64* pdpt_entry = &pdpt[(address >> 30) & 511];
    if ((*pdpt_entry & (kPresent | kLargePage)) != (kPresent | kLargePage)) {
        u64* directory = next_table(pdpt_entry);
        directory[(address >> 21) & 511] =
            align_down(address, kLargePageSize) | kPresent | kWritable | kLargePage;
    }
    invalidate_page(address);
    return reinterpret_cast<volatile u64*>(address);
}

}  // namespace relay::guest::rogue
