#include "hv/config/device_tree_blob.hpp"

#include <libfdt.h>

#include "hv/config/big_endian.hpp"

namespace relay::hyperlaunch {
namespace {

// Header layout, version 17 (Devicetree Specification v0.4 §5.2).
constexpr u32 kMagic = 0xD00DFEED;
constexpr usize kHeaderSize = 40;
constexpr usize kOffsetMagic = 0;
constexpr usize kOffsetTotalSize = 4;
constexpr usize kOffsetStructure = 8;
constexpr usize kOffsetStrings = 12;
constexpr usize kOffsetReserveMap = 16;
constexpr usize kOffsetVersion = 20;
constexpr usize kOffsetLastCompatibleVersion = 24;
constexpr usize kOffsetStringsSize = 32;
constexpr usize kOffsetStructureSize = 36;
constexpr u32 kVersion = 17;

// Structure block tokens (§5.4.1).
constexpr u32 kTokenBeginNode = 0x1;
constexpr u32 kTokenEndNode = 0x2;
constexpr u32 kTokenProperty = 0x3;
constexpr u32 kTokenNop = 0x4;
constexpr u32 kTokenEnd = 0x9;
constexpr usize kTokenSize = 4;
constexpr usize kPropertyHeaderSize = 12;  // token, value length, name offset

// libfdt offsets are `int`.
constexpr u64 kMaxBlobSize = 0x7FFFFFFF;

struct Header {
    u32 total_size;
    u32 structure_offset;
    u32 structure_size;
    u32 strings_offset;
    u32 strings_size;
    u32 reserve_map_offset;
};

u64 align_to_token(u64 offset) {
    return align_up_unchecked(offset, kTokenSize);
}

// [offset, offset + size) lies in [kHeaderSize, total). 64-bit sums cannot overflow.
bool block_fits(u64 offset, u64 size, u64 total) {
    return offset >= kHeaderSize && offset + size <= total;
}

Result<Header> read_header(std::span<const u8> blob) {
    if ((reinterpret_cast<uptr>(blob.data()) & 7) != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "device tree: blob at {} is not 8-byte aligned (libfdt requires it)",
                     static_cast<const void*>(blob.data()));
    }
    if (blob.size() < kHeaderSize) {
        return Error(ErrorCode::kTruncated,
                     "device tree: {} bytes is shorter than the {}-byte header", blob.size(),
                     kHeaderSize);
    }
    const u8* bytes = blob.data();
    u32 magic = load_big_endian_u32(bytes + kOffsetMagic);
    if (magic != kMagic) {
        return Error(ErrorCode::kBadMagic,
                     "device tree: magic is {:#x}, expected {:#x} (multiboot module 0 must "
                     "be a compiled device tree)",
                     magic, kMagic);
    }
    u32 version = load_big_endian_u32(bytes + kOffsetVersion);
    u32 last_compatible = load_big_endian_u32(bytes + kOffsetLastCompatibleVersion);
    if (version < kVersion || last_compatible > kVersion || last_compatible > version) {
        return Error(ErrorCode::kVersionMismatch,
                     "device tree: version {} (last compatible {}); Relay reads version {} "
                     "blobs as dtc writes them",
                     version, last_compatible, kVersion);
    }
    Header header{
        .total_size = load_big_endian_u32(bytes + kOffsetTotalSize),
        .structure_offset = load_big_endian_u32(bytes + kOffsetStructure),
        .structure_size = load_big_endian_u32(bytes + kOffsetStructureSize),
        .strings_offset = load_big_endian_u32(bytes + kOffsetStrings),
        .strings_size = load_big_endian_u32(bytes + kOffsetStringsSize),
        .reserve_map_offset = load_big_endian_u32(bytes + kOffsetReserveMap),
    };
    if (header.total_size < kHeaderSize || header.total_size > blob.size() ||
        header.total_size > kMaxBlobSize) {
        return Error(ErrorCode::kTruncated,
                     "device tree: header says {} bytes, the module holds {} bytes",
                     header.total_size, blob.size());
    }
    if (!block_fits(header.structure_offset, header.structure_size, header.total_size) ||
        header.structure_offset % kTokenSize != 0 || header.structure_size % kTokenSize != 0) {
        return Error(ErrorCode::kCorrupt,
                     "device tree: structure block [{:#x}, +{:#x}) is misaligned or outside the "
                     "{}-byte blob",
                     header.structure_offset, header.structure_size, header.total_size);
    }
    if (!block_fits(header.strings_offset, header.strings_size, header.total_size)) {
        return Error(ErrorCode::kCorrupt,
                     "device tree: strings block [{:#x}, +{:#x}) is outside the {}-byte blob",
                     header.strings_offset, header.strings_size, header.total_size);
    }
    if (!block_fits(header.reserve_map_offset, 0, header.total_size) ||
        header.reserve_map_offset % 8 != 0) {
        return Error(ErrorCode::kCorrupt,
                     "device tree: memory reservation map offset {:#x} is misaligned or outside "
                     "the {}-byte blob",
                     header.reserve_map_offset, header.total_size);
    }
    return header;
}

// Returns the length of the NUL-terminated string at data[start..end), or `end - start`
// when it is not terminated before `end`.
u64 bounded_string_length(const u8* data, u64 start, u64 end) {
    u64 length = 0;
    while (start + length < end && data[start + length] != 0) {
        ++length;
    }
    return length;
}

class StructureWalker {
public:
    StructureWalker(const u8* blob, const Header& header)
        : structure_(blob + header.structure_offset),
          structure_size_(header.structure_size),
          strings_(blob + header.strings_offset),
          strings_size_(header.strings_size) {}

