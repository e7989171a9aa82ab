// parse_ivrs against the table QEMU 7.2 builds for q35 + amd-iommu, and against crafted
// tables for every malformed construct the parser must name.
#include "iommu/ivrs.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace relay::amd_vi {
namespace {

// The IVRS of `qemu-system-x86_64 -machine q35 -cpu EPYC -device amd-iommu` (QEMU 7.2,
// TCG), as hw/i386/acpi-build.c:build_amd_iommu() lays it out. The same 108 bytes were
// read back from a running QEMU 7.2.22 (SeaBIOS's copy in guest RAM, via the monitor's
// pmemsave). Under TCG `intremap` defaults to on, hence the IOAPIC special entry.
const u8 kQemuQ35Ivrs[] = {
    // ACPI header: "IVRS", length 108, revision 1, checksum, "BOCHS ", "BXPC    ",
    // OEM revision 1, creator "BXPC", creator revision 1.
    'I', 'V', 'R', 'S', 0x6c, 0x00, 0x00, 0x00, 0x01, 0x19, 'B', 'O', 'C', 'H', 'S', ' ', 'B', 'X',
    'P', 'C', ' ', ' ', ' ', ' ', 0x01, 0x00, 0x00, 0x00, 'B', 'X', 'P', 'C', 0x01, 0x00, 0x00,
    0x00,
    // IVinfo: PASize 40 (40 << 8); 8 reserved bytes.
    0x00, 0x28, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
    // IVHD type 10h, flags HtTunEn|IotlbSup|PrefSup|PPRSup, length 60, IOMMU 00:03.0,
    // capability at 0x40, MMIO at 0xfed80000, segment 0, info 0, features GTSup|GASup
    // (QEMU's HATS/GATS values are shifted out of the 32-bit field).
    0x10, 0xd1, 0x3c, 0x00, 0x18, 0x00, 0x40, 0x00, 0x00, 0x00, 0xd8, 0xfe, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00,
    // Select entries for every device on bus 0: MCH, VGA, e1000e, AMDVI-PCI, LPC, AHCI,
    // SMBus.
    0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x00, 0x02, 0x10, 0x00, 0x00, 0x02, 0x18, 0x00, 0x00,
    0x02, 0xf8, 0x00, 0x00, 0x02, 0xfa, 0x00, 0x00, 0x02, 0xfb, 0x00, 0x00,
    // Special device: IOAPIC (variety 1), handle 0, requests carry 00:14.0.
    0x48, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x01};

// The pmemsave dump, for a byte-for-byte comparison with the annotated array above.
const char kQemuQ35IvrsHex[] =
    "495652536c0000000119424f43485320425850432020202001000000425850430100000000280000000000"
    "000000000010d13c00180040000000d8fe0000000000000000440000000200000002080000021000000218"
    "000002f8000002fa000002fb00004800000000a00001";

// Builds IVRS tables: blocks and entries are appended as bytes; the header's length and
// checksum are fixed up by bytes().
class IvrsBuilder {
public:
    IvrsBuilder() {
        const char header[] = "IVRS\0\0\0\0\x02\0RELAY RELAYIVR";
        bytes_.assign(header, header + 24);
        put32(1);
        bytes_.insert(bytes_.end(), {'R', 'L', 'A', 'Y'});
        put32(1);
        put32(0x2800);  // IVinfo: PASize 40
        put64(0);
    }

