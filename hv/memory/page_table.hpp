// PageTable: x86-64 4-level page tables (AMD APM vol. 2 §5.3), used for the hypervisor's
// own address space and, with user-mode entries, for nested paging (APM §15.25.5: nested
// table walks are user accesses, so NPT entries carry U=1).
//
// Parameterised by its memory backend, so the same code runs on the host against a fake
// that checks invariants after every entry write (tests/unit/page_table_test.cpp). The
// backend provides:
//   Result<HostPhysAddr> allocate_table();            // a zeroed 4 KiB frame
//   void free_table(HostPhysAddr table);
//   u64 read_entry(HostPhysAddr table, usize index);
//   void write_entry(HostPhysAddr table, usize index, u64 value);   // one atomic store
//
// Invariant: an update is never visible half done. New tables are filled completely
// before the entry that links them is written, and every entry is written with a single
// 64-bit store; so a concurrent walker (another CPU, the MMU) sees either the old or the
// new translation of each address, never an invalid one.
#pragma once

#include "lib/address.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay {

namespace pte {
inline constexpr u64 kPresent = 1ull << 0;
inline constexpr u64 kWrite = 1ull << 1;
inline constexpr u64 kUser = 1ull << 2;
inline constexpr u64 kWriteThrough = 1ull << 3;
inline constexpr u64 kCacheDisable = 1ull << 4;
inline constexpr u64 kAccessed = 1ull << 5;
inline constexpr u64 kDirty = 1ull << 6;
inline constexpr u64 kLarge = 1ull << 7;  // PS in PDPT/PD entries
inline constexpr u64 kGlobal = 1ull << 8;
inline constexpr u64 kNoExecute = 1ull << 63;
inline constexpr u64 kAddressMask = 0x000F'FFFF'FFFF'F000ull;
inline constexpr usize kEntries = 512;
}  // namespace pte

enum class CacheMode : u8 {
    kWriteBack,  // RAM
    kUncached,   // MMIO (PCD|PWT: UC with the default PAT)
};

struct PageAttributes {
    bool write = false;
    bool execute = false;
    bool user = false;    // must be true for nested page tables
    bool global = false;  // hypervisor mappings shared by every address space
    CacheMode cache = CacheMode::kWriteBack;

    constexpr bool operator==(const PageAttributes&) const = default;
};

struct Translation {
    HostPhysAddr address;  // of the byte translated
    u64 page_size = 0;
    PageAttributes attributes;
};

template <typename InputAddress, typename Memory>
class PageTable {
public:
    static constexpr u64 kSizes[] = {kPageSize4K, kPageSize2M, kPageSize1G};
    // Canonical 48-bit addresses only (APM vol. 2 §5.3.1).
    static constexpr u64 kInputLimitLow = 1ull << 47;

    PageTable(Memory& memory, HostPhysAddr root) : memory_(&memory), root_(root) {}

    static Result<PageTable> create(Memory& memory) {
        RELAY_TRY_ASSIGN(root, memory.allocate_table());
        return PageTable(memory, root);
    }

    HostPhysAddr root() const { return root_; }
    Memory& memory() const { return *memory_; }

    // Maps [input, input + size) onto [output, output + size) with the largest pages that
    // alignment allows, up to `max_page_size`. Refuses (and maps nothing) if any part is
    // already mapped.
    Status map(InputAddress input, HostPhysAddr output, u64 size, PageAttributes attributes,
               u64 max_page_size = kPageSize1G) {
        RELAY_TRY(check_range(input, size));
        if (!input.is_aligned(kPageSize4K) || !output.is_aligned(kPageSize4K) ||
            !is_aligned(size, kPageSize4K)) {
            return make_error(ErrorCode::kInvalidArgument,
                              "map of {} -> {} size {:#x} is not 4 KiB aligned", input.raw(),
                              output, size);
        }
        if (!output.can_add(size)) {
            return make_error(ErrorCode::kOverflow, "map target {} + {:#x} wraps", output, size);
        }
        if (is_mapped_any(input, size)) {
            return make_error(ErrorCode::kAlreadyExists,
                              "map of {:#x} size {:#x}: part of the range is already mapped",
                              input.raw(), size);
        }
        u64 offset = 0;
        while (offset < size) {
            u64 page = pick_page_size(input.raw() + offset, output.raw() + offset, size - offset,
                                      max_page_size);
            Status status = map_one(input.raw() + offset, output.raw() + offset, page, attributes);
            if (!status.ok()) {
                // Roll back what this call mapped, so failure leaves no partial mapping.
                unmap_range(input.raw(), offset);
                return status;
            }
            offset += page;
        }
        return ok_status();
    }

