// IoPageTable: an AMD-Vi host I/O page table (AMD IOMMU spec #48882 §2.2.3), mapping a
// domain's I/O virtual addresses (IOVA = the domain's guest-physical addresses) to
// host-physical memory for the devices assigned to it. A device table entry points at its
// root and names its depth (DTE.Mode = levels, 1..6).
//
// Format, as Relay writes it (and as adopt()/validate() insist on finding it):
//   - a table at level k (the root is at level `levels`) holds 512 entries, each covering
//     2^(12 + 9 (k - 1)) bytes of IOVA: 4 KiB at level 1, 2 MiB at 2, 1 GiB at 3;
//   - a page directory entry: PR | NextLevel = k - 1 (no level skipping) | table address
//     | IR | IW. Permissions are ANDed along the walk (§2.2.3, and QEMU checks every
//     level), so directories grant both and the leaf decides;
//   - a leaf: PR | NextLevel = 0 | page address | IR/IW, at level 1 (4 KiB), 2 (2 MiB) or
//     3 (1 GiB): the level's default page size. No NextLevel = 7 page-size override;
//   - an entry that is not present is all zero. QEMU 7.2 translates a non-zero leaf even
//     with PR = 0 (README.md), so "not present" must mean zero.
// QEMU 7.2 walks exactly this format correctly (amdvi_page_walk(): default large pages via
// pte_get_page_mask()).
//
// Parameterised by its memory backend, like hv/memory/page_table.hpp, so the same code runs
// on the host against a fake that checks invariants after every entry write
// (iommu/io_page_table_test.cpp). The backend provides:
//   Result<HostPhysAddr> allocate_table();            // a zeroed 4 KiB frame
//   void free_table(HostPhysAddr table);
//   u64 read_entry(HostPhysAddr table, usize index);
//   void write_entry(HostPhysAddr table, usize index, u64 value);   // one atomic store
//
// Invariants:
//   - an update is never visible half done: a new table is complete (zeroed, or filled
//     with the pieces of the large page it replaces) before the entry that links it is
//     written, each entry is one 64-bit store, and a table is unlinked before it is freed;
//   - nothing outside the extents a caller asked for is ever mapped, even transiently;
//   - unmap frees tables left empty.
// The IOMMU may cache entries, directories included: after map or unmap the caller
// invalidates the domain's pages (Iommu::flush). A table freed by unmap can still be
// walked by the IOMMU until that invalidation completes, so the backend must not reuse a
// freed frame before then.
#pragma once

#include "lib/address.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::amd_vi {

namespace io_pte {
inline constexpr u64 kPresent = 1ull << 0;
inline constexpr u32 kNextLevelShift = 9;
inline constexpr u64 kNextLevelMask = 7ull << kNextLevelShift;
inline constexpr u64 kAddressMask = 0x000F'FFFF'FFFF'F000ull;
inline constexpr u64 kIoRead = 1ull << 61;
inline constexpr u64 kIoWrite = 1ull << 62;
inline constexpr usize kEntries = 512;
// Every bit Relay's entries may carry; validate() refuses any other.
inline constexpr u64 kRelayBits = kPresent | kNextLevelMask | kAddressMask | kIoRead | kIoWrite;

constexpr u8 next_level(u64 entry) {
    return static_cast<u8>((entry & kNextLevelMask) >> kNextLevelShift);
}
// A guard (IoPageTable::seal()): a present directory entry granting neither read nor
// write. Nothing below it is reachable (permissions AND along the walk); a request through
// it is an IO_PAGE_FAULT the unit logs.
constexpr bool is_guard(u64 entry) {
    return (entry & kPresent) != 0 && next_level(entry) != 0 && (entry & (kIoRead | kIoWrite)) == 0;
}
// Present and not a guard: a page or a directory Relay linked.
constexpr bool is_linked(u64 entry) {
    return (entry & kPresent) != 0 && !is_guard(entry);
}
}  // namespace io_pte