    // Starts an IVHD block; entries follow until end_block().
    IvrsBuilder& ivhd(u8 type, u16 device_id, u64 base, u16 segment = 0, u64 efr = 0) {
        block_start_ = bytes_.size();
        bytes_.push_back(type);
        bytes_.push_back(0xd1);
        put16(0);  // length, fixed by end_block()
        put16(device_id);
        put16(0x40);
        put64(base);
        put16(segment);
        put16(0x0203);  // UnitID 2, MSINum 3
        put32(0x44);
        if (type != kIvhdType10) {
            put64(efr);
            put64(0);
        }
        return *this;
    }
    IvrsBuilder& entry4(u8 type, u16 id, u8 setting = 0) {
        bytes_.push_back(type);
        put16(id);
        bytes_.push_back(setting);
        return *this;
    }
    IvrsBuilder& entry8(u8 type, u16 id, u8 setting, u32 data) {
        entry4(type, id, setting);
        put32(data);
        return *this;
    }
    IvrsBuilder& alias(u8 type, u16 id, u16 source) {
        entry4(type, id, 0);
        bytes_.push_back(0);
        put16(source);
        bytes_.push_back(0);
        return *this;
    }
    IvrsBuilder& special(u8 handle, u16 used_id, u8 variety, u8 setting = 0) {
        bytes_.push_back(0x48);
        put16(0);
        bytes_.push_back(setting);
        bytes_.push_back(handle);
        put16(used_id);
        bytes_.push_back(variety);
        return *this;
    }
    IvrsBuilder& acpi_hid(u16 id, const char* hid, const char* cid, const std::string& uid) {
        entry4(0xF0, id, 0);
        append_padded(hid, 8);
        append_padded(cid, 8);
        bytes_.push_back(2);
        bytes_.push_back(static_cast<u8>(uid.size()));
        bytes_.insert(bytes_.end(), uid.begin(), uid.end());
        return *this;
    }
    IvrsBuilder& raw(std::initializer_list<u8> data) {
        bytes_.insert(bytes_.end(), data);
        return *this;
    }
    IvrsBuilder& end_block() {
        u16 length = static_cast<u16>(bytes_.size() - block_start_);
        std::memcpy(&bytes_[block_start_ + 2], &length, 2);
        return *this;
    }
    IvrsBuilder& ivmd(u8 type, u8 flags, u16 first, u16 aux, u64 start, u64 length) {
        bytes_.push_back(type);
        bytes_.push_back(flags);
        put16(32);
        put16(first);
        put16(aux);
        put64(0);
        put64(start);
        put64(length);
        return *this;
    }
    std::vector<u8> bytes() const {
        std::vector<u8> out = bytes_;
        u32 length = static_cast<u32>(out.size());
        std::memcpy(&out[4], &length, 4);
        out[9] = 0;
        u8 sum = 0;
        for (u8 b : out) {
            sum = static_cast<u8>(sum + b);
        }
        out[9] = static_cast<u8>(0 - sum);
        return out;
    }

private:
    void put16(u16 v) { bytes_.insert(bytes_.end(), {u8(v), u8(v >> 8)}); }
    void put32(u32 v) {
        put16(static_cast<u16>(v));
        put16(static_cast<u16>(v >> 16));
    }
    void put64(u64 v) {
        put32(static_cast<u32>(v));
        put32(static_cast<u32>(v >> 32));
    }
    void append_padded(const char* text, usize size) {
        usize n = std::strlen(text);
        for (usize i = 0; i < size; ++i) {
            bytes_.push_back(i < n ? static_cast<u8>(text[i]) : 0);
        }
    }