    // Removes every mapping in [input, input + size). Large pages that straddle the range
    // boundary are split first. Tables left empty are freed.
    Status unmap(InputAddress input, u64 size) {
        RELAY_TRY(check_range(input, size));
        if (!input.is_aligned(kPageSize4K) || !is_aligned(size, kPageSize4K)) {
            return make_error(ErrorCode::kInvalidArgument,
                              "unmap of {:#x} size {:#x} is not 4 KiB aligned", input.raw(), size);
        }
        RELAY_TRY(split_at(input.raw()));
        RELAY_TRY(split_at(input.raw() + size));
        unmap_range(input.raw(), size);
        return ok_status();
    }

    Result<Translation> translate(InputAddress input) const {
        u64 address = input.raw();
        if (!is_canonical(address)) {
            return make_error(ErrorCode::kOutOfRange, "{:#x} is not canonical", address);
        }
        HostPhysAddr table = root_;
        for (int level = 3; level >= 0; --level) {
            u64 entry = memory_->read_entry(table, index_of(address, level));
            if ((entry & pte::kPresent) == 0) {
                return make_error(ErrorCode::kNotFound, "{:#x} is not mapped", address);
            }
            if (level == 0 || (entry & pte::kLarge) != 0) {
                u64 page = level_size(level);
                Translation result;
                result.address = HostPhysAddr((entry & pte::kAddressMask & ~(page - 1)) +
                                              (address & (page - 1)));
                result.page_size = page;
                result.attributes = attributes_of(entry);
                return result;
            }
            table = HostPhysAddr(entry & pte::kAddressMask);
        }
        return make_error(ErrorCode::kInternal, "page walk fell through");
    }

    // Calls visit(HostPhysAddr table) for every table frame, root included.
    template <typename Visit>
    void for_each_table(Visit&& visit) const {
        visit_tables(root_, 3, visit);
    }

    // Frees every table frame (not the mapped memory). The object is unusable afterwards.
    void destroy() {
        free_tables(root_, 3);
        root_ = HostPhysAddr(0);
    }

    static u64 entry_bits(PageAttributes attributes, bool leaf, bool large) {
        u64 bits = pte::kPresent;
        if (!leaf) {
            // Intermediate entries grant everything; the leaf decides.
            return bits | pte::kWrite | (attributes.user ? pte::kUser : 0);
        }
        if (attributes.write) {
            bits |= pte::kWrite;
        }
        if (!attributes.execute) {
            bits |= pte::kNoExecute;
        }
        if (attributes.user) {
            bits |= pte::kUser;
        }
        if (attributes.global) {
            bits |= pte::kGlobal;
        }
        if (attributes.cache == CacheMode::kUncached) {
            bits |= pte::kCacheDisable | pte::kWriteThrough;
        }
        if (large) {
            bits |= pte::kLarge;
        }
        return bits;
    }