struct IoPermissions {
    bool read = false;
    bool write = false;
    constexpr bool operator==(const IoPermissions&) const = default;
};

struct IoTranslation {
    HostPhysAddr address;  // of the byte translated
    u64 page_size = 0;
    IoPermissions permissions;
};

template <typename Memory>
class IoPageTable {
public:
    static constexpr u8 kMinLevels = 1;
    static constexpr u8 kMaxLevels = 6;
    static constexpr u64 kSizes[] = {kPageSize4K, kPageSize2M, kPageSize1G};
    static constexpr u64 kPhysicalLimit = 1ull << 52;

    IoPageTable(Memory& memory, HostPhysAddr root, u8 levels)
        : memory_(&memory), root_(root), levels_(levels) {}

    // The fewest levels whose IOVA space reaches `iova_end` (exclusive); at least 3, so
    // that 1 GiB pages are available.
    static constexpr u8 levels_for(u64 iova_end) {
        u8 levels = 3;
        while (levels < kMaxLevels && iova_end > limit_of(levels)) {
            ++levels;
        }
        return levels;
    }

    static Result<IoPageTable> create(Memory& memory, u8 levels) {
        RELAY_TRY(check_levels(levels));
        RELAY_TRY_ASSIGN(root, memory.allocate_table());
        return IoPageTable(memory, root, levels);
    }

    // Takes over a table that already exists (a live update: the previous build's table,
    // still in use by the IOMMU). Writes nothing and walks nothing: call validate() before
    // trusting anything in it.
    static Result<IoPageTable> adopt(Memory& memory, HostPhysAddr root, u8 levels) {
        RELAY_TRY(check_levels(levels));
        if (root.raw() == 0 || !root.is_aligned(kPageSize4K) || root.raw() >= kPhysicalLimit) {
            return make_error(ErrorCode::kCorrupt,
                              "I/O page table root {} is not a 4 KiB frame below 2^52", root);
        }
        return IoPageTable(memory, root, levels);
    }

    HostPhysAddr root() const { return root_; }
    u8 levels() const { return levels_; }
    Memory& memory() const { return *memory_; }
    // IOVAs below this are translatable; 0 means the whole 64-bit space (6 levels).
    u64 iova_limit() const { return limit_of(levels_); }

    // Maps [iova, iova + size) onto [output, output + size) with the largest pages that
    // alignment allows, up to `max_page_size` (4 KiB, 2 MiB or 1 GiB). Refuses, and maps
    // nothing, if any part is already mapped or anything fails.
    Status map(GuestPhysAddr iova, HostPhysAddr output, u64 size, IoPermissions permissions,
               u64 max_page_size = kPageSize1G) {
        RELAY_TRY(check_range(iova, size));
        if (!iova.is_aligned(kPageSize4K) || !output.is_aligned(kPageSize4K) ||
            !is_aligned(size, kPageSize4K)) {
            return make_error(ErrorCode::kInvalidArgument,
                              "I/O map of {:#x} -> {} size {:#x} is not 4 KiB aligned", iova.raw(),
                              output, size);
        }
        if (!output.can_add(size) || output.raw() + size > kPhysicalLimit) {
            return make_error(ErrorCode::kOutOfRange,
                              "I/O map target {} + {:#x} does not fit below 2^52", output, size);
        }
        if (!permissions.read && !permissions.write) {
            return make_error(ErrorCode::kInvalidArgument,
                              "I/O map of {:#x} size {:#x} grants neither read nor write",
                              iova.raw(), size);
        }
        if (max_page_size != kPageSize4K && max_page_size != kPageSize2M &&
            max_page_size != kPageSize1G) {
            return make_error(ErrorCode::kInvalidArgument,
                              "I/O page size {:#x} is not 4 KiB, 2 MiB or 1 GiB", max_page_size);
        }
        if (is_mapped_any(iova.raw(), size)) {
            return make_error(ErrorCode::kAlreadyExists,
                              "I/O map of {:#x} size {:#x}: part of the range is already mapped",
                              iova.raw(), size);
        }
        u64 offset = 0;
        while (offset < size) {
            u64 page = pick_page_size(iova.raw() + offset, output.raw() + offset, size - offset,
                                      max_page_size);
            Status status = map_one(iova.raw() + offset, output.raw() + offset, page, permissions);
            if (!status.ok()) {
                // Roll back what this call mapped, so failure leaves no partial mapping.
                unmap_range(iova.raw(), offset);
                return status;
            }
            offset += page;
        }
        return ok_status();
    }

