#include "kexec/multiboot2_writer.hpp"

#include <cstring>

namespace relay::kexec {

namespace {

enum : u32 {
    kTagEnd = 0,
    kTagCommandLine = 1,
    kTagBootloaderName = 2,
    kTagModule = 3,
    kTagMemoryMap = 6,
    kTagAcpiOld = 14,
    kTagAcpiNew = 15,
    kTagLoadBase = 21,
};

void put32(u8* p, u32 v) {
    std::memcpy(p, &v, 4);
}
void put64(u8* p, u64 v) {
    std::memcpy(p, &v, 8);
}

}  // namespace

Multiboot2Writer::Multiboot2Writer(void* buffer, usize capacity)
    : buffer_(static_cast<u8*>(buffer)), capacity_(capacity), used_(8) {}

Result<u8*> Multiboot2Writer::begin_tag(u32 type, usize payload) {
    if (finished_) {
        return make_error(ErrorCode::kInternal, "multiboot2 writer already finished");
    }
    usize size = 8 + payload;
    usize padded = (size + 7) & ~static_cast<usize>(7);
    // Room for this tag and the end tag.
    if (padded + 8 > capacity_ - used_ || capacity_ < used_) {
        return make_error(ErrorCode::kOutOfMemory, "multiboot2 information exceeds {} bytes",
                          capacity_);
    }
    u8* tag = buffer_ + used_;
    std::memset(tag, 0, padded);
    put32(tag, type);
    put32(tag + 4, static_cast<u32>(size));
    used_ += padded;
    return tag;
}

Status Multiboot2Writer::add_string_tag(u32 type, std::string_view text) {
    RELAY_TRY_ASSIGN(tag, begin_tag(type, text.size() + 1));
    std::memcpy(tag + 8, text.data(), text.size());
    return ok_status();
}

Status Multiboot2Writer::add_command_line(std::string_view text) {
    return add_string_tag(kTagCommandLine, text);
}

Status Multiboot2Writer::add_bootloader_name(std::string_view text) {
    return add_string_tag(kTagBootloaderName, text);
}

Status Multiboot2Writer::add_module(HostPhysAddr start, u64 size, std::string_view command_line) {
    // Multiboot2 modules carry 32-bit addresses (§3.6.6).
    if (start.raw() > 0xFFFFFFFFull || size > 0xFFFFFFFFull - start.raw()) {
        return make_error(ErrorCode::kOutOfRange,
                          "module at {} + {:#x} is not below 4 GiB (multiboot2 limit)", start,
                          size);
    }
    RELAY_TRY_ASSIGN(tag, begin_tag(kTagModule, 8 + command_line.size() + 1));
    put32(tag + 8, static_cast<u32>(start.raw()));
    put32(tag + 12, static_cast<u32>(start.raw() + size));
    std::memcpy(tag + 16, command_line.data(), command_line.size());
    return ok_status();
}

Status Multiboot2Writer::add_memory_map(const Multiboot2MemoryEntry* entries, usize count) {
    RELAY_TRY_ASSIGN(tag, begin_tag(kTagMemoryMap, 8 + count * 24));
    put32(tag + 8, 24);  // entry_size
    put32(tag + 12, 0);  // entry_version
    for (usize i = 0; i < count; ++i) {
        u8* entry = tag + 16 + i * 24;
        put64(entry, entries[i].base);
        put64(entry + 8, entries[i].size);
        put32(entry + 16, entries[i].type);
        put32(entry + 20, 0);
    }
    return ok_status();
}

Status Multiboot2Writer::add_acpi_rsdp(const u8* rsdp, usize length) {
    if (length != 20 && length != 36) {
        return make_error(ErrorCode::kInvalidArgument, "RSDP of {} bytes (20 or 36 expected)",
                          length);
    }
    RELAY_TRY_ASSIGN(tag, begin_tag(length == 36 ? kTagAcpiNew : kTagAcpiOld, length));
    std::memcpy(tag + 8, rsdp, length);
    return ok_status();
}

Status Multiboot2Writer::add_load_base(HostPhysAddr base) {
    if (base.raw() > 0xFFFFFFFFull) {
        return make_error(ErrorCode::kOutOfRange, "load base {} is above 4 GiB", base);
    }
    RELAY_TRY_ASSIGN(tag, begin_tag(kTagLoadBase, 4));
    put32(tag + 8, static_cast<u32>(base.raw()));
    return ok_status();
}

Result<usize> Multiboot2Writer::finish() {
    RELAY_TRY_ASSIGN(tag, begin_tag(kTagEnd, 0));
    (void)tag;
    finished_ = true;
    put32(buffer_, static_cast<u32>(used_));
    put32(buffer_ + 4, 0);
    return used_;
}

Result<usize> mark_preserved(const Multiboot2MemoryEntry* map, usize map_count,
                             const HostPhysRange* preserved, usize preserved_count,
                             Multiboot2MemoryEntry* out, usize capacity) {
    usize written = 0;
    auto emit = [&](u64 base, u64 size, u32 type) -> Status {
        if (size == 0) {
            return ok_status();
        }
        if (written == capacity) {
            return make_error(ErrorCode::kOutOfMemory, "memory map needs more than {} entries",
                              capacity);
        }
        out[written++] = Multiboot2MemoryEntry{base, size, type};
        return ok_status();
    };
    for (usize i = 0; i < map_count; ++i) {
        const Multiboot2MemoryEntry& entry = map[i];
        if (entry.type != kMemoryUsable || entry.size == 0) {
            RELAY_TRY(emit(entry.base, entry.size, entry.type));
            continue;
        }
        // Walk the usable entry, cutting out every preserved range in address order.
        u64 cursor = entry.base;
        u64 end = entry.base + entry.size;
        while (cursor < end) {
            // The lowest preserved range that overlaps [cursor, end).
            u64 next_start = end;
            u64 next_end = end;
            for (usize p = 0; p < preserved_count; ++p) {
                u64 start = preserved[p].base().raw();
                u64 stop = start + preserved[p].size();
                if (preserved[p].empty() || stop <= cursor || start >= end) {
                    continue;
                }
                u64 clipped = start < cursor ? cursor : start;
                if (clipped < next_start) {
                    next_start = clipped;
                    next_end = stop < end ? stop : end;
                }
            }
            RELAY_TRY(emit(cursor, next_start - cursor, kMemoryUsable));
            if (next_start == end) {
                break;
            }
            // Merge preserved ranges that touch or overlap into one entry.
            bool extended = true;
            while (extended) {
                extended = false;
                for (usize p = 0; p < preserved_count; ++p) {
                    u64 start = preserved[p].base().raw();
                    u64 stop = start + preserved[p].size();
                    u64 clipped = stop < end ? stop : end;
                    if (!preserved[p].empty() && start <= next_end && clipped > next_end) {
                        next_end = clipped;
                        extended = true;
                    }
                }
            }
            RELAY_TRY(emit(next_start, next_end - next_start, kMemoryRelayPreserved));
            cursor = next_end;
        }
    }
    return written;
}

}  // namespace relay::kexec
