#include "tests/guests/lib/pci.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/guests/lib/fake_config_space.hpp"

namespace relay::guest::pci {
namespace {

constexpr u16 kQemuVendor = 0x1234;
constexpr u16 kEduDevice = 0x11E8;
constexpr Bdf kEdu{0, 4, 0};

std::string text(Bdf bdf) {
    return std::string(format_bdf(bdf).view());
}

TEST(Bdf, FormatsAsLspciDoes) {
    EXPECT_EQ(text(Bdf{0, 4, 0}), "00:04.0");
    EXPECT_EQ(text(Bdf{0xAB, 0x1F, 7}), "ab:1f.7");
}

TEST(Bdf, ParsesBusDeviceFunction) {
    for (const char* good : {"00:04.0", "ab:1f.7", "AB:1F.7", "ff:00.3"}) {
        Result<Bdf> bdf = parse_bdf(good);
        ASSERT_TRUE(bdf.ok()) << good;
        EXPECT_EQ(text(bdf.value()), std::string(good) == "AB:1F.7" ? "ab:1f.7" : good);
    }
    EXPECT_EQ(parse_bdf("03:1e.5").value(), (Bdf{3, 0x1E, 5}));
}

TEST(Bdf, RefusesAnythingElse) {
    for (const char* bad : {"", "0:4.0", "00:4.0", "000:04.0", "00:20.0", "00:04.8", "00-04.0",
                            "00:04:0", "00:04.0 ", "g0:00.0", "0000:00:04.0", "00:04"}) {
        EXPECT_FALSE(parse_bdf(bad).ok()) << bad;
    }
    EXPECT_EQ(std::string(parse_bdf("00:20.0").error().message()),
              "\"00:20.0\" is not a PCI address BB:DD.F (hexadecimal bus, device 00-1f, "
              "function 0-7)");
}

TEST(ConfigAddress, IsMechanismOne) {
    EXPECT_EQ(config_address(kEdu, 0x10), 0x8000'2010u);
    EXPECT_EQ(config_address(Bdf{0xFF, 0x1F, 7}, 0xFE), 0x80FF'FFFCu);
    EXPECT_EQ(config_address(Bdf{1, 0, 1}, 0x04), 0x8001'0104u);
}

// q35 with an AMD IOMMU and edu, as QEMU lays it out.
FakeConfigSpace q35_with_edu() {
    FakeConfigSpace config;
    config.add_function(Bdf{0, 0, 0}, 0x8086, 0x29C0);                        // host bridge
    config.add_function(Bdf{0, 1, 0}, 0x1234, 0x1111, 0, 0x030000, 2);        // VGA
    config.add_function(Bdf{0, 3, 0}, 0x1022, 0x0020, 0, 0x080600);           // AMD IOMMU
    config.add_function(kEdu, kQemuVendor, kEduDevice, 0, 0x00FF00, 0x10);    // edu
    config.add_function(Bdf{0, 0x1F, 0}, 0x8086, 0x2918, 0x80, 0x060100, 2);  // LPC, multi
    config.add_function(Bdf{0, 0x1F, 2}, 0x8086, 0x2922, 0, 0x010601, 2);     // SATA
    return config;
}

TEST(FindDevice, FindsEduAmongQ35Devices) {
    FakeConfigSpace config = q35_with_edu();
    Bdf found;
    ASSERT_TRUE(find_device(config, 0, kQemuVendor, kEduDevice, &found));
    EXPECT_EQ(found, kEdu);
    DeviceIdentity identity;
    ASSERT_TRUE(read_identity(config, found, &identity));
    EXPECT_EQ(identity.vendor, kQemuVendor);
    EXPECT_EQ(identity.device, kEduDevice);
    EXPECT_EQ(identity.revision, 0x10);
    EXPECT_EQ(identity.class_code, 0x00FF00u);
    EXPECT_EQ(identity.header_type, 0);
}

TEST(FindDevice, LooksAtOtherFunctionsOfMultiFunctionDevicesOnly) {
    FakeConfigSpace config;
    // A single-function device that answers on function 1 too (real hardware may decode
    // only the device number): not to be taken for a second device.
    config.add_function(Bdf{0, 2, 0}, 0x8086, 0x1234);
    config.add_function(Bdf{0, 2, 1}, kQemuVendor, kEduDevice);
    Bdf found;
    EXPECT_FALSE(find_device(config, 0, kQemuVendor, kEduDevice, &found));
    config.add_function(Bdf{0, 6, 0}, 0x8086, 0x1234, 0x80);
    config.add_function(Bdf{0, 6, 5}, kQemuVendor, kEduDevice);
    ASSERT_TRUE(find_device(config, 0, kQemuVendor, kEduDevice, &found));
    EXPECT_EQ(found, (Bdf{0, 6, 5}));
}

TEST(FindDevice, AnEmptyBusHasNothingAndEverySlotWasAsked) {
    FakeConfigSpace config;
    Bdf found{9, 9, 9};
    EXPECT_FALSE(find_device(config, 0, kQemuVendor, kEduDevice, &found));
    EXPECT_EQ(found, (Bdf{9, 9, 9}));
    EXPECT_EQ(config.reads, kDevicesPerBus);
    // Devices on another bus are not on bus 0.
    config.add_function(Bdf{1, 0, 0}, kQemuVendor, kEduDevice);
    EXPECT_FALSE(find_device(config, 0, kQemuVendor, kEduDevice, &found));
    EXPECT_TRUE(find_device(config, 1, kQemuVendor, kEduDevice, &found));
}

TEST(BarArithmetic, KindAndAddress) {
    EXPECT_EQ(bar_kind(0xFEA0'0000), BarKind::kMemory32);
    EXPECT_EQ(bar_kind(0xFEA0'0008), BarKind::kMemory32);
    EXPECT_EQ(bar_kind(0x0000'000C), BarKind::kMemory64);
    EXPECT_EQ(bar_kind(0x0000'C001), BarKind::kIo);
    EXPECT_EQ(bar_address(0xFEA0'0008, 0x1234), 0xFEA0'0000u);  // upper ignored for 32-bit
    EXPECT_EQ(bar_address(0x8000'000C, 0x8), 0x8'8000'0000u);
    EXPECT_EQ(bar_address(0x0000'C001, 0), 0xC000u);
    EXPECT_EQ(bar_address(0x0000'C003, 0), 0xC000u);  // bit 1 is reserved
}

TEST(BarArithmetic, SizeFromTheMaskReadBack) {
    EXPECT_EQ(bar_size(BarKind::kMemory32, 0xFFF0'0000, 0), 1 * MiB);  // edu's BAR0
    EXPECT_EQ(bar_size(BarKind::kMemory32, 0xFFF0'0008, 0), 1 * MiB);
    EXPECT_EQ(bar_size(BarKind::kMemory32, 0xFFFF'F000, 0), 4 * KiB);
    EXPECT_EQ(bar_size(BarKind::kMemory32, 0x8000'0000, 0), 2 * GiB);
    EXPECT_EQ(bar_size(BarKind::kMemory32, 0x0000'0000, 0), 0u);
    EXPECT_EQ(bar_size(BarKind::kMemory64, 0x0000'000C, 0xFFFF'FFFC), 16 * GiB);
    EXPECT_EQ(bar_size(BarKind::kMemory64, 0xFFE0'000C, 0xFFFF'FFFF), 2 * MiB);
    EXPECT_EQ(bar_size(BarKind::kMemory64, 0x0000'000C, 0x0000'0000), 0u);
    EXPECT_EQ(bar_size(BarKind::kIo, 0xFFFF'FFE1, 0), 32u);
    EXPECT_EQ(bar_size(BarKind::kIo, 0x0000'FFE1, 0), 32u);  // 16-bit decode
    EXPECT_EQ(bar_size(BarKind::kIo, 0x0000'0001, 0), 0u);
    EXPECT_EQ(bar_size(BarKind::kUnimplemented, ~0u, ~0u), 0u);
}

TEST(ReadBar, SizesEdusBar0WithDecodingOffAndRestoresEverything) {
    FakeConfigSpace config = q35_with_edu();
    config.add_bar(kEdu, 0, BarKind::kMemory32, 0xFEA0'0000, 1 * MiB);
    config.set_command(kEdu, kCommandMemorySpace | kCommandIoSpace | 0x100);
    Result<Bar> bar = read_bar(config, kEdu, 0);
    ASSERT_TRUE(bar.ok()) << bar.error().message();
    EXPECT_EQ(bar->kind, BarKind::kMemory32);
    EXPECT_FALSE(bar->prefetchable);
    EXPECT_EQ(bar->address, 0xFEA0'0000u);
    EXPECT_EQ(bar->size, 1 * MiB);
    // All ones, then the value back, each with I/O and memory decoding off.
    ASSERT_EQ(config.bar_writes.size(), 2u);
    EXPECT_EQ(config.bar_writes[0].value, ~0u);
    EXPECT_EQ(config.bar_writes[1].value, 0xFEA0'0000u);
    for (const auto& write : config.bar_writes) {
        EXPECT_EQ(write.offset, kBar0Offset);
        EXPECT_EQ(write.command & (kCommandMemorySpace | kCommandIoSpace), 0);
    }
    EXPECT_EQ(config.read32(kEdu, kBar0Offset), 0xFEA0'0000u);
    EXPECT_EQ(config.command(kEdu), kCommandMemorySpace | kCommandIoSpace | 0x100);
}

TEST(ReadBar, A64BitPrefetchableBarUsesBothHalves) {
    FakeConfigSpace config = q35_with_edu();
    config.add_bar(kEdu, 2, BarKind::kMemory64, 0x80'0000'0000ull, 16 * GiB, true);
    Result<Bar> bar = read_bar(config, kEdu, 2);
    ASSERT_TRUE(bar.ok()) << bar.error().message();
    EXPECT_EQ(bar->kind, BarKind::kMemory64);
    EXPECT_TRUE(bar->prefetchable);
    EXPECT_EQ(bar->address, 0x80'0000'0000ull);
    EXPECT_EQ(bar->size, 16 * GiB);
    EXPECT_EQ(config.read32(kEdu, kBar0Offset + 8), 0x0000'000Cu);
    EXPECT_EQ(config.read32(kEdu, kBar0Offset + 12), 0x80u);
    EXPECT_EQ(config.bar_writes.size(), 4u);
}

TEST(ReadBar, IoAndUnimplementedBars) {
    FakeConfigSpace config = q35_with_edu();
    config.add_bar(kEdu, 1, BarKind::kIo, 0xC040, 32);
    Result<Bar> io = read_bar(config, kEdu, 1);
    ASSERT_TRUE(io.ok());
    EXPECT_EQ(io->kind, BarKind::kIo);
    EXPECT_EQ(io->address, 0xC040u);
    EXPECT_EQ(io->size, 32u);
    Result<Bar> none = read_bar(config, kEdu, 3);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->kind, BarKind::kUnimplemented);
    EXPECT_EQ(none->size, 0u);
    EXPECT_EQ(none->address, 0u);
    EXPECT_STREQ(bar_kind_name(io->kind), "I/O");
    EXPECT_STREQ(bar_kind_name(BarKind::kMemory32), "memory 32-bit");
}

TEST(ReadBar, Refusals) {
    FakeConfigSpace config = q35_with_edu();
    config.add_bar(kEdu, 5, BarKind::kMemory64, 0x1'0000'0000ull, 1 * MiB);
    EXPECT_EQ(std::string(read_bar(config, kEdu, 5).error().message()),
              "00:04.0: BAR5 is 64-bit but the last one");
    EXPECT_EQ(read_bar(config, kEdu, 6).error().code(), ErrorCode::kOutOfRange);
    config.add_function(Bdf{0, 5, 0}, 0x8086, 0x244E, 0x01);  // a bridge
    EXPECT_EQ(std::string(read_bar(config, Bdf{0, 5, 0}, 0).error().message()),
              "00:05.0: header type 0x1 is not a type-0 header");
}

TEST(EnableCommandBits, ReturnsWhatTookEffect) {
    FakeConfigSpace config = q35_with_edu();
    u16 wanted = kCommandMemorySpace | kCommandBusMaster | kCommandInterruptDisable;
    EXPECT_EQ(enable_command_bits(config, kEdu, wanted), 0x0406);
    // SERR# enable (bit 8) is not writable in a Relay domain: the read-back shows it.
    EXPECT_EQ(enable_command_bits(config, kEdu, 0x100), 0x0406);
}

}  // namespace
}  // namespace relay::guest::pci