    // Removes every mapping in [iova, iova + size). Large pages that straddle the range
    // boundary are split first. Tables left empty are freed.
    Status unmap(GuestPhysAddr iova, u64 size) {
        RELAY_TRY(check_range(iova, size));
        if (!iova.is_aligned(kPageSize4K) || !is_aligned(size, kPageSize4K)) {
            return make_error(ErrorCode::kInvalidArgument,
                              "I/O unmap of {:#x} size {:#x} is not 4 KiB aligned", iova.raw(),
                              size);
        }
        RELAY_TRY(split_at(iova.raw()));
        RELAY_TRY(split_at(iova.raw() + size));
        unmap_range(iova.raw(), size);
        return ok_status();
    }

    Result<IoTranslation> translate(GuestPhysAddr iova) const {
        u64 address = iova.raw();
        if (!in_limit(address)) {
            return make_error(ErrorCode::kOutOfRange, "IOVA {:#x} is beyond the {}-level table",
                              address, levels_);
        }
        HostPhysAddr table = root_;
        for (u8 level = levels_; level >= 1; --level) {
            u64 entry = memory_->read_entry(table, index_of(address, level));
            if (!io_pte::is_linked(entry)) {
                return make_error(ErrorCode::kNotFound, "IOVA {:#x} is not mapped", address);
            }
            u8 next = io_pte::next_level(entry);
            if (next == 0) {
                u64 page = entry_span(level);
                IoTranslation result;
                result.address = HostPhysAddr((entry & io_pte::kAddressMask & ~(page - 1)) +
                                              (address & (page - 1)));
                result.page_size = page;
                result.permissions = permissions_of(entry);
                return result;
            }
            if (next != level - 1) {
                return make_error(ErrorCode::kCorrupt,
                                  "IOVA {:#x}: level-{} entry {:#x} names next level {}", address,
                                  level, entry, next);
            }
            table = HostPhysAddr(entry & io_pte::kAddressMask);
        }
        return make_error(ErrorCode::kInternal, "I/O page walk fell through");
    }

    // Calls visit(HostPhysAddr table) for every table frame, root first: what a live update
    // must preserve.
    template <typename Visit>
    void for_each_table(Visit&& visit) const {
        visit_tables(root_, levels_, visit);
    }

    // Calls visit(GuestPhysAddr iova, HostPhysAddr address, u64 page_size, IoPermissions)
    // for every mapped page, in IOVA order.
    template <typename Visit>
    void for_each_mapping(Visit&& visit) const {
        visit_mappings(root_, levels_, 0, visit);
    }

    // Frees every table frame (not the mapped memory). The object is unusable afterwards.
    void destroy() {
        free_tables(root_, levels_);
        root_ = HostPhysAddr(0);
    }

    // Walks the whole table (a live update's adoption) and checks that every entry is in
    // Relay's format (see the top of this file) and that every page maps host memory inside
    // the union of `allowed` (the domain's memory), while no table frame lies inside it (a
    // table the devices could write would let them rewrite their own translation).
    // check_table(HostPhysAddr table, u8 level) -> Status is called once per table found,
    // root included; it lets the caller claim each frame (and so refuse a frame linked
    // twice). Stops at the first problem, naming it.
    template <typename CheckTable>
    Status validate(const HostPhysRange* allowed, usize allowed_count,
                    CheckTable&& check_table) const {
        return validate_table(root_, levels_, 0, allowed, allowed_count, check_table);
    }