    static PageAttributes attributes_of(u64 entry) {
        PageAttributes attributes;
        attributes.write = (entry & pte::kWrite) != 0;
        attributes.execute = (entry & pte::kNoExecute) == 0;
        attributes.user = (entry & pte::kUser) != 0;
        attributes.global = (entry & pte::kGlobal) != 0;
        attributes.cache =
            (entry & pte::kCacheDisable) != 0 ? CacheMode::kUncached : CacheMode::kWriteBack;
        return attributes;
    }

private:
    static constexpr u64 level_size(int level) { return 1ull << (12 + 9 * level); }
    static constexpr usize index_of(u64 address, int level) {
        return static_cast<usize>((address >> (12 + 9 * level)) & 0x1FF);
    }
    static constexpr bool is_canonical(u64 address) {
        return address < kInputLimitLow || address >= ~(kInputLimitLow - 1);
    }

    Status check_range(InputAddress input, u64 size) const {
        u64 start = input.raw();
        if (size == 0) {
            return make_error(ErrorCode::kInvalidArgument, "empty range at {:#x}", start);
        }
        u64 last = start + (size - 1);
        if (last < start || !is_canonical(start) || !is_canonical(last) ||
            (start < kInputLimitLow) != (last < kInputLimitLow)) {
            return make_error(ErrorCode::kOutOfRange,
                              "range {:#x} size {:#x} is not inside one canonical half", start,
                              size);
        }
        return ok_status();
    }

    static u64 pick_page_size(u64 input, u64 output, u64 remaining, u64 max_page_size) {
        for (int i = 2; i >= 1; --i) {
            u64 page = kSizes[i];
            if (page <= max_page_size && is_aligned(input, page) && is_aligned(output, page) &&
                remaining >= page) {
                return page;
            }
        }
        return kPageSize4K;
    }

    bool is_mapped_any(InputAddress input, u64 size) const {
        u64 address = input.raw();
        u64 end = address + size;  // may wrap to 0 at the very top; loop handles it
        while (address != end) {
            u64 step = kPageSize4K;
            HostPhysAddr table = root_;
            bool found_hole = false;
            for (int level = 3; level >= 0; --level) {
                u64 entry = memory_->read_entry(table, index_of(address, level));
                if ((entry & pte::kPresent) == 0) {
                    // Skip the whole unmapped span this entry covers.
                    u64 span = level_size(level);
                    step = span - (address & (span - 1));
                    found_hole = true;
                    break;
                }
                if (level == 0 || (entry & pte::kLarge) != 0) {
                    return true;
                }
                table = HostPhysAddr(entry & pte::kAddressMask);
            }
            if (!found_hole) {
                return true;
            }
            if (end - address <= step) {
                break;
            }
            address += step;
        }
        return false;
    }

    Status map_one(u64 input, u64 output, u64 page, PageAttributes attributes) {
        int leaf_level = page == kPageSize1G ? 2 : page == kPageSize2M ? 1 : 0;
        HostPhysAddr table = root_;
        for (int level = 3; level > leaf_level; --level) {
            usize index = index_of(input, level);
            u64 entry = memory_->read_entry(table, index);
            if ((entry & pte::kPresent) == 0) {
                RELAY_TRY_ASSIGN(next, memory_->allocate_table());
                memory_->write_entry(table, index,
                                     next.raw() | entry_bits(attributes, false, false));
                table = next;
                continue;
            }
            if (attributes.user && (entry & pte::kUser) == 0) {
                memory_->write_entry(table, index, entry | pte::kUser);
            }
            table = HostPhysAddr(entry & pte::kAddressMask);
        }
        memory_->write_entry(table, index_of(input, leaf_level),
                             output | entry_bits(attributes, true, leaf_level > 0));
        return ok_status();
    }

