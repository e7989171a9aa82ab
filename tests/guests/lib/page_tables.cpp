#include "tests/guests/lib/page_tables.hpp"

namespace relay::guest {

namespace {

u64 caching_bits(Caching caching) {
    return caching == Caching::kUncached ? kPageWriteThrough | kPageCacheDisable : 0;
}

u64* table_at(u64 entry) {
    return reinterpret_cast<u64*>(static_cast<uptr>(entry & kPageAddressMask));
}

// The table a non-leaf entry points to, creating it when the entry is absent. Refuses a
// large page there: it maps memory the caller did not ask to touch.
Result<u64*> next_table(u64* entry, u64 address, const char* level, PageTablePool& pool) {
    if ((*entry & kPagePresent) == 0) {
        u64* table = pool.take();
        if (table == nullptr) {
            return make_error(ErrorCode::kOutOfMemory,
                              "identity mapping of {:#x}: out of page-table pages", address);
        }
        *entry = static_cast<u64>(reinterpret_cast<uptr>(table)) | kPagePresent | kPageWritable;
        return table;
    }
    if ((*entry & kPageLarge) != 0) {
        return make_error(ErrorCode::kAlreadyExists,
                          "identity mapping of {:#x}: the {} entry is a 1 GiB page ({:#x})",
                          address, level, *entry);
    }
    return table_at(*entry);
}

}  // namespace

u64* PageTablePool::take() {
    if (used_ == tables_.size()) {
        return nullptr;
    }
    u64* table = tables_[used_++];
    for (usize i = 0; i < kPageTableEntries; ++i) {
        table[i] = 0;
    }
    return table;
}

Status add_identity_mapping(u64* pml4, u64 address, u64 size, Caching caching,
                            PageTablePool& pool) {
    if (size == 0 || address + size < address || address + size > kIdentityMappingLimit) {
        return make_error(ErrorCode::kOutOfRange,
                          "identity mapping of {:#x} ({:#x} bytes): not a non-empty range below "
                          "{:#x}",
                          address, size, kIdentityMappingLimit);
    }
    u64 end = address + size;
    for (u64 page = align_down(address, kPageSize2M); page < end; page += kPageSize2M) {
        RELAY_TRY_ASSIGN(pdpt, next_table(&pml4[(page >> 39) & 511], page, "PML4", pool));
        RELAY_TRY_ASSIGN(directory, next_table(&pdpt[(page >> 30) & 511], page, "PDPT", pool));
        u64& entry = directory[(page >> 21) & 511];
        u64 wanted = page | kPagePresent | kPageWritable | kPageLarge | caching_bits(caching);
        // The processor sets the accessed and dirty bits of entries it has used.
        if ((entry & ~(kPageAccessed | kPageDirty)) == wanted) {
            continue;
        }
        if ((entry & kPagePresent) != 0) {
            return make_error(ErrorCode::kAlreadyExists,
                              "identity mapping of {:#x}: 2 MiB page {:#x} is already mapped "
                              "({:#x})",
                              address, page, entry);
        }
        entry = wanted;
    }
    return ok_status();
}

}  // namespace relay::guest