    // Fills every empty slot of every directory (levels 2 and up) with a guard entry
    // pointing at `guard`, a zeroed 4 KiB frame nothing else uses, and points existing
    // guards at it. A unit then reports a request for an unmapped IOVA as a permission
    // fault at the guard: QEMU 7.2's amd-iommu logs no event for an empty entry below the
    // root (its walk just stops). Guards map nothing: map() replaces them, unmap(),
    // translate(), the visits, destroy() and validate() treat them as empty.
    void seal(HostPhysAddr guard) { seal_table(root_, levels_, guard); }

    static u64 leaf_bits(IoPermissions permissions) {
        return io_pte::kPresent | (permissions.read ? io_pte::kIoRead : 0) |
               (permissions.write ? io_pte::kIoWrite : 0);
    }
    static u64 directory_bits(u8 next_level) {
        return io_pte::kPresent | (static_cast<u64>(next_level) << io_pte::kNextLevelShift) |
               io_pte::kIoRead | io_pte::kIoWrite;
    }
    static IoPermissions permissions_of(u64 entry) {
        IoPermissions p;
        p.read = (entry & io_pte::kIoRead) != 0;
        p.write = (entry & io_pte::kIoWrite) != 0;
        return p;
    }

private:
    // Bytes one entry of a level-`level` table covers.
    static constexpr u64 entry_span(u8 level) { return 1ull << (12 + 9 * (level - 1)); }
    // IOVA bound of a `levels`-level table (0: all of 2^64).
    static constexpr u64 limit_of(u8 levels) { return levels >= 6 ? 0 : 1ull << (12 + 9 * levels); }
    static constexpr usize index_of(u64 address, u8 level) {
        return static_cast<usize>((address >> (12 + 9 * (level - 1))) & 0x1FF);
    }
    bool in_limit(u64 address) const {
        u64 limit = iova_limit();
        return limit == 0 || address < limit;
    }
    static constexpr u8 leaf_level_of(u64 page) {
        return page == kPageSize1G ? 3 : page == kPageSize2M ? 2 : 1;
    }

    static Status check_levels(u8 levels) {
        if (levels < kMinLevels || levels > kMaxLevels) {
            return make_error(ErrorCode::kInvalidArgument,
                              "I/O page table of {} levels: AMD-Vi walks 1 to 6", levels);
        }
        return ok_status();
    }

    Status check_range(GuestPhysAddr iova, u64 size) const {
        u64 start = iova.raw();
        if (size == 0) {
            return make_error(ErrorCode::kInvalidArgument, "empty I/O range at {:#x}", start);
        }
        u64 last = start + (size - 1);
        if (last < start || !in_limit(last)) {
            return make_error(ErrorCode::kOutOfRange,
                              "I/O range {:#x} size {:#x} is beyond the {}-level table", start,
                              size, levels_);
        }
        return ok_status();
    }

    u64 pick_page_size(u64 input, u64 output, u64 remaining, u64 max_page_size) const {
        for (int i = 2; i >= 1; --i) {
            u64 page = kSizes[i];
            if (page <= max_page_size && leaf_level_of(page) <= levels_ &&
                is_aligned(input, page) && is_aligned(output, page) && remaining >= page) {
                return page;
            }
        }
        return kPageSize4K;
    }

    bool is_mapped_any(u64 address, u64 size) const {
        u64 end = address + size;  // 0 at the very top of a 6-level space; the loop handles it
        while (address != end) {
            u64 step = kPageSize4K;
            HostPhysAddr table = root_;
            bool found_hole = false;
            for (u8 level = levels_; level >= 1; --level) {
                u64 entry = memory_->read_entry(table, index_of(address, level));
                if (!io_pte::is_linked(entry)) {
                    u64 span = entry_span(level);
                    step = span - (address & (span - 1));
                    found_hole = true;
                    break;
                }
                if (io_pte::next_level(entry) == 0) {
                    return true;
                }
                table = HostPhysAddr(entry & io_pte::kAddressMask);
            }
            if (!found_hole || end - address <= step) {
                return !found_hole;
            }
            address += step;
        }
        return false;
    }

