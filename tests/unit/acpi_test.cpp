// ACPI discovery against crafted tables in fake memory.
#include "hv/arch/x86/acpi/acpi.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/fake_physical_memory.hpp"

namespace relay::acpi {
namespace {

using relay::testing::FakePhysicalMemory;

constexpr u64 kRsdp = 0xF0000;
constexpr u64 kXsdt = 0x100000;
constexpr u64 kMadt = 0x101000;
constexpr u64 kIvrs = 0x102000;
constexpr u64 kRsdt = 0x103000;

void fix_checksum(std::vector<u8>& table, usize checksum_offset, usize length) {
    table[checksum_offset] = 0;
    u8 sum = 0;
    for (usize i = 0; i < length; ++i) {
        sum = static_cast<u8>(sum + table[i]);
    }
    table[checksum_offset] = static_cast<u8>(-sum);
}

void put_u32(std::vector<u8>& v, usize offset, u32 x) {
    std::memcpy(v.data() + offset, &x, 4);
}
void put_u64(std::vector<u8>& v, usize offset, u64 x) {
    std::memcpy(v.data() + offset, &x, 8);
}

std::vector<u8> header(const char* signature, usize length) {
    std::vector<u8> t(length, 0);
    std::memcpy(t.data(), signature, 4);
    put_u32(t, 4, static_cast<u32>(length));
    t[8] = 1;
    std::memcpy(t.data() + 10, "RELAY ", 6);
    return t;
}

struct Machine {
    Machine() : memory(0, 0x200000) {}

    void build(int cpus = 2, bool with_ivrs = true, bool x2apic_cpu = false) {
        std::vector<u8> rsdp(36, 0);
        std::memcpy(rsdp.data(), "RSD PTR ", 8);
        std::memcpy(rsdp.data() + 9, "RELAY ", 6);
        rsdp[15] = 2;
        put_u32(rsdp, 16, static_cast<u32>(kRsdt));
        put_u32(rsdp, 20, 36);
        put_u64(rsdp, 24, kXsdt);
        fix_checksum(rsdp, 8, 20);
        fix_checksum(rsdp, 32, 36);
        rsdp_bytes = rsdp;
        memory.write(kRsdp, rsdp.data(), rsdp.size());

        std::vector<u64> entries = {kMadt};
        if (with_ivrs) {
            entries.push_back(kIvrs);
        }
        auto xsdt = header("XSDT", 36 + 8 * entries.size());
        for (usize i = 0; i < entries.size(); ++i) {
            put_u64(xsdt, 36 + 8 * i, entries[i]);
        }
        fix_checksum(xsdt, 9, xsdt.size());
        memory.write(kXsdt, xsdt.data(), xsdt.size());

        auto rsdt = header("RSDT", 36 + 4);
        put_u32(rsdt, 36, static_cast<u32>(kMadt));
        fix_checksum(rsdt, 9, rsdt.size());
        memory.write(kRsdt, rsdt.data(), rsdt.size());

        usize madt_length = 44 + 8 * cpus + (x2apic_cpu ? 16 : 0);
        madt = header("APIC", madt_length);
        put_u32(madt, 36, 0xFEE00000);
        put_u32(madt, 40, 1);
        for (int i = 0; i < cpus; ++i) {
            usize e = 44 + 8 * i;
            madt[e] = 0;
            madt[e + 1] = 8;
            madt[e + 2] = static_cast<u8>(i);
            madt[e + 3] = static_cast<u8>(i * 2);  // APIC IDs 0, 2, 4...
            put_u32(madt, e + 4, i == 3 ? 2 : 1);  // CPU 3 online-capable only
        }
        if (x2apic_cpu) {
            usize e = 44 + 8 * cpus;
            madt[e] = 9;
            madt[e + 1] = 16;
            put_u32(madt, e + 4, 300);
            put_u32(madt, e + 8, 1);
            put_u32(madt, e + 12, 77);
        }
        fix_checksum(madt, 9, madt.size());
        memory.write(kMadt, madt.data(), madt.size());

        auto ivrs = header("IVRS", 48);
        fix_checksum(ivrs, 9, ivrs.size());
        memory.write(kIvrs, ivrs.data(), ivrs.size());
    }

