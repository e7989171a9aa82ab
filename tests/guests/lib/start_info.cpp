#include "tests/guests/lib/start_info.hpp"

namespace relay::guest {

namespace {

// [address, address + size) lies inside [0, limit) without overflow.
bool inside(u64 address, u64 size, u64 limit) {
    u64 end = 0;
    return !__builtin_add_overflow(address, size, &end) && end <= limit;
}

// An array of `count` elements of `element_size` at `address`: aligned, inside RAM.
Status check_array(const char* what, u64 address, u64 count, u64 element_size, u64 limit,
                   u64 max_count) {
    if (count == 0) {
        return ok_status();
    }
    if (count > max_count) {
        return make_error(ErrorCode::kCorrupt, "start info: {} {}, more than the {} allowed", count,
                          what, max_count);
    }
    if (!is_aligned(address, 8) || !inside(address, count * element_size, limit)) {
        return make_error(ErrorCode::kCorrupt,
                          "start info: {} array at {:#x} ({} entries) is not 8-byte aligned "
                          "inside guest RAM",
                          what, address, count);
    }
    return ok_status();
}

}  // namespace

Result<StartInfo> StartInfo::validate(u64 address, uptr memory_base, u64 accessible_bytes) {
    if (!is_aligned(address, 8) || !inside(address, sizeof(relay_start_info), accessible_bytes)) {
        return make_error(ErrorCode::kOutOfRange,
                          "start info: address {:#x} is not an aligned block in guest RAM",
                          address);
    }
    StartInfo info;
    info.memory_base_ = memory_base;
    info.address_ = address;
    const relay_start_info& block = info.block();
    if (block.magic != RELAY_START_INFO_MAGIC) {
        return make_error(ErrorCode::kBadMagic,
                          "start info at {:#x}: magic is {:#x}, expected {:#x} (\"RLAYINFO\")",
                          address, block.magic, RELAY_START_INFO_MAGIC);
    }
    if (block.version < RELAY_START_INFO_VERSION) {
        return make_error(ErrorCode::kVersionMismatch,
                          "start info at {:#x}: version {}, this guest needs {} or later", address,
                          block.version, RELAY_START_INFO_VERSION);
    }
    if (block.size < sizeof(relay_start_info)) {
        return make_error(ErrorCode::kTruncated,
                          "start info at {:#x}: size {} bytes, this guest reads {}", address,
                          block.size, sizeof(relay_start_info));
    }
    u64 limit = block.memory_size < accessible_bytes ? block.memory_size : accessible_bytes;
    if (!inside(address, block.size, limit)) {
        return make_error(ErrorCode::kCorrupt,
                          "start info at {:#x}: its {} bytes do not fit in {} bytes of guest RAM",
                          address, block.size, block.memory_size);
    }
    if (block.vcpus == 0) {
        return make_error(ErrorCode::kCorrupt, "start info: the domain has 0 vCPUs");
    }
    info.extents_[info.extent_count_++] = {address, block.size};

    // The command line: NUL-terminated. Whether command_line_length counts the NUL is not
    // assumed: the first NUL within length + 1 bytes ends it.
    if (block.command_line != 0 || block.command_line_length != 0) {
        u64 span = static_cast<u64>(block.command_line_length) + 1;
        if (!inside(block.command_line, span, limit)) {
            return make_error(ErrorCode::kCorrupt,
                              "start info: command line at {:#x} ({} bytes) is not inside guest "
                              "RAM",
                              block.command_line, block.command_line_length);
        }
        const char* text = reinterpret_cast<const char*>(memory_base + block.command_line);
        usize length = 0;
        while (length < span && text[length] != '\0') {
            ++length;
        }
        if (length == span) {
            return make_error(ErrorCode::kCorrupt,
                              "start info: command line at {:#x} is not NUL-terminated within "
                              "{} bytes",
                              block.command_line, span);
        }
        info.command_line_ = std::string_view(text, length);
        info.extents_[info.extent_count_++] = {block.command_line, span};
    }

    RELAY_TRY(check_array("memory ranges", block.memory_ranges, block.memory_range_count,
                          sizeof(relay_memory_range), limit, kMaxMemoryRanges));
    if (block.memory_range_count != 0) {
        info.extents_[info.extent_count_++] = {
            block.memory_ranges, block.memory_range_count * sizeof(relay_memory_range)};
    }
    RELAY_TRY(check_array("modules", block.modules, block.module_count, sizeof(relay_start_module),
                          limit, kMaxModules));
    if (block.module_count != 0) {
        info.extents_[info.extent_count_++] = {block.modules,
                                               block.module_count * sizeof(relay_start_module)};
    }

    usize name_length = 0;
    while (name_length < sizeof(block.name) && block.name[name_length] != '\0') {
        ++name_length;
    }
    info.name_ = std::string_view(block.name, name_length);
    return info;
}

std::span<const relay_memory_range> StartInfo::memory_ranges() const {
    const relay_start_info& info = block();
    if (info.memory_range_count == 0) {
        return {};
    }
    return {reinterpret_cast<const relay_memory_range*>(memory_base_ + info.memory_ranges),
            info.memory_range_count};
}

std::span<const relay_start_module> StartInfo::modules() const {
    const relay_start_info& info = block();
    if (info.module_count == 0) {
        return {};
    }
    return {reinterpret_cast<const relay_start_module*>(memory_base_ + info.modules),
            info.module_count};
}

}  // namespace relay::guest