    Status map_one(u64 input, u64 output, u64 page, IoPermissions permissions) {
        u8 leaf_level = leaf_level_of(page);
        HostPhysAddr table = root_;
        for (u8 level = levels_; level > leaf_level; --level) {
            usize index = index_of(input, level);
            u64 entry = memory_->read_entry(table, index);
            if (!io_pte::is_linked(entry)) {
                // A fresh table is all zero: complete (it maps nothing) before it is linked
                // (in place of nothing or of a guard: refused either way until then).
                RELAY_TRY_ASSIGN(next, memory_->allocate_table());
                memory_->write_entry(table, index, next.raw() | directory_bits(level - 1));
                table = next;
                continue;
            }
            table = HostPhysAddr(entry & io_pte::kAddressMask);
        }
        memory_->write_entry(table, index_of(input, leaf_level), output | leaf_bits(permissions));
        return ok_status();
    }

    // If a large page covers `boundary` without starting there, replaces it by a table of
    // smaller pages with the same translation, filled before it is linked.
    Status split_at(u64 boundary) {
        if (!in_limit(boundary)) {
            return ok_status();  // the end of the space: nothing straddles it
        }
        HostPhysAddr table = root_;
        for (u8 level = levels_; level >= 2; --level) {
            usize index = index_of(boundary, level);
            u64 entry = memory_->read_entry(table, index);
            if (!io_pte::is_linked(entry)) {
                return ok_status();
            }
            if (io_pte::next_level(entry) == 0) {
                u64 span = entry_span(level);
                if (is_aligned(boundary, span)) {
                    return ok_status();
                }
                RELAY_TRY_ASSIGN(child, memory_->allocate_table());
                u64 small = entry_span(level - 1);
                u64 base = entry & io_pte::kAddressMask & ~(span - 1);
                u64 bits = leaf_bits(permissions_of(entry));
                for (usize i = 0; i < io_pte::kEntries; ++i) {
                    memory_->write_entry(child, i, (base + i * small) | bits);
                }
                u64 link = child.raw() | directory_bits(level - 1);
                memory_->write_entry(table, index, link);
                entry = link;
            }
            table = HostPhysAddr(entry & io_pte::kAddressMask);
        }
        return ok_status();
    }

    // Clears the leaves in [start, start + size) (boundaries already split) and frees the
    // tables that become empty.
    void unmap_range(u64 start, u64 size) {
        if (size == 0) {
            return;
        }
        unmap_in(root_, levels_, start, start + (size - 1));
    }

    // Returns true when `table` has no present entry left. [first, last] lies inside the
    // table's span.
    bool unmap_in(HostPhysAddr table, u8 level, u64 first, u64 last) {
        u64 span = entry_span(level);
        u64 table_base = level >= 6 ? 0 : first & ~(span * io_pte::kEntries - 1);
        for (usize i = index_of(first, level);; ++i) {
            u64 entry_base = table_base + i * span;
            u64 entry_last = entry_base + (span - 1);
            u64 entry = memory_->read_entry(table, i);
            if (io_pte::is_linked(entry)) {
                u64 lo = entry_base < first ? first : entry_base;
                u64 hi = entry_last > last ? last : entry_last;
                bool whole = lo == entry_base && hi == entry_last;
                if (io_pte::next_level(entry) == 0) {
                    memory_->write_entry(table, i, 0);  // split_at made partial coverage impossible
                } else {
                    HostPhysAddr child(entry & io_pte::kAddressMask);
                    bool empty = unmap_in(child, static_cast<u8>(level - 1), lo, hi);
                    if (empty || whole) {
                        memory_->write_entry(table, i, 0);  // unlink, then free
                        free_tables(child, static_cast<u8>(level - 1));
                    }
                }
            }
            if (i == io_pte::kEntries - 1 || entry_last >= last) {
                break;
            }
        }
        for (usize i = 0; i < io_pte::kEntries; ++i) {
            if (io_pte::is_linked(memory_->read_entry(table, i))) {
                return false;
            }
        }
        return true;
    }

