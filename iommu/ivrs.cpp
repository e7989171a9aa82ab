#include "iommu/ivrs.hpp"
#include "lib/little_endian.hpp"

#include <cstring>

namespace relay::amd_vi {

namespace {

constexpr usize kAcpiHeaderSize = 36;
constexpr usize kIvrsHeaderSize = 48;  // ACPI header + IVinfo (4) + reserved (8), §5.2.1
constexpr usize kIvhd10HeaderSize = 24;
constexpr usize kIvhd11HeaderSize = 40;  // also type 40h
constexpr usize kIvmdSize = 32;

// IVHD device entry types (§5.2.2.2, Table 95).
constexpr u8 kEntryPad = 0x00;
constexpr u8 kEntryAll = 0x01;
constexpr u8 kEntrySelect = 0x02;
constexpr u8 kEntryRangeStart = 0x03;
constexpr u8 kEntryRangeEnd = 0x04;
constexpr u8 kEntryAliasSelect = 0x42;
constexpr u8 kEntryAliasRangeStart = 0x43;
constexpr u8 kEntryExtendedSelect = 0x46;
constexpr u8 kEntryExtendedRangeStart = 0x47;
constexpr u8 kEntrySpecial = 0x48;
constexpr u8 kEntryAcpiHid = 0xF0;
constexpr usize kAcpiHidFixedSize = 22;  // before the UID bytes

bool is_ivhd(u8 type) {
    return type == kIvhdType10 || type == kIvhdType11 || type == kIvhdType40;
}
bool is_ivmd(u8 type) {
    return type == kIvmdAll || type == kIvmdSelect || type == kIvmdRange;
}

usize ivhd_header_size(u8 type) {
    return type == kIvhdType10 ? kIvhd10HeaderSize : kIvhd11HeaderSize;
}

// A Start of Range entry waiting for its End of Range.
struct PendingRange {
    bool active = false;
    DeviceRange range;
    u8 type = 0;
};

class IvhdParser {
public:
    IvhdParser(const u8* table, IvrsInfo* out) : table_(table), out_(out) {}

    Status parse_block(usize block, usize block_length) {
        const u8* b = table_ + block;
        u8 type = b[0];
        usize header = ivhd_header_size(type);
        if (block_length < header) {
            return make_error(ErrorCode::kTruncated,
                              "IVRS: IVHD type {:#x} at offset {:#x} has length {}, shorter than "
                              "its {}-byte header",
                              type, block, block_length, header);
        }
        if (out_->unit_count == IvrsInfo::kMaxUnits) {
            return make_error(ErrorCode::kOutOfRange,
                              "IVRS: IVHD at offset {:#x} is IOMMU unit {}, more than the fixed "
                              "capacity of {}",
                              block, out_->unit_count + 1, IvrsInfo::kMaxUnits);
        }
        IommuUnit& unit = out_->units[out_->unit_count];
        unit = IommuUnit();
        unit.block_type = type;
        unit.flags = b[1];
        unit.device_id = DeviceId(load_le16(b + 4));
        unit.capability_offset = load_le16(b + 6);
        unit.mmio_base = HostPhysAddr(load_le64(b + 8));
        // The register block is 16 KiB aligned (§3.4, bits 51:14 of the base address).
        if (unit.mmio_base.raw() == 0 || !unit.mmio_base.is_aligned(16 * KiB) ||
            unit.mmio_base.raw() >= (u64{1} << 52)) {
            return make_error(ErrorCode::kCorrupt,
                              "IVRS: IVHD at offset {:#x}: register base {:#x} is not a 16 KiB "
                              "aligned address below 2^52",
                              block, unit.mmio_base.raw());
        }
        unit.pci_segment = load_le16(b + 16);
        unit.iommu_info = load_le16(b + 18);
        unit.feature_reporting = load_le32(b + 20);
        if (type != kIvhdType10) {
            unit.efr_image = load_le64(b + 24);
            unit.efr_image2 = load_le64(b + 32);
        }
        unit.first_range = out_->range_count;
        unit.table_offset = static_cast<u32>(block);
        block_ = block;
        block_end_ = block + block_length;
        RELAY_TRY(parse_entries(block + header));
        unit.range_count = out_->range_count - unit.first_range;
        ++out_->unit_count;
        return ok_status();
    }

private:
    Status parse_entries(usize offset) {
        PendingRange pending;
        while (offset < block_end_) {
            const u8* e = table_ + offset;
            u8 type = e[0];
            RELAY_TRY_ASSIGN(size, entry_size(offset));
            if (pending.active && type != kEntryRangeEnd && type != kEntryPad) {
                return make_error(ErrorCode::kCorrupt,
                                  "IVRS: IVHD at offset {:#x}: {} start at offset {:#x} is "
                                  "followed by entry type {:#x} at offset {:#x}, not by End of "
                                  "Range",
                                  block_, device_entry_kind_name(pending.range.kind),
                                  pending.range.table_offset, type, offset);
            }
            RELAY_TRY(parse_entry(offset, type, pending));
            offset += size;
        }
        if (pending.active) {
            return make_error(ErrorCode::kCorrupt,
                              "IVRS: IVHD at offset {:#x}: {} start at offset {:#x} has no End of "
                              "Range before the block ends at {:#x}",
                              block_, device_entry_kind_name(pending.range.kind),
                              pending.range.table_offset, block_end_);
        }
        return ok_status();
    }