    // If a large page covers `boundary` without starting there, replace it by a table of
    // smaller pages with the same translation (filled before it is linked).
    Status split_at(u64 boundary) {
        if (!is_canonical(boundary)) {
            return ok_status();
        }
        HostPhysAddr table = root_;
        for (int level = 3; level >= 1; --level) {
            usize index = index_of(boundary, level);
            u64 entry = memory_->read_entry(table, index);
            if ((entry & pte::kPresent) == 0) {
                return ok_status();
            }
            if ((entry & pte::kLarge) != 0) {
                if (is_aligned(boundary, level_size(level))) {
                    return ok_status();
                }
                RELAY_TRY_ASSIGN(child, memory_->allocate_table());
                u64 small = level_size(level - 1);
                u64 base = entry & pte::kAddressMask & ~(level_size(level) - 1);
                u64 bits = entry & ~pte::kAddressMask;
                if (level - 1 == 0) {
                    bits &= ~pte::kLarge;  // bit 7 of a 4 KiB entry is PAT, not PS
                }
                for (usize i = 0; i < pte::kEntries; ++i) {
                    memory_->write_entry(child, i, (base + i * small) | bits);
                }
                u64 link = child.raw() | pte::kPresent | pte::kWrite | (entry & pte::kUser);
                memory_->write_entry(table, index, link);
                entry = link;
            }
            table = HostPhysAddr(entry & pte::kAddressMask);
        }
        return ok_status();
    }

    // Clears leaf entries in [start, start + size) (boundaries already split) and frees
    // tables that become empty.
    void unmap_range(u64 start, u64 size) {
        if (size == 0) {
            return;
        }
        // Index arithmetic works on the low 48 bits: the range lies in one canonical half,
        // where masking the sign extension keeps addresses ordered.
        constexpr u64 kMask = (1ull << 48) - 1;
        unmap_in(root_, 3, start & kMask, (start + (size - 1)) & kMask);
    }

    // Returns true when `table` has no present entry left.
    bool unmap_in(HostPhysAddr table, int level, u64 first, u64 last) {
        u64 span = level_size(level);
        for (usize i = index_of(first, level);; ++i) {
            u64 entry_base = (first & ~(span * pte::kEntries - 1)) + i * span;
            u64 entry = memory_->read_entry(table, i);
            if ((entry & pte::kPresent) != 0) {
                u64 lo = entry_base < first ? first : entry_base;
                u64 hi = entry_base + (span - 1) > last ? last : entry_base + (span - 1);
                bool whole = lo == entry_base && hi == entry_base + (span - 1);
                if (level == 0 || (entry & pte::kLarge) != 0) {
                    memory_->write_entry(table, i, 0);  // split_at made partial coverage impossible
                } else {
                    HostPhysAddr child(entry & pte::kAddressMask);
                    bool empty = unmap_in(child, level - 1, lo, hi);
                    if (empty || whole) {
                        memory_->write_entry(table, i, 0);
                        memory_->free_table(child);
                    }
                }
            }
            if (i == pte::kEntries - 1 || entry_base + (span - 1) >= last) {
                break;
            }
        }
        for (usize i = 0; i < pte::kEntries; ++i) {
            if ((memory_->read_entry(table, i) & pte::kPresent) != 0) {
                return false;
            }
        }
        return true;
    }

    template <typename Visit>
    void visit_tables(HostPhysAddr table, int level, Visit& visit) const {
        visit(table);
        if (level == 0) {
            return;
        }
        for (usize i = 0; i < pte::kEntries; ++i) {
            u64 entry = memory_->read_entry(table, i);
            if ((entry & pte::kPresent) != 0 && (entry & pte::kLarge) == 0) {
                visit_tables(HostPhysAddr(entry & pte::kAddressMask), level - 1, visit);
            }
        }
    }

    void free_tables(HostPhysAddr table, int level) {
        if (level > 0) {
            for (usize i = 0; i < pte::kEntries; ++i) {
                u64 entry = memory_->read_entry(table, i);
                if ((entry & pte::kPresent) != 0 && (entry & pte::kLarge) == 0) {
                    free_tables(HostPhysAddr(entry & pte::kAddressMask), level - 1);
                }
            }
        }
        memory_->free_table(table);
    }

    Memory* memory_;
    HostPhysAddr root_;
};

}  // namespace relay