    template <typename Visit>
    void visit_tables(HostPhysAddr table, u8 level, Visit& visit) const {
        visit(table);
        if (level == 1) {
            return;
        }
        for (usize i = 0; i < io_pte::kEntries; ++i) {
            u64 entry = memory_->read_entry(table, i);
            if (io_pte::is_linked(entry) && io_pte::next_level(entry) != 0) {
                visit_tables(HostPhysAddr(entry & io_pte::kAddressMask), static_cast<u8>(level - 1),
                             visit);
            }
        }
    }

    template <typename Visit>
    void visit_mappings(HostPhysAddr table, u8 level, u64 base, Visit& visit) const {
        u64 span = entry_span(level);
        for (usize i = 0; i < io_pte::kEntries; ++i) {
            u64 entry = memory_->read_entry(table, i);
            if (!io_pte::is_linked(entry)) {
                continue;
            }
            u64 iova = base + i * span;
            if (io_pte::next_level(entry) == 0) {
                visit(GuestPhysAddr(iova), HostPhysAddr(entry & io_pte::kAddressMask & ~(span - 1)),
                      span, permissions_of(entry));
            } else if (level > 1) {
                visit_mappings(HostPhysAddr(entry & io_pte::kAddressMask),
                               static_cast<u8>(level - 1), iova, visit);
            }
        }
    }

    void free_tables(HostPhysAddr table, u8 level) {
        if (level > 1) {
            for (usize i = 0; i < io_pte::kEntries; ++i) {
                u64 entry = memory_->read_entry(table, i);
                if (io_pte::is_linked(entry) && io_pte::next_level(entry) != 0) {
                    free_tables(HostPhysAddr(entry & io_pte::kAddressMask),
                                static_cast<u8>(level - 1));
                }
            }
        }
        memory_->free_table(table);
    }

    void seal_table(HostPhysAddr table, u8 level, HostPhysAddr guard) {
        if (level < 2) {
            return;
        }
        u64 guard_entry = guard.raw() | io_pte::kPresent |
                          (static_cast<u64>(level - 1) << io_pte::kNextLevelShift);
        usize entries = level == 6 ? 128 : io_pte::kEntries;  // the rest is beyond 2^64
        for (usize i = 0; i < entries; ++i) {
            u64 entry = memory_->read_entry(table, i);
            if (entry == 0 || (io_pte::is_guard(entry) && entry != guard_entry)) {
                memory_->write_entry(table, i, guard_entry);
            } else if (io_pte::is_linked(entry) && io_pte::next_level(entry) != 0) {
                seal_table(HostPhysAddr(entry & io_pte::kAddressMask), static_cast<u8>(level - 1),
                           guard);
            }
        }
    }

    // True when every byte of [base, base + size) lies in some allowed range.
    static bool covered(u64 base, u64 size, const HostPhysRange* allowed, usize count) {
        u64 cursor = base;
        u64 last = base + (size - 1);
        for (;;) {
            bool advanced = false;
            for (usize r = 0; r < count; ++r) {
                if (allowed[r].contains(HostPhysAddr(cursor))) {
                    u64 range_last = allowed[r].last().raw();
                    if (range_last >= last) {
                        return true;
                    }
                    cursor = range_last + 1;
                    advanced = true;
                }
            }
            if (!advanced) {
                return false;
            }
        }
    }