    // The size of the entry at `offset`, checked against the block end. Types below 40h
    // are 4 bytes, below 80h 8 bytes; of the variable-length types only F0h is defined.
    Result<usize> entry_size(usize offset) const {
        u8 type = table_[offset];
        usize available = block_end_ - offset;
        usize size = 0;
        if (type < 0x40) {
            size = 4;
        } else if (type < 0x80) {
            size = 8;
        } else if (type == kEntryAcpiHid) {
            if (available < kAcpiHidFixedSize) {
                return make_error(ErrorCode::kTruncated,
                                  "IVRS: IVHD at offset {:#x}: ACPI HID entry at offset {:#x} "
                                  "needs {} bytes, the block ends at {:#x}",
                                  block_, offset, kAcpiHidFixedSize, block_end_);
            }
            size = kAcpiHidFixedSize + table_[offset + 21];
        } else {
            return make_error(ErrorCode::kUnsupported,
                              "IVRS: IVHD at offset {:#x}: variable-length device entry type "
                              "{:#x} at offset {:#x} has no known length",
                              block_, type, offset);
        }
        if (size > available) {
            return make_error(ErrorCode::kTruncated,
                              "IVRS: IVHD at offset {:#x}: device entry type {:#x} at offset "
                              "{:#x} needs {} bytes, the block ends at {:#x}",
                              block_, type, offset, size, block_end_);
        }
        return size;
    }