    Status walk() {
        // Every step advances `offset_` by at least one token, so this bound is never
        // the reason the loop ends on a well-formed blob.
        const u64 max_steps = structure_size_ / kTokenSize + 1;
        for (u64 step = 0; step < max_steps; ++step) {
            if (offset_ + kTokenSize > structure_size_) {
                return corrupt("structure block ends at {:#x} without FDT_END", offset_);
            }
            u32 token = load_big_endian_u32(structure_ + offset_);
            switch (token) {
                case kTokenBeginNode:
                    RELAY_TRY(begin_node());
                    break;
                case kTokenEndNode:
                    RELAY_TRY(end_node());
                    break;
                case kTokenProperty:
                    RELAY_TRY(property());
                    break;
                case kTokenNop:
                    offset_ += kTokenSize;
                    break;
                case kTokenEnd:
                    return end();
                default:
                    return corrupt("unknown token {:#x} at structure offset {:#x}", token, offset_);
            }
        }
        return corrupt("structure block has no FDT_END within {} bytes", structure_size_);
    }

private:
    template <typename... Args>
    static Error corrupt(const char* fmt, const Args&... args) {
        Error error(ErrorCode::kCorrupt, fmt, args...);
        error.prefix("device tree: ");
        return error;
    }

    Status begin_node() {
        if (root_closed_) {
            return corrupt("a second top-level node starts at structure offset {:#x}", offset_);
        }
        u64 name_start = offset_ + kTokenSize;
        u64 name_length = bounded_string_length(structure_, name_start, structure_size_);
        if (name_start + name_length >= structure_size_) {
            return corrupt("node name at structure offset {:#x} is not terminated", offset_);
        }
        bool is_root = depth_ == 0;
        if (is_root != (name_length == 0)) {
            return corrupt("node at structure offset {:#x}: {}", offset_,
                           is_root ? "the root node must have an empty name"
                                   : "only the root node may have an empty name");
        }
        if (depth_ == kMaxDeviceTreeDepth) {
            return corrupt("nodes nest deeper than {} levels at structure offset {:#x}",
                           kMaxDeviceTreeDepth, offset_);
        }
        ++depth_;
        properties_allowed_ = true;
        offset_ = align_to_token(name_start + name_length + 1);
        return ok_status();
    }

    Status end_node() {
        if (depth_ == 0) {
            return corrupt("FDT_END_NODE outside any node at structure offset {:#x}", offset_);
        }
        --depth_;
        root_closed_ = depth_ == 0;
        // Properties must precede subnodes (§5.4.2): libfdt would not see a property
        // that follows a subnode's end.
        properties_allowed_ = false;
        offset_ += kTokenSize;
        return ok_status();
    }

    Status property() {
        if (depth_ == 0) {
            return corrupt("property outside any node at structure offset {:#x}", offset_);
        }
        if (!properties_allowed_) {
            return corrupt("property after a subnode at structure offset {:#x}", offset_);
        }
        if (offset_ + kPropertyHeaderSize > structure_size_) {
            return corrupt("property header at structure offset {:#x} is truncated", offset_);
        }
        u32 value_length = load_big_endian_u32(structure_ + offset_ + 4);
        u32 name_offset = load_big_endian_u32(structure_ + offset_ + 8);
        u64 value_end = offset_ + kPropertyHeaderSize + value_length;
        if (value_end > structure_size_) {
            return corrupt(
                "property at structure offset {:#x}: {}-byte value runs past the "
                "{}-byte structure block",
                offset_, value_length, structure_size_);
        }
        if (name_offset >= strings_size_) {
            return corrupt(
                "property at structure offset {:#x}: name offset {:#x} is outside "
                "the {}-byte strings block",
                offset_, name_offset, strings_size_);
        }
        u64 name_length = bounded_string_length(strings_, name_offset, strings_size_);
        if (name_offset + name_length >= strings_size_) {
            return corrupt(
                "property at structure offset {:#x}: name at strings offset {:#x} "
                "is not terminated",
                offset_, name_offset);
        }
        if (name_length == 0) {
            return corrupt("property at structure offset {:#x} has an empty name", offset_);
        }
        offset_ = align_to_token(value_end);
        return ok_status();
    }

    Status end() {
        if (!root_closed_) {
            return corrupt(depth_ == 0 ? "FDT_END before the root node at {:#x}"
                                       : "FDT_END inside an open node at {:#x}",
                           offset_);
        }
        return ok_status();
    }

    const u8* structure_;
    u64 structure_size_;
    const u8* strings_;
    u64 strings_size_;
    u64 offset_ = 0;
    u32 depth_ = 0;
    bool root_closed_ = false;
    bool properties_allowed_ = false;
};

}  // namespace

Status verify_device_tree_blob(std::span<const u8> blob) {
    RELAY_TRY_ASSIGN(header, read_header(blob));
    // libfdt's own header check must agree: the lookups that follow rely on it.
    int libfdt_result = fdt_check_header(blob.data());
    if (libfdt_result != 0) {
        return Error(ErrorCode::kCorrupt, "device tree: libfdt rejects the header: {}",
                     fdt_strerror(libfdt_result));
    }
    StructureWalker walker(blob.data(), header);
    return walker.walk();
}

}  // namespace relay::hyperlaunch