    template <typename CheckTable>
    Status validate_table(HostPhysAddr table, u8 level, u64 base, const HostPhysRange* allowed,
                          usize allowed_count, CheckTable& check_table) const {
        if (table.raw() == 0 || !table.is_aligned(kPageSize4K) || table.raw() >= kPhysicalLimit) {
            return make_error(ErrorCode::kCorrupt,
                              "level-{} I/O table for IOVA {:#x} at {} is not a 4 KiB frame", level,
                              base, table);
        }
        HostPhysRange frame = HostPhysRange::unchecked(table, kPageSize4K);
        for (usize r = 0; r < allowed_count; ++r) {
            if (allowed[r].overlaps(frame)) {
                return make_error(ErrorCode::kPermissionDenied,
                                  "level-{} I/O table {} lies inside domain memory {} + {:#x}, "
                                  "where devices could rewrite it",
                                  level, table, allowed[r].base(), allowed[r].size());
            }
        }
        RELAY_TRY(check_table(table, level));
        u64 span = entry_span(level);
        for (usize i = 0; i < io_pte::kEntries; ++i) {
            u64 entry = memory_->read_entry(table, i);
            u64 iova = base + i * span;
            if (entry == 0) {
                continue;
            }
            if (level == 6 && i >= 128) {
                return make_error(ErrorCode::kCorrupt,
                                  "level-6 I/O entry {} of table {} lies beyond the 64-bit IOVA "
                                  "space: {:#x}",
                                  i, table, entry);
            }
            if ((entry & io_pte::kPresent) == 0) {
                return make_error(ErrorCode::kCorrupt,
                                  "level-{} I/O entry {} of table {} (IOVA {:#x}) is not present "
                                  "but not zero: {:#x}",
                                  level, i, table, iova, entry);
            }
            if ((entry & ~io_pte::kRelayBits) != 0) {
                return make_error(ErrorCode::kCorrupt,
                                  "level-{} I/O entry {} of table {} (IOVA {:#x}) has bits {:#x} "
                                  "outside Relay's format",
                                  level, i, table, iova, entry & ~io_pte::kRelayBits);
            }
            u8 next = io_pte::next_level(entry);
            u64 address = entry & io_pte::kAddressMask;
            if (io_pte::is_guard(entry)) {
                if (next != level - 1) {
                    return make_error(ErrorCode::kCorrupt,
                                      "level-{} I/O guard entry {} (IOVA {:#x}) names next level "
                                      "{}, not {}",
                                      level, i, iova, next, level - 1);
                }
                continue;  // grants nothing: what it points at is never used
            }
            if (next == 0) {
                if (level > 3) {
                    return make_error(ErrorCode::kCorrupt,
                                      "level-{} I/O entry {} (IOVA {:#x}) is a leaf: pages "
                                      "above 1 GiB are not Relay's format",
                                      level, i, iova);
                }
                if (!is_aligned(address, span)) {
                    return make_error(ErrorCode::kCorrupt,
                                      "level-{} I/O page at IOVA {:#x} -> {:#x} is not aligned "
                                      "to its {:#x} bytes",
                                      level, iova, address, span);
                }
                if ((entry & (io_pte::kIoRead | io_pte::kIoWrite)) == 0) {
                    return make_error(ErrorCode::kCorrupt,
                                      "level-{} I/O page at IOVA {:#x} grants neither read nor "
                                      "write",
                                      level, iova);
                }
                if (!covered(address, span, allowed, allowed_count)) {
                    return make_error(ErrorCode::kPermissionDenied,
                                      "I/O page at IOVA {:#x} maps {:#x} size {:#x}, outside the "
                                      "domain's memory",
                                      iova, address, span);
                }
                continue;
            }
            if (next != level - 1) {
                return make_error(ErrorCode::kCorrupt,
                                  "level-{} I/O entry {} (IOVA {:#x}) names next level {}, not "
                                  "{}",
                                  level, i, iova, next, level - 1);
            }
            if ((entry & (io_pte::kIoRead | io_pte::kIoWrite)) !=
                (io_pte::kIoRead | io_pte::kIoWrite)) {
                return make_error(ErrorCode::kCorrupt,
                                  "level-{} I/O directory entry {} (IOVA {:#x}) does not grant "
                                  "read and write",
                                  level, i, iova);
            }
            RELAY_TRY(validate_table(HostPhysAddr(address), static_cast<u8>(level - 1), iova,
                                     allowed, allowed_count, check_table));
        }
        return ok_status();
    }

    Memory* memory_;
    HostPhysAddr root_;
    u8 levels_;
};

}  // namespace relay::amd_vi