    Status parse_entry(usize offset, u8 type, PendingRange& pending) {
        const u8* e = table_ + offset;
        DeviceRange range;
        range.table_offset = static_cast<u32>(offset);
        range.first = DeviceId(load_le16(e + 1));
        range.last = range.first;
        range.dte_setting = e[3];
        switch (type) {
            case kEntryPad:
                return ok_status();
            case kEntryAll:
                range.kind = DeviceEntryKind::kAll;
                range.first = DeviceId(0);
                range.last = DeviceId(0xFFFF);
                return add(range);
            case kEntrySelect:
                range.kind = DeviceEntryKind::kSelect;
                return add(range);
            case kEntryAliasSelect:
                range.kind = DeviceEntryKind::kAliasSelect;
                range.aliased = true;
                range.alias = DeviceId(load_le16(e + 5));
                return add(range);
            case kEntryExtendedSelect:
                range.kind = DeviceEntryKind::kExtendedSelect;
                range.extended_setting = load_le32(e + 4);
                return add(range);
            case kEntryRangeStart:
            case kEntryAliasRangeStart:
            case kEntryExtendedRangeStart:
                range.kind = type == kEntryRangeStart        ? DeviceEntryKind::kRange
                             : type == kEntryAliasRangeStart ? DeviceEntryKind::kAliasRange
                                                             : DeviceEntryKind::kExtendedRange;
                if (type == kEntryAliasRangeStart) {
                    range.aliased = true;
                    range.alias = DeviceId(load_le16(e + 5));
                } else if (type == kEntryExtendedRangeStart) {
                    range.extended_setting = load_le32(e + 4);
                }
                pending.active = true;
                pending.range = range;
                pending.type = type;
                return ok_status();
            case kEntryRangeEnd: {
                if (!pending.active) {
                    return make_error(ErrorCode::kCorrupt,
                                      "IVRS: IVHD at offset {:#x}: End of Range at offset {:#x} "
                                      "without a Start of Range",
                                      block_, offset);
                }
                DeviceRange closed = pending.range;
                closed.last = range.first;
                pending.active = false;
                if (closed.last < closed.first) {
                    return make_error(ErrorCode::kCorrupt,
                                      "IVRS: IVHD at offset {:#x}: End of Range {} at offset "
                                      "{:#x} is below its start {} at offset {:#x}",
                                      block_, closed.last.text().view(), offset,
                                      closed.first.text().view(), closed.table_offset);
                }
                return add(closed);
            }
            case kEntrySpecial:
                range.kind = DeviceEntryKind::kSpecial;
                range.first = DeviceId(load_le16(e + 5));  // bytes 1-2 are reserved
                range.last = range.first;
                range.special_handle = e[4];
                range.special_variety = e[7];
                return add(range);
            case kEntryAcpiHid:
                range.kind = DeviceEntryKind::kAcpiHid;
                std::memcpy(range.hardware_id, e + 4, 8);
                std::memcpy(range.compatible_id, e + 12, 8);
                return add(range);
            default:
                // Reserved types: their size is known from the type, so they are skipped.
                ++out_->skipped_entries;
                return ok_status();
        }
    }

    Status add(const DeviceRange& range) {
        if (out_->range_count == IvrsInfo::kMaxRanges) {
            return make_error(ErrorCode::kOutOfRange,
                              "IVRS: IVHD at offset {:#x}: device entry at offset {:#x} is "
                              "range {}, more than the fixed capacity of {}",
                              block_, range.table_offset, out_->range_count + 1,
                              IvrsInfo::kMaxRanges);
        }
        out_->ranges[out_->range_count++] = range;
        return ok_status();
    }

