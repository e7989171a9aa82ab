#include "tests/fuzz/ivrs_fuzz_target.hpp"

#include <cstring>
#include <memory>
#include <string_view>

#include "iommu/ivrs.hpp"
#include "tests/fuzz/fuzz_contract.hpp"

namespace relay::tests {
namespace {

using amd_vi::DeviceEntryKind;
using amd_vi::DeviceRange;
using amd_vi::IommuUnit;
using amd_vi::IvrsInfo;
using amd_vi::MemoryDefinition;

void check_range(const IvrsInfo& info, const IommuUnit& unit, const DeviceRange& range,
                 usize size) {
    FUZZ_CHECK(range.first <= range.last, "range at offset {:#x}: first above last",
               range.table_offset);
    FUZZ_CHECK(range.table_offset < size, "range at offset {:#x} of a {}-byte table",
               range.table_offset, size);
    bool alias_kind =
        range.kind == DeviceEntryKind::kAliasSelect || range.kind == DeviceEntryKind::kAliasRange;
    FUZZ_CHECK(!range.aliased || alias_kind, "a {} entry at offset {:#x} is aliased",
               amd_vi::device_entry_kind_name(range.kind), range.table_offset);
    if (range.kind == DeviceEntryKind::kSpecial) {
        FUZZ_CHECK(range.first == range.last, "special entry at offset {:#x} is a range",
                   range.table_offset);
    }
    FUZZ_CHECK(range.hardware_id[8] == '\0' && range.compatible_id[8] == '\0',
               "ACPI ids at offset {:#x} not terminated", range.table_offset);
    if (range.kind != DeviceEntryKind::kAcpiHid) {
        // The unit that lists a device translates it (maybe a later, narrower entry of
        // another unit in the same segment wins, but some unit does).
        FUZZ_CHECK(info.unit_for(unit.pci_segment, range.first) != nullptr &&
                       info.unit_for(unit.pci_segment, range.last) != nullptr,
                   "no unit for the range at offset {:#x}", range.table_offset);
    }
}

void check_accepted(const IvrsInfo& info, usize size) {
    FUZZ_CHECK(info.unit_count <= IvrsInfo::kMaxUnits, "{} units", info.unit_count);
    FUZZ_CHECK(info.range_count <= IvrsInfo::kMaxRanges, "{} ranges", info.range_count);
    FUZZ_CHECK(info.memory_count <= IvrsInfo::kMaxMemoryDefinitions, "{} memory definitions",
               info.memory_count);
    for (usize u = 0; u < info.unit_count; ++u) {
        const IommuUnit& unit = info.units[u];
        FUZZ_CHECK(unit.block_type == amd_vi::kIvhdType10 ||
                       unit.block_type == amd_vi::kIvhdType11 ||
                       unit.block_type == amd_vi::kIvhdType40,
                   "unit {} from block type {:#x}", u, unit.block_type);
        FUZZ_CHECK(unit.table_offset < size, "unit {} at offset {:#x}", u, unit.table_offset);
        FUZZ_CHECK(unit.first_range <= info.range_count &&
                       unit.range_count <= info.range_count - unit.first_range,
                   "unit {}: ranges {}+{} of {}", u, unit.first_range, unit.range_count,
                   info.range_count);
        for (usize other = 0; other < u; ++other) {
            const IommuUnit& earlier = info.units[other];
            FUZZ_CHECK(
                earlier.pci_segment != unit.pci_segment || earlier.device_id != unit.device_id,
                "units {} and {} are one IOMMU", other, u);
            bool disjoint = unit.range_count == 0 || earlier.range_count == 0 ||
                            unit.first_range >= earlier.first_range + earlier.range_count ||
                            earlier.first_range >= unit.first_range + unit.range_count;
            FUZZ_CHECK(disjoint, "units {} and {} share device ranges", other, u);
        }
        for (usize r = 0; r < unit.range_count; ++r) {
            check_range(info, unit, info.unit_ranges(unit)[r], size);
        }
    }
    for (usize m = 0; m < info.memory_count; ++m) {
        const MemoryDefinition& memory = info.memory[m];
        FUZZ_CHECK(memory.block_type == amd_vi::kIvmdAll ||
                       memory.block_type == amd_vi::kIvmdSelect ||
                       memory.block_type == amd_vi::kIvmdRange,
                   "memory definition {} from block type {:#x}", m, memory.block_type);
        FUZZ_CHECK(memory.first <= memory.last, "memory definition {}: first above last", m);
        u64 end = 0;
        FUZZ_CHECK(!__builtin_add_overflow(memory.start.raw(), memory.length, &end),
                   "memory definition {} wraps", m);
        FUZZ_CHECK(memory.table_offset < size, "memory definition {} at offset {:#x}", m,
                   memory.table_offset);
    }
}

}  // namespace

IvrsFuzzOutcome fuzz_ivrs_once(const uint8_t* data, std::size_t size) {
    // An exactly sized copy: AddressSanitizer reports any read past the table's end.
    std::unique_ptr<u8[]> table(new u8[size]);
    if (size > 0) {
        std::memcpy(table.get(), data, size);
    }
    auto info = std::make_unique<IvrsInfo>();
    Status status = amd_vi::parse_ivrs(table.get(), size, info.get());
    IvrsFuzzOutcome outcome;
    if (!status.ok()) {
        std::string_view message = status.error().message();
        FUZZ_CHECK(status.error().code() != ErrorCode::kOk, "a refusal has an error code");
        FUZZ_CHECK(!message.empty() && message.size() < Error::kMessageCapacity &&
                       is_printable_text(message),
                   "the refusal is printed on the console: \"{}\"", message);
        outcome.message = message;
        return outcome;
    }
    check_accepted(*info, size);
    outcome.accepted = true;
    outcome.units = info->unit_count;
    outcome.ranges = info->range_count;
    outcome.memory_definitions = info->memory_count;
    return outcome;
}

}  // namespace relay::tests