    Status parse(AcpiInfo* info) {
        BootInfo boot;
        u8 rsdp[36];
        usize length = 0;
        HostPhysAddr at;
        RELAY_TRY(find_rsdp(memory, boot, rsdp, &length, &at));
        found_at = at;
        return parse_acpi(memory, rsdp, length, info);
    }

    FakePhysicalMemory memory;
    std::vector<u8> rsdp_bytes;
    std::vector<u8> madt;
    HostPhysAddr found_at;
};

std::string message(const Status& s) {
    return s.error().message();
}

TEST(Acpi, FindsCpusAndIvrsThroughXsdt) {
    Machine m;
    m.build(4, true, true);
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_TRUE(status.ok()) << message(status);
    EXPECT_EQ(m.found_at, HostPhysAddr(kRsdp));
    EXPECT_TRUE(info->uses_xsdt);
    EXPECT_STREQ(info->oem_id, "RELAY ");
    EXPECT_EQ(info->local_apic_address, HostPhysAddr(0xFEE00000));
    ASSERT_EQ(info->cpu_count, 5u);
    EXPECT_EQ(info->cpus[1].apic_id, 2u);
    EXPECT_TRUE(info->cpus[1].enabled);
    EXPECT_FALSE(info->cpus[3].enabled);
    EXPECT_TRUE(info->cpus[3].online_capable);
    EXPECT_EQ(info->cpus[4].apic_id, 300u);
    EXPECT_EQ(info->cpus[4].processor_uid, 77u);
    const TableLocation* ivrs = info->find("IVRS");
    ASSERT_NE(ivrs, nullptr);
    EXPECT_EQ(ivrs->address, HostPhysAddr(kIvrs));
    EXPECT_EQ(ivrs->length, 48u);
    EXPECT_EQ(info->find("DMAR"), nullptr);
}

TEST(Acpi, FallsBackToRsdtForRevisionZero) {
    Machine m;
    m.build();
    m.rsdp_bytes[15] = 0;
    fix_checksum(m.rsdp_bytes, 8, 20);
    m.memory.write(kRsdp, m.rsdp_bytes.data(), 20);
    auto info = std::make_unique<AcpiInfo>();
    ASSERT_TRUE(m.parse(info.get()).ok());
    EXPECT_FALSE(info->uses_xsdt);
    EXPECT_EQ(info->cpu_count, 2u);
}

TEST(Acpi, UsesTheBootLoadersRsdpCopy) {
    Machine m;
    m.build();
    BootInfo boot;
    std::memcpy(boot.rsdp, m.rsdp_bytes.data(), 36);
    boot.rsdp_length = 36;
    m.memory.write(kRsdp, "XXXXXXXX", 8);  // no RSDP in the BIOS area any more
    u8 rsdp[36];
    usize length = 0;
    HostPhysAddr at;
    ASSERT_TRUE(find_rsdp(m.memory, boot, rsdp, &length, &at).ok());
    EXPECT_EQ(length, 36u);
    EXPECT_EQ(at, HostPhysAddr(0));
}

TEST(Acpi, BadRsdpChecksumIsSkippedThenNotFound) {
    Machine m;
    m.build();
    m.rsdp_bytes[9] ^= 1;  // break the 20-byte checksum
    m.memory.write(kRsdp, m.rsdp_bytes.data(), 36);
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kNotFound);
}

TEST(Acpi, BadBootLoaderRsdpChecksumIsAnError) {
    Machine m;
    m.build();
    BootInfo boot;
    std::memcpy(boot.rsdp, m.rsdp_bytes.data(), 36);
    boot.rsdp[30] ^= 0x40;  // breaks only the extended checksum
    boot.rsdp_length = 36;
    u8 rsdp[36];
    usize length = 0;
    HostPhysAddr at;
    Status status = find_rsdp(m.memory, boot, rsdp, &length, &at);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("extended checksum"), std::string::npos);
}