    std::vector<u8> bytes_;
    usize block_start_ = 0;
};

std::unique_ptr<IvrsInfo> parse_ok(const std::vector<u8>& table) {
    auto info = std::make_unique<IvrsInfo>();
    Status status = parse_ivrs(table.data(), table.size(), info.get());
    EXPECT_TRUE(status.ok()) << status.error().message();
    return info;
}

Error parse_error(const std::vector<u8>& table, usize length) {
    auto info = std::make_unique<IvrsInfo>();
    Status status = parse_ivrs(table.data(), length, info.get());
    EXPECT_FALSE(status.ok());
    return status.ok() ? Error() : status.error();
}
Error parse_error(const std::vector<u8>& table) {
    return parse_error(table, table.size());
}

std::string message(const Error& error) {
    return error.message();
}

TEST(Ivrs, QemuQ35TableMatchesTheDump) {
    std::string hex;
    for (u8 b : kQemuQ35Ivrs) {
        char pair[3];
        std::snprintf(pair, sizeof(pair), "%02x", b);
        hex += pair;
    }
    EXPECT_EQ(hex, kQemuQ35IvrsHex);
    u8 sum = 0;
    for (u8 b : kQemuQ35Ivrs) {
        sum = static_cast<u8>(sum + b);
    }
    EXPECT_EQ(sum, 0) << "ACPI checksum";
}

TEST(Ivrs, ParsesQemuQ35Table) {
    std::vector<u8> table(std::begin(kQemuQ35Ivrs), std::end(kQemuQ35Ivrs));
    auto info = parse_ok(table);
    EXPECT_EQ(info->revision, 1);
    EXPECT_EQ(info->physical_address_bits(), 40);
    EXPECT_FALSE(info->efr_supported());
    ASSERT_EQ(info->unit_count, 1u);
    const IommuUnit& unit = info->units[0];
    EXPECT_EQ(unit.block_type, kIvhdType10);
    EXPECT_EQ(unit.flags, 0xd1);
    EXPECT_EQ(unit.device_id, DeviceId::from(0, 3, 0));
    EXPECT_EQ(unit.capability_offset, 0x40);
    EXPECT_EQ(unit.mmio_base, HostPhysAddr(0xfed80000));
    EXPECT_EQ(unit.pci_segment, 0);
    EXPECT_EQ(unit.iommu_info, 0);
    EXPECT_EQ(unit.feature_reporting, 0x44u);
    EXPECT_EQ(unit.efr_image, 0u);
    EXPECT_EQ(unit.table_offset, 48u);
    ASSERT_EQ(unit.range_count, 8u);
    const DeviceRange* ranges = info->unit_ranges(unit);
    const u16 expected[] = {0x00, 0x08, 0x10, 0x18, 0xf8, 0xfa, 0xfb};
    for (usize i = 0; i < 7; ++i) {
        EXPECT_EQ(ranges[i].kind, DeviceEntryKind::kSelect) << i;
        EXPECT_EQ(ranges[i].first.raw, expected[i]) << i;
        EXPECT_EQ(ranges[i].last.raw, expected[i]) << i;
        EXPECT_EQ(ranges[i].dte_setting, 0) << i;
        EXPECT_FALSE(ranges[i].aliased);
    }
    EXPECT_EQ(ranges[3].first.text().view(), "00:03.0");
    EXPECT_EQ(ranges[4].first.text().view(), "00:1f.0");
    const DeviceRange& ioapic = ranges[7];
    EXPECT_EQ(ioapic.kind, DeviceEntryKind::kSpecial);
    EXPECT_EQ(ioapic.first, DeviceId::from(0, 0x14, 0));
    EXPECT_EQ(ioapic.special_variety, static_cast<u8>(SpecialVariety::kIoApic));
    EXPECT_EQ(ioapic.special_handle, 0);
    EXPECT_EQ(ioapic.table_offset, 100u);
    EXPECT_EQ(info->skipped_blocks, 0u);
    EXPECT_EQ(info->memory_count, 0u);

    const DeviceRange* found = nullptr;
    EXPECT_EQ(info->unit_for(0, DeviceId::from(0, 2, 0), &found), &info->units[0]);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->first, DeviceId::from(0, 2, 0));
    EXPECT_EQ(info->unit_for(0, DeviceId::from(0, 4, 0), &found), nullptr)
        << "00:04.0 is not in QEMU's table";
    EXPECT_EQ(found, nullptr);
    EXPECT_EQ(info->unit_for(1, DeviceId::from(0, 2, 0)), nullptr) << "other segment";
}

// QEMU without interrupt remapping (`-device amd-iommu,intremap=off`): no special entry,
// IVHD length 52; and without any PCI device found, a single "All" entry.
TEST(Ivrs, QemuVariantsWithoutIoApicAndWithAllEntry) {
    IvrsBuilder plain;
    plain.ivhd(kIvhdType10, 0x18, 0xfed80000);
    for (u16 id : {0x00, 0x08, 0x10, 0x18, 0xf8, 0xfa, 0xfb}) {
        plain.entry4(0x02, id);
    }
    plain.end_block();
    auto info = parse_ok(plain.bytes());
    ASSERT_EQ(info->unit_count, 1u);
    EXPECT_EQ(info->units[0].range_count, 7u);
    EXPECT_EQ(info->units[0].unit_id(), 2);
    EXPECT_EQ(info->units[0].msi_number(), 3);

    IvrsBuilder all;
    all.ivhd(kIvhdType10, 0x18, 0xfed80000).entry4(0x01, 0, 0x30).end_block();
    info = parse_ok(all.bytes());
    ASSERT_EQ(info->range_count, 1u);
    EXPECT_EQ(info->ranges[0].kind, DeviceEntryKind::kAll);
    EXPECT_EQ(info->ranges[0].first.raw, 0);
    EXPECT_EQ(info->ranges[0].last.raw, 0xFFFF);
    EXPECT_EQ(DteSetting::decode(info->ranges[0].dte_setting).system_management, 3);
    EXPECT_NE(info->unit_for(0, DeviceId(0x1234)), nullptr);
}

