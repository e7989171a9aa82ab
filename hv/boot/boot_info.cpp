#include "hv/boot/boot_info.hpp"

#include "hv/boot/physical_memory_reader.hpp"

namespace relay {

const char* memory_type_name(MemoryType type) {
    switch (type) {
        case MemoryType::kUsable:
            return "usable";
        case MemoryType::kReserved:
            return "reserved";
        case MemoryType::kAcpiReclaimable:
            return "ACPI reclaimable";
        case MemoryType::kAcpiNvs:
            return "ACPI NVS";
        case MemoryType::kBadMemory:
            return "bad memory";
        case MemoryType::kPreserved:
            return "preserved (live update)";
    }
    return "unknown";
}

Status BootInfo::store_string(std::string_view text, u32* offset, u32* length) {
    if (text.size() > kMaxStringLength) {
        return make_error(ErrorCode::kOutOfRange, "string of {} bytes exceeds the limit of {}",
                          text.size(), kMaxStringLength);
    }
    // One byte more for a terminating NUL, so pool strings can also be used as C strings.
    if (text.size() + 1 > kStringPoolCapacity - string_pool_used_) {
        return make_error(ErrorCode::kOutOfMemory, "boot strings exceed the {}-byte string pool",
                          kStringPoolCapacity);
    }
    for (usize i = 0; i < text.size(); ++i) {
        string_pool_[string_pool_used_ + i] = text[i];
    }
    string_pool_[string_pool_used_ + text.size()] = '\0';
    *offset = static_cast<u32>(string_pool_used_);
    *length = static_cast<u32>(text.size());
    string_pool_used_ += text.size() + 1;
    return ok_status();
}

Status BootInfo::add_memory_region(HostPhysAddr base, u64 size, MemoryType type) {
    if (memory_region_count == kMaxMemoryRegions) {
        return make_error(ErrorCode::kOutOfRange, "memory map has more than {} entries",
                          kMaxMemoryRegions);
    }
    if (!HostPhysRange::fits(base, size)) {
        return make_error(ErrorCode::kCorrupt,
                          "memory map entry {} + {:#x} wraps around the address space", base, size);
    }
    memory_map[memory_region_count++] = MemoryRegion{base, size, type};
    return ok_status();
}

Status BootInfo::add_module(HostPhysAddr start, u64 size, std::string_view command_line) {
    if (module_count == kMaxModules) {
        return make_error(ErrorCode::kOutOfRange, "more than {} boot modules", kMaxModules);
    }
    HostPhysRange range;
    if (!HostPhysRange::make(start, size, &range)) {
        return make_error(ErrorCode::kCorrupt, "module {} at {} with size {:#x} wraps around",
                          module_count, start, size);
    }
    BootModule& module = modules[module_count];
    module.range = range;
    RELAY_TRY(store_string(command_line, &module.command_line_offset, &module.command_line_length));
    ++module_count;
    return ok_status();
}

Status BootInfo::validate() const {
    for (usize i = 0; i < module_count; ++i) {
        const HostPhysRange& range = modules[i].range;
        if (range.overlaps(image)) {
            return make_error(ErrorCode::kCorrupt,
                              "module {} ({}..{}) overlaps the hypervisor image ({}..{})", i,
                              range.base(), range.base() + range.size(), image.base(),
                              image.base() + image.size());
        }
        if (range.overlaps(info_structure)) {
            return make_error(ErrorCode::kCorrupt,
                              "module {} ({}..{}) overlaps the boot information at {}", i,
                              range.base(), range.base() + range.size(), info_structure.base());
        }
        for (usize j = 0; j < i; ++j) {
            if (range.overlaps(modules[j].range)) {
                return make_error(ErrorCode::kCorrupt,
                                  "module {} ({}..{}) overlaps module {} ({}..{})", i, range.base(),
                                  range.base() + range.size(), j, modules[j].range.base(),
                                  modules[j].range.base() + modules[j].range.size());
            }
        }
    }
    return ok_status();
}

Result<std::string_view> read_physical_string(const PhysicalMemoryReader& memory,
                                              HostPhysAddr address, const char* what) {
    // Map one byte at a time: the string may end right before inaccessible memory.
    for (u64 length = 0; length <= BootInfo::kMaxStringLength; ++length) {
        if (!address.can_add(length)) {
            break;
        }
        const u8* byte = memory.map(address + length, 1);
        if (byte == nullptr) {
            return make_error(ErrorCode::kOutOfRange,
                              "{} at {} runs into inaccessible memory after {} bytes", what,
                              address, length);
        }
        if (*byte == 0) {
            const u8* start = memory.map(address, length + 1);
            if (start == nullptr) {
                return make_error(ErrorCode::kOutOfRange, "{} at {} is not contiguous", what,
                                  address);
            }
            return std::string_view(reinterpret_cast<const char*>(start), length);
        }
    }
    return make_error(ErrorCode::kCorrupt, "{} at {} is not terminated within {} bytes", what,
                      address, BootInfo::kMaxStringLength);
}

}  // namespace relay