TEST(Acpi, BadTableChecksum) {
    Machine m;
    m.build();
    m.madt[50] ^= 0xFF;
    m.memory.write(kMadt, m.madt.data(), m.madt.size());
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(message(status).find("'APIC'"), std::string::npos);
    EXPECT_NE(message(status).find("checksum"), std::string::npos);
}

TEST(Acpi, TruncatedTable) {
    Machine m;
    m.build();
    // The IVRS claims to run past the end of accessible memory.
    auto ivrs = header("IVRS", 48);
    put_u32(ivrs, 4, 0x200000);
    m.memory.write(kIvrs, ivrs.data(), ivrs.size());
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kTruncated);
    EXPECT_NE(message(status).find("XSDT entry 1"), std::string::npos);
}

TEST(Acpi, TableLengthShorterThanHeader) {
    Machine m;
    m.build();
    put_u32(m.madt, 4, 20);
    m.memory.write(kMadt, m.madt.data(), m.madt.size());
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("length 20 is invalid"), std::string::npos);
}

TEST(Acpi, MadtEntryWithZeroLengthDoesNotLoop) {
    Machine m;
    m.build();
    m.madt[44 + 1] = 0;
    fix_checksum(m.madt, 9, m.madt.size());
    m.memory.write(kMadt, m.madt.data(), m.madt.size());
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("MADT entry 0"), std::string::npos);
}

TEST(Acpi, DuplicateApicId) {
    Machine m;
    m.build(2);
    m.madt[44 + 8 + 3] = 0;  // second CPU also APIC ID 0
    fix_checksum(m.madt, 9, m.madt.size());
    m.memory.write(kMadt, m.madt.data(), m.madt.size());
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(message(status).find("APIC ID 0 listed twice"), std::string::npos);
}

TEST(Acpi, MissingMadt) {
    Machine m;
    m.build();
    auto xsdt = header("XSDT", 44);
    put_u64(xsdt, 36, kIvrs);
    fix_checksum(xsdt, 9, xsdt.size());
    m.memory.write(kXsdt, xsdt.data(), xsdt.size());
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kNotFound);
    EXPECT_NE(message(status).find("no MADT"), std::string::npos);
}

// Found by the ACPI fuzzer (tests/fuzz/corpus/acpi/crash-nonprintable-table-signature):
// a table's signature went into the error message as it was, so firmware could write
// control characters and escape sequences to the console.
TEST(Acpi, UnexpectedSignatureIsPrintedAsPrintableText) {
    Machine m;
    m.build();
    auto xsdt = header("XSDT", 44);
    const u8 hostile[4] = {0x1B, '[', '2', 0x00};
    std::memcpy(xsdt.data(), hostile, 4);
    put_u64(xsdt, 36, kMadt);
    fix_checksum(xsdt, 9, xsdt.size());
    m.memory.write(kXsdt, xsdt.data(), xsdt.size());
    auto info = std::make_unique<AcpiInfo>();
    Status status = m.parse(info.get());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kBadMagic);
    EXPECT_NE(message(status).find("signature '?[2?', expected 'XSDT'"), std::string::npos)
        << message(status);
}

// The OEM ID goes to the boot log: non-printable bytes become '?', a NUL ends it.
TEST(Acpi, OemIdIsPrintableText) {
    Machine m;
    m.build();
    std::vector<u8> rsdp = m.rsdp_bytes;
    const u8 oem[6] = {'Q', 0x07, 'E', 0x1B, 0x00, 'X'};
    std::memcpy(rsdp.data() + 9, oem, 6);
    fix_checksum(rsdp, 8, 20);
    fix_checksum(rsdp, 32, 36);
    m.memory.write(kRsdp, rsdp.data(), rsdp.size());
    auto info = std::make_unique<AcpiInfo>();
    ASSERT_TRUE(m.parse(info.get()).ok());
    EXPECT_STREQ(info->oem_id, "Q?E?");
}

}  // namespace
}  // namespace relay::acpi