TEST(Ivrs, EveryEntryKind) {
    IvrsBuilder b;
    b.ivhd(kIvhdType40, 0x0002, 0xfd300000, 0, 0x0000'1234'5678'9abcull)
        .entry4(0x03, 0x0100, 0x01)  // 01:00.0 - 01:1f.7
        .entry4(0x04, 0x01ff)
        .alias(0x42, 0x0208, 0x0200)  // 02:01.0 reaches the IOMMU as 02:00.0
        .alias(0x43, 0x0300, 0x0210)  // bus 3 behind a bridge at 02:02.0
        .entry4(0x00, 0)              // padding between start and end is allowed
        .entry4(0x04, 0x03ff)
        .entry8(0x46, 0x0400, 0x04, 0x80000000u)  // ATS disabled
        .entry8(0x47, 0x0500, 0x02, 0x80000000u)
        .entry4(0x04, 0x0507)
        .special(0x21, 0x00a0, 1, 0xd7)
        .special(0x00, 0x00a5, 2)
        .acpi_hid(0x00a6, "AMDI0040", "PNP0C09", "0001")
        .entry4(0x02, 0x0108, 0xc0)  // a select inside the first range: more specific
        .end_block();
    auto info = parse_ok(b.bytes());
    ASSERT_EQ(info->unit_count, 1u);
    const IommuUnit& unit = info->units[0];
    EXPECT_EQ(unit.block_type, kIvhdType40);
    EXPECT_EQ(unit.efr_image, 0x0000'1234'5678'9abcull);
    ASSERT_EQ(unit.range_count, 9u);
    const DeviceRange* r = info->unit_ranges(unit);
    EXPECT_EQ(r[0].kind, DeviceEntryKind::kRange);
    EXPECT_EQ(r[0].first.raw, 0x0100);
    EXPECT_EQ(r[0].last.raw, 0x01ff);
    EXPECT_TRUE(DteSetting::decode(r[0].dte_setting).init_pass);
    EXPECT_EQ(r[1].kind, DeviceEntryKind::kAliasSelect);
    EXPECT_TRUE(r[1].aliased);
    EXPECT_EQ(r[1].requester_id(DeviceId(0x0208)).raw, 0x0200);
    EXPECT_EQ(r[2].kind, DeviceEntryKind::kAliasRange);
    EXPECT_EQ(r[2].last.raw, 0x03ff);
    EXPECT_EQ(r[2].alias.raw, 0x0210);
    EXPECT_EQ(r[3].kind, DeviceEntryKind::kExtendedSelect);
    EXPECT_EQ(r[3].extended_setting, 0x80000000u);
    EXPECT_TRUE(DteSetting::decode(r[3].dte_setting).nmi_pass);
    EXPECT_EQ(r[4].kind, DeviceEntryKind::kExtendedRange);
    EXPECT_EQ(r[4].last.raw, 0x0507);
    EXPECT_TRUE(DteSetting::decode(r[4].dte_setting).ext_int_pass);
    EXPECT_EQ(r[5].kind, DeviceEntryKind::kSpecial);
    EXPECT_EQ(r[5].special_handle, 0x21);
    EXPECT_EQ(r[5].first.raw, 0x00a0);
    DteSetting s = DteSetting::decode(r[5].dte_setting);
    EXPECT_TRUE(s.lint1_pass && s.lint0_pass && s.nmi_pass && s.ext_int_pass && s.init_pass);
    EXPECT_EQ(s.system_management, 1);
    EXPECT_EQ(r[6].special_variety, static_cast<u8>(SpecialVariety::kHpet));
    EXPECT_EQ(r[7].kind, DeviceEntryKind::kAcpiHid);
    EXPECT_STREQ(r[7].hardware_id, "AMDI0040");
    EXPECT_STREQ(r[7].compatible_id, "PNP0C09");
    EXPECT_EQ(r[8].first.raw, 0x0108);

    const DeviceRange* found = nullptr;
    ASSERT_NE(info->unit_for(0, DeviceId(0x0108), &found), nullptr);
    EXPECT_EQ(found, &r[8]) << "the select is more specific than the range";
    info->unit_for(0, DeviceId(0x0109), &found);
    EXPECT_EQ(found, &r[0]);
    info->unit_for(0, DeviceId(0x0305), &found);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->requester_id(DeviceId(0x0305)).raw, 0x0210);
    EXPECT_EQ(info->unit_for(0, DeviceId(0x0600)), nullptr);
}

TEST(Ivrs, HigherIvhdTypeSupersedesLowerForTheSameUnit) {
    IvrsBuilder b;
    b.ivhd(kIvhdType10, 0x0002, 0xfd300000).entry4(0x01, 0).end_block();
    b.ivhd(kIvhdType11, 0x0002, 0xfd300000, 0, 0x2a).entry4(0x02, 0x0010).end_block();
    b.ivhd(kIvhdType40, 0x0002, 0xfd300000, 0, 0x4a).entry4(0x02, 0x0020).end_block();
    // A second unit in another segment, described by 10h only.
    b.ivhd(kIvhdType10, 0x0002, 0xfd400000, 1).entry4(0x02, 0x0030).end_block();
    auto info = parse_ok(b.bytes());
    ASSERT_EQ(info->unit_count, 2u);
    EXPECT_EQ(info->superseded_blocks, 2u);
    EXPECT_EQ(info->units[0].block_type, kIvhdType40);
    EXPECT_EQ(info->units[0].efr_image, 0x4au);
    ASSERT_EQ(info->units[0].range_count, 1u);
    EXPECT_EQ(info->unit_ranges(info->units[0])[0].first.raw, 0x0020);
    EXPECT_EQ(info->units[1].pci_segment, 1);
    EXPECT_EQ(info->units[1].mmio_base, HostPhysAddr(0xfd400000));
    EXPECT_EQ(info->unit_for(1, DeviceId(0x0030)), &info->units[1]);
    EXPECT_EQ(info->unit_for(0, DeviceId(0x0010)), nullptr) << "only the 40h entries count";
}

TEST(Ivrs, DuplicateIvhdOfOneTypeIsAnError) {
    IvrsBuilder b;
    b.ivhd(kIvhdType10, 0x0018, 0xfed80000).entry4(0x01, 0).end_block();
    b.ivhd(kIvhdType10, 0x0018, 0xfed80000).entry4(0x01, 0).end_block();
    Error e = parse_error(b.bytes());
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
    EXPECT_EQ(message(e),
              "IVRS: IVHD type 0x10 at offset 0x4c describes IOMMU 00:03.0 in segment 0 again "
              "(first at offset 0x30)");
}

TEST(Ivrs, MemoryDefinitions) {
    IvrsBuilder b;
    b.ivhd(kIvhdType10, 0x18, 0xfed80000).entry4(0x01, 0).end_block();
    b.ivmd(kIvmdAll, 0x07, 0, 0, 0xdd000000, 0x100000);
    b.ivmd(kIvmdSelect, 0x08, 0x0010, 0, 0x1000, 0x2000);
    b.ivmd(kIvmdRange, 0x03, 0x0100, 0x01ff, 0x5000, 0x1000);
    auto info = parse_ok(b.bytes());
    ASSERT_EQ(info->memory_count, 3u);
    EXPECT_TRUE(info->memory[0].unity() && info->memory[0].read() && info->memory[0].write());
    EXPECT_EQ(info->memory[0].last.raw, 0xFFFF);
    EXPECT_EQ(info->memory[0].start, HostPhysAddr(0xdd000000));
    EXPECT_TRUE(info->memory[1].exclusion());
    EXPECT_EQ(info->memory[1].first.raw, 0x0010);
    EXPECT_EQ(info->memory[1].last.raw, 0x0010);
    EXPECT_EQ(info->memory[2].first.raw, 0x0100);
    EXPECT_EQ(info->memory[2].last.raw, 0x01ff);
    // Which devices they name: the first that applies.
    EXPECT_EQ(info->memory_for(DeviceId(0x0010)), &info->memory[0]) << "20h names every device";
    IvrsBuilder some;
    some.ivhd(kIvhdType10, 0x18, 0xfed80000).entry4(0x01, 0).end_block();
    some.ivmd(kIvmdSelect, 0x08, 0x0010, 0, 0x1000, 0x2000);
    some.ivmd(kIvmdRange, 0x03, 0x0100, 0x01ff, 0x5000, 0x1000);
    auto selected = parse_ok(some.bytes());
    EXPECT_EQ(selected->memory_for(DeviceId(0x0010)), &selected->memory[0]);
    EXPECT_EQ(selected->memory_for(DeviceId(0x0011)), nullptr);
    EXPECT_EQ(selected->memory_for(DeviceId(0x0100)), &selected->memory[1]);
    EXPECT_EQ(selected->memory_for(DeviceId(0x01ff)), &selected->memory[1]);
    EXPECT_EQ(selected->memory_for(DeviceId(0x0200)), nullptr);

    IvrsBuilder wrap;
    wrap.ivmd(kIvmdAll, 1, 0, 0, 0xFFFF'FFFF'FFFF'0000ull, 0x20000);
    EXPECT_EQ(message(parse_error(wrap.bytes())),
              "IVRS: IVMD at offset 0x30: memory 0xffffffffffff0000 + 0x20000 wraps around");
}

TEST(Ivrs, UnknownBlocksAndReservedEntriesAreSkipped) {
    IvrsBuilder b;
    b.raw({0x30, 0x00, 0x08, 0x00, 1, 2, 3, 4});  // a block type this parser does not know
    b.ivhd(kIvhdType10, 0x18, 0xfed80000)
        .entry4(0x05, 0x1234)                 // reserved 4-byte type
        .entry8(0x44, 0x1234, 0, 0xdeadbeef)  // reserved 8-byte type
        .entry4(0x02, 0x0010)
        .end_block();
    auto info = parse_ok(b.bytes());
    EXPECT_EQ(info->skipped_blocks, 1u);
    EXPECT_EQ(info->skipped_entries, 2u);
    ASSERT_EQ(info->range_count, 1u);
    EXPECT_EQ(info->ranges[0].first.raw, 0x0010);
}

TEST(Ivrs, RegisterBaseMustBeAnAlignedAddress) {
    for (u64 base : {u64{0}, u64{0xfed82000}, u64{1} << 52}) {
        IvrsBuilder b;
        b.ivhd(kIvhdType10, 0x18, base).entry4(0x01, 0).end_block();
        Error e = parse_error(b.bytes());
        EXPECT_EQ(e.code(), ErrorCode::kCorrupt) << std::hex << base;
        EXPECT_NE(std::string(message(e)).find("is not a 16 KiB aligned address below 2^52"),
                  std::string::npos)
            << message(e);
    }
}

TEST(Ivrs, TruncatedHeaders) {
    std::vector<u8> table(std::begin(kQemuQ35Ivrs), std::end(kQemuQ35Ivrs));
    Error e = parse_error(table, 40);
    EXPECT_EQ(e.code(), ErrorCode::kTruncated);
    EXPECT_EQ(message(e), "IVRS: 40 bytes given, shorter than the 48-byte IVRS header");

    e = parse_error(table, 100);
    EXPECT_EQ(e.code(), ErrorCode::kTruncated);
    EXPECT_EQ(message(e), "IVRS: header length 108 exceeds the 100 bytes given");

    std::vector<u8> short_length = table;
    short_length[4] = 20;
    EXPECT_EQ(message(parse_error(short_length)),
              "IVRS: header length 20 is shorter than the 48-byte IVRS header");

    std::vector<u8> dmar = table;
    std::memcpy(dmar.data(), "DMAR", 4);
    e = parse_error(dmar);
    EXPECT_EQ(e.code(), ErrorCode::kBadMagic);
    EXPECT_EQ(message(e), "IVRS: signature is 'DMAR', expected 'IVRS'");

    // Found by the IVRS fuzzer (tests/fuzz/corpus/ivrs/crash-nonprintable-signature): the
    // signature's bytes went into the message as they were (control characters, escape
    // sequences on the console).
    std::vector<u8> hostile = table;
    const u8 escape[4] = {'I', 0x1B, 'R', 0xC3};
    std::memcpy(hostile.data(), escape, 4);
    e = parse_error(hostile);
    EXPECT_EQ(e.code(), ErrorCode::kBadMagic);
    EXPECT_EQ(message(e), "IVRS: signature is 'I?R?', expected 'IVRS'");

    // A table that ends two bytes into a block header.
    IvrsBuilder tail;
    tail.raw({0x10, 0x00});
    EXPECT_EQ(message(parse_error(tail.bytes())),
              "IVRS: 2 bytes left at offset 0x30, too short for a block header");
}

TEST(Ivrs, BlockLengthPastTheTable) {
    std::vector<u8> table(std::begin(kQemuQ35Ivrs), std::end(kQemuQ35Ivrs));
    table[50] = 0x40;  // IVHD length 64, but only 60 bytes follow
    Error e = parse_error(table);
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
    EXPECT_EQ(message(e),
              "IVRS: block type 0x10 at offset 0x30 has length 0x40, past the table end at 0x6c");

    table[50] = 0x02;
    EXPECT_EQ(message(parse_error(table)), "IVRS: block type 0x10 at offset 0x30 has length 2");

    table[50] = 0x14;  // 20 bytes: shorter than the type 10h header
    e = parse_error(table);
    EXPECT_EQ(e.code(), ErrorCode::kTruncated);
    EXPECT_EQ(message(e),
              "IVRS: IVHD type 0x10 at offset 0x30 has length 20, shorter than its 24-byte "
              "header");

    IvrsBuilder b;
    b.ivhd(kIvhdType40, 0x18, 0xfed80000).end_block();
    std::vector<u8> short40 = b.bytes();
    short40[50] = 32;  // a 40h block needs 40 bytes of header
    short40.resize(80);
    short40[4] = 80;
    EXPECT_EQ(message(parse_error(short40)),
              "IVRS: IVHD type 0x40 at offset 0x30 has length 32, shorter than its 40-byte "
              "header");
}

TEST(Ivrs, EntryPastTheBlockEnd) {
    IvrsBuilder b;
    b.ivhd(kIvhdType10, 0x18, 0xfed80000).entry4(0x02, 0x10).raw({0x42, 0x08, 0x00, 0x00});
    b.end_block();
    Error e = parse_error(b.bytes());
    EXPECT_EQ(e.code(), ErrorCode::kTruncated);
    EXPECT_EQ(message(e),
              "IVRS: IVHD at offset 0x30: device entry type 0x42 at offset 0x4c needs 8 bytes, "
              "the block ends at 0x50");

    IvrsBuilder hid;
    hid.ivhd(kIvhdType40, 0x18, 0xfed80000).acpi_hid(0xa6, "AMDI0040", "", "12345");
    hid.end_block();
    std::vector<u8> table = hid.bytes();
    table[table.size() - 6] = 9;  // UID length 9, only 5 bytes present
    EXPECT_EQ(message(parse_error(table)),
              "IVRS: IVHD at offset 0x30: device entry type 0xf0 at offset 0x58 needs 31 bytes, "
              "the block ends at 0x73");

    IvrsBuilder variable;
    variable.ivhd(kIvhdType40, 0x18, 0xfed80000).entry8(0x81, 0, 0, 0).end_block();
    e = parse_error(variable.bytes());
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_EQ(message(e),
              "IVRS: IVHD at offset 0x30: variable-length device entry type 0x81 at offset "
              "0x58 has no known length");
}

TEST(Ivrs, RangeErrors) {
    IvrsBuilder end_only;
    end_only.ivhd(kIvhdType10, 0x18, 0xfed80000).entry4(0x02, 0x10).entry4(0x04, 0x20);
    end_only.end_block();
    Error e = parse_error(end_only.bytes());
    EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
    EXPECT_EQ(message(e),
              "IVRS: IVHD at offset 0x30: End of Range at offset 0x4c without a Start of Range");

    IvrsBuilder open;
    open.ivhd(kIvhdType10, 0x18, 0xfed80000).entry4(0x03, 0x10).end_block();
    EXPECT_EQ(message(parse_error(open.bytes())),
              "IVRS: IVHD at offset 0x30: Range start at offset 0x48 has no End of Range before "
              "the block ends at 0x4c");

    IvrsBuilder interrupted;
    interrupted.ivhd(kIvhdType10, 0x18, 0xfed80000).alias(0x43, 0x0300, 0x0210);
    interrupted.entry4(0x02, 0x10).entry4(0x04, 0x3ff).end_block();
    EXPECT_EQ(message(parse_error(interrupted.bytes())),
              "IVRS: IVHD at offset 0x30: Alias Range start at offset 0x48 is followed by entry "
              "type 0x2 at offset 0x50, not by End of Range");

    IvrsBuilder backwards;
    backwards.ivhd(kIvhdType10, 0x18, 0xfed80000).entry4(0x03, 0x0200).entry4(0x04, 0x01ff);
    backwards.end_block();
    EXPECT_EQ(message(parse_error(backwards.bytes())),
              "IVRS: IVHD at offset 0x30: End of Range 01:1f.7 at offset 0x4c is below its "
              "start 02:00.0 at offset 0x48");
}

TEST(Ivrs, FixedCapacities) {
    IvrsBuilder units;
    for (u16 i = 0; i <= IvrsInfo::kMaxUnits; ++i) {
        units.ivhd(kIvhdType10, static_cast<u16>(0x18 + i), 0xfed80000 + i * 0x4000ull);
        units.entry4(0x02, i).end_block();
    }
    Error e = parse_error(units.bytes());
    EXPECT_EQ(e.code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(message(e),
              "IVRS: IVHD at offset 0x110 is IOMMU unit 9, more than the fixed capacity of 8");

    IvrsBuilder ranges;
    ranges.ivhd(kIvhdType10, 0x18, 0xfed80000);
    for (u16 i = 0; i <= IvrsInfo::kMaxRanges; ++i) {
        ranges.entry4(0x02, i);
    }
    ranges.end_block();
    e = parse_error(ranges.bytes());
    EXPECT_EQ(e.code(), ErrorCode::kOutOfRange);
    EXPECT_EQ(message(e),
              "IVRS: IVHD at offset 0x30: device entry at offset 0x448 is range 257, more than "
              "the fixed capacity of 256");

    IvrsBuilder memory;
    for (usize i = 0; i <= IvrsInfo::kMaxMemoryDefinitions; ++i) {
        memory.ivmd(kIvmdAll, 1, 0, 0, 0x1000 * i, 0x1000);
    }
    EXPECT_EQ(message(parse_error(memory.bytes())),
              "IVRS: IVMD at offset 0x230 is memory definition 17, more than the fixed capacity "
              "of 16");
}

// Random corruptions of valid tables: the parser returns an error or a result whose every
// range lies inside the table and is ordered; it never reads outside the buffer (ASan).
TEST(Ivrs, RandomCorruptionsNeverMisbehave) {
    IvrsBuilder rich;
    rich.ivhd(kIvhdType40, 0x0002, 0xfd300000, 0, 0x99)
        .entry4(0x03, 0x0100)
        .entry4(0x04, 0x01ff)
        .alias(0x43, 0x0300, 0x0210)
        .entry4(0x04, 0x03ff)
        .special(1, 0xa0, 1)
        .acpi_hid(0xa6, "AMDI0040", "PNP0C09", "01")
        .end_block();
    rich.ivmd(kIvmdRange, 1, 0x10, 0x20, 0x1000, 0x1000);
    std::vector<std::vector<u8>> seeds = {
        std::vector<u8>(std::begin(kQemuQ35Ivrs), std::end(kQemuQ35Ivrs)), rich.bytes()};
    std::mt19937 random(1234);
    auto info = std::make_unique<IvrsInfo>();
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<u8> table = seeds[round % seeds.size()];
        int flips = 1 + static_cast<int>(random() % 4);
        for (int f = 0; f < flips; ++f) {
            usize at = 36 + random() % (table.size() - 36);
            table[at] = static_cast<u8>(random());
        }
        usize length = table.size();
        if (random() % 4 == 0) {
            length = random() % (table.size() + 1);
        }
        // Exactly `length` bytes, so ASan sees any read past the end.
        std::vector<u8> exact(table.begin(), table.begin() + static_cast<long>(length));
        Status status = parse_ivrs(exact.data(), exact.size(), info.get());
        if (!status.ok()) {
            EXPECT_NE(status.error().message()[0], '\0');
            continue;
        }
        ++accepted;
        ASSERT_LE(info->unit_count, IvrsInfo::kMaxUnits);
        for (usize u = 0; u < info->unit_count; ++u) {
            const IommuUnit& unit = info->units[u];
            ASSERT_LE(unit.first_range + unit.range_count, info->range_count);
            ASSERT_LT(unit.table_offset, exact.size());
        }
        for (usize r = 0; r < info->range_count; ++r) {
            ASSERT_LE(info->ranges[r].first, info->ranges[r].last);
            ASSERT_LT(info->ranges[r].table_offset, exact.size());
        }
    }
    EXPECT_GT(accepted, 100) << "the corruptions should leave some tables valid";
}

}  // namespace
}  // namespace relay::amd_vi