    const u8* table_;
    IvrsInfo* out_;
    usize block_ = 0;
    usize block_end_ = 0;
};

Status parse_ivmd(const u8* table, usize block, usize block_length, IvrsInfo* out) {
    const u8* b = table + block;
    if (block_length < kIvmdSize) {
        return make_error(ErrorCode::kTruncated,
                          "IVRS: IVMD type {:#x} at offset {:#x} has length {}, need {}", b[0],
                          block, block_length, kIvmdSize);
    }
    if (out->memory_count == IvrsInfo::kMaxMemoryDefinitions) {
        return make_error(ErrorCode::kOutOfRange,
                          "IVRS: IVMD at offset {:#x} is memory definition {}, more than the "
                          "fixed capacity of {}",
                          block, out->memory_count + 1, IvrsInfo::kMaxMemoryDefinitions);
    }
    MemoryDefinition m;
    m.block_type = b[0];
    m.flags = b[1];
    m.table_offset = static_cast<u32>(block);
    m.start = HostPhysAddr(load_le64(b + 16));
    m.length = load_le64(b + 24);
    if (m.block_type == kIvmdAll) {
        m.first = DeviceId(0);
        m.last = DeviceId(0xFFFF);
    } else {
        m.first = DeviceId(load_le16(b + 4));
        m.last = m.block_type == kIvmdRange ? DeviceId(load_le16(b + 6)) : m.first;
    }
    if (m.last < m.first) {
        return make_error(ErrorCode::kCorrupt,
                          "IVRS: IVMD at offset {:#x}: device range end {} is below its start {}",
                          block, m.last.text().view(), m.first.text().view());
    }
    if (m.length != 0 && !m.start.can_add(m.length - 1)) {
        return make_error(ErrorCode::kCorrupt,
                          "IVRS: IVMD at offset {:#x}: memory {:#x} + {:#x} wraps around", block,
                          m.start.raw(), m.length);
    }
    out->memory[out->memory_count++] = m;
    return ok_status();
}

struct IvhdBlock {
    usize offset = 0;
    usize length = 0;
    u8 type = 0;
    u16 segment = 0;
    DeviceId device_id;
};

}  // namespace

const char* device_entry_kind_name(DeviceEntryKind kind) {
    switch (kind) {
        case DeviceEntryKind::kAll:
            return "All";
        case DeviceEntryKind::kSelect:
            return "Select";
        case DeviceEntryKind::kRange:
            return "Range";
        case DeviceEntryKind::kAliasSelect:
            return "Alias Select";
        case DeviceEntryKind::kAliasRange:
            return "Alias Range";
        case DeviceEntryKind::kExtendedSelect:
            return "Extended Select";
        case DeviceEntryKind::kExtendedRange:
            return "Extended Range";
        case DeviceEntryKind::kSpecial:
            return "Special";
        case DeviceEntryKind::kAcpiHid:
            return "ACPI HID";
    }
    return "?";
}

const IommuUnit* IvrsInfo::unit_for(u16 segment, DeviceId id, const DeviceRange** range) const {
    const IommuUnit* best_unit = nullptr;
    const DeviceRange* best = nullptr;
    for (usize u = 0; u < unit_count; ++u) {
        const IommuUnit& unit = units[u];
        if (unit.pci_segment != segment) {
            continue;
        }
        for (usize r = 0; r < unit.range_count; ++r) {
            const DeviceRange& candidate = ranges[unit.first_range + r];
            if (!candidate.contains(id) || candidate.kind == DeviceEntryKind::kAcpiHid) {
                continue;
            }
            u32 width = static_cast<u32>(candidate.last.raw - candidate.first.raw);
            if (best == nullptr || width <= static_cast<u32>(best->last.raw - best->first.raw)) {
                best = &candidate;
                best_unit = &unit;
            }
        }
    }
    if (range != nullptr) {
        *range = best;
    }
    return best_unit;
}

const MemoryDefinition* IvrsInfo::memory_for(DeviceId id) const {
    for (usize m = 0; m < memory_count; ++m) {
        if (memory[m].first.raw <= id.raw && id.raw <= memory[m].last.raw) {
            return &memory[m];
        }
    }
    return nullptr;
}

// Two passes: the first checks every block header and lists the IVHD blocks, so that
// the second parses, for each unit, only the highest IVHD type describing it.
Status parse_ivrs(const u8* table, usize length, IvrsInfo* out) {
    // Field by field: a temporary IvrsInfo would put ~12 KiB on the hypervisor's stack.
    out->revision = 0;
    out->iv_info = 0;
    out->unit_count = 0;
    out->range_count = 0;
    out->memory_count = 0;
    out->skipped_blocks = 0;
    out->superseded_blocks = 0;
    out->skipped_entries = 0;
    if (length < kIvrsHeaderSize) {
        return make_error(ErrorCode::kTruncated,
                          "IVRS: {} bytes given, shorter than the {}-byte IVRS header", length,
                          kIvrsHeaderSize);
    }
    if (std::memcmp(table, "IVRS", 4) != 0) {
        // Shown as printable text: the bytes come from firmware and go to the console.
        char signature[5] = {};
        for (usize i = 0; i < 4; ++i) {
            signature[i] = table[i] >= 0x20 && table[i] <= 0x7E ? static_cast<char>(table[i]) : '?';
        }
        return make_error(ErrorCode::kBadMagic, "IVRS: signature is '{}', expected 'IVRS'",
                          signature);
    }
    usize table_length = load_le32(table + 4);
    if (table_length < kIvrsHeaderSize) {
        return make_error(ErrorCode::kTruncated,
                          "IVRS: header length {} is shorter than the {}-byte IVRS header",
                          table_length, kIvrsHeaderSize);
    }
    if (table_length > length) {
        return make_error(ErrorCode::kTruncated,
                          "IVRS: header length {} exceeds the {} bytes given", table_length,
                          length);
    }
    static_assert(kAcpiHeaderSize + 12 == kIvrsHeaderSize);
    out->revision = table[8];
    out->iv_info = load_le32(table + kAcpiHeaderSize);

    IvhdBlock blocks[IvrsInfo::kMaxBlocks];
    usize block_count = 0;
    for (usize offset = kIvrsHeaderSize; offset < table_length;) {
        if (table_length - offset < 4) {
            return make_error(ErrorCode::kTruncated,
                              "IVRS: {} bytes left at offset {:#x}, too short for a block header",
                              table_length - offset, offset);
        }
        u8 type = table[offset];
        usize block_length = load_le16(table + offset + 2);
        if (block_length < 4) {
            return make_error(ErrorCode::kCorrupt,
                              "IVRS: block type {:#x} at offset {:#x} has length {}", type, offset,
                              block_length);
        }
        if (block_length > table_length - offset) {
            return make_error(ErrorCode::kCorrupt,
                              "IVRS: block type {:#x} at offset {:#x} has length {:#x}, past the "
                              "table end at {:#x}",
                              type, offset, block_length, table_length);
        }
        if (is_ivhd(type)) {
            if (block_length < kIvhd10HeaderSize) {
                return make_error(ErrorCode::kTruncated,
                                  "IVRS: IVHD type {:#x} at offset {:#x} has length {}, shorter "
                                  "than its {}-byte header",
                                  type, offset, block_length, ivhd_header_size(type));
            }
            if (block_count == IvrsInfo::kMaxBlocks) {
                return make_error(ErrorCode::kOutOfRange,
                                  "IVRS: IVHD at offset {:#x} is block {}, more than the fixed "
                                  "capacity of {}",
                                  offset, block_count + 1, IvrsInfo::kMaxBlocks);
            }
            IvhdBlock& block = blocks[block_count++];
            block.offset = offset;
            block.length = block_length;
            block.type = type;
            block.device_id = DeviceId(load_le16(table + offset + 4));
            block.segment = load_le16(table + offset + 16);
        } else if (is_ivmd(type)) {
            RELAY_TRY(parse_ivmd(table, offset, block_length, out));
        } else {
            ++out->skipped_blocks;
        }
        offset += block_length;
    }

    IvhdParser parser(table, out);
    for (usize i = 0; i < block_count; ++i) {
        const IvhdBlock& block = blocks[i];
        bool superseded = false;
        for (usize j = 0; j < block_count; ++j) {
            const IvhdBlock& other = blocks[j];
            if (j == i || other.segment != block.segment || other.device_id != block.device_id) {
                continue;
            }
            if (other.type == block.type) {
                return make_error(ErrorCode::kCorrupt,
                                  "IVRS: IVHD type {:#x} at offset {:#x} describes IOMMU {} in "
                                  "segment {} again (first at offset {:#x})",
                                  block.type, i > j ? block.offset : other.offset,
                                  block.device_id.text().view(), block.segment,
                                  i > j ? other.offset : block.offset);
            }
            superseded = superseded || other.type > block.type;
        }
        if (superseded) {
            ++out->superseded_blocks;
            continue;
        }
        RELAY_TRY(parser.parse_block(block.offset, block.length));
    }
    return ok_status();
}

}  // namespace relay::amd_vi
