#include "hv/pci/function_config.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

namespace relay::pci {
namespace {

// A type-0 function in the fashion of QEMU's edu (1234:11e8): BAR0 1 MiB 32-bit memory,
// BAR2/3 a 64-bit prefetchable 16 KiB BAR, BAR4 a 256-byte I/O BAR. Sizing and read-only
// bits behave as the PCI specification says; every write is logged.
class FakeDevice final : public ConfigAccess {
public:
    FakeDevice() {
        put(0x00, 4, 0x11E8'1234);
        put(0x04, 4, 0x0010'0000);  // status: capabilities list
        put(0x08, 4, 0x00FF'0010);
        put(0x0E, 1, 0x00);
        bar_value[0] = 0xFEA0'0000;
        bar_value[2] = 0x8000'000C;  // 64-bit prefetchable
        bar_value[3] = 0x0000'0001;  // base 0x1_8000_0000
        bar_value[4] = 0x0000'C001;  // I/O 0xC000
        put(0x34, 1, 0x40);
        put(0x40, 4, 0x1234'0005);  // an MSI capability header
    }
    u32 read(u16 offset, u8 width) override {
        if (offset >= 0x10 && offset < 0x28) {
            usize index = (offset - 0x10) / 4;
            u32 value = bar_value[index];
            return width == 4 ? value : (value >> ((offset & 3) * 8)) & ((1u << (width * 8)) - 1);
        }
        u32 value = 0;
        std::memcpy(&value, &space[offset], width);
        return value;
    }
    void write(u16 offset, u8 width, u32 value) override {
        writes.push_back({offset, width, value});
        if (offset >= 0x10 && offset < 0x28 && width == 4) {
            usize index = (offset - 0x10) / 4;
            bar_value[index] = (value & bar_mask[index]) | (bar_value[index] & ~bar_mask[index]);
            return;
        }
        if (offset == 0x04 || offset == 0x05) {
            std::memcpy(&space[offset], &value, width);
        }
    }
    void put(u16 offset, u8 width, u32 value) { std::memcpy(&space[offset], &value, width); }

    struct Write {
        u16 offset;
        u8 width;
        u32 value;
    };
    std::vector<Write> writes;
    std::array<u8, 256> space{};
    u32 bar_value[6] = {};
    // Writable address bits of each BAR.
    u32 bar_mask[6] = {0xFFF0'0000, 0, 0xFFFF'C000, 0xFFFF'FFFF, 0xFFFF'FF00, 0};
};

TEST(FunctionConfig, ProbeSizesEveryKindOfBar) {
    FakeDevice device;
    device.put(0x04, 2, 0x0007);
    auto bars = probe_bars(device);
    ASSERT_TRUE(bars.ok()) << bars.error().message();
    const Bar& bar0 = bars->bars[0];
    EXPECT_EQ(bar0.kind, Bar::Kind::kMemory32);
    EXPECT_EQ(bar0.base, 0xFEA0'0000u);
    EXPECT_EQ(bar0.size, 1u << 20);
    EXPECT_EQ(bars->bars[1].kind, Bar::Kind::kNone);
    const Bar& bar2 = bars->bars[2];
    EXPECT_EQ(bar2.kind, Bar::Kind::kMemory64);
    EXPECT_TRUE(bar2.prefetchable);
    EXPECT_EQ(bar2.base, 0x1'8000'0000u);
    EXPECT_EQ(bar2.size, 16u * 1024);
    EXPECT_EQ(bars->bars[3].kind, Bar::Kind::kNone) << "upper half of BAR2";
    EXPECT_EQ(bars->bars[4].kind, Bar::Kind::kIo);
    EXPECT_EQ(bars->bars[4].base, 0xC000u);
    EXPECT_EQ(bars->bars[4].size, 256u);
    // Decoding was off while sizing and is back as it was; every BAR holds its value.
    EXPECT_EQ(device.writes.front().offset, 0x04);
    EXPECT_EQ(device.writes.front().value & 3, 0u);
    EXPECT_EQ(device.read(0x04, 2), 0x0007u);
    EXPECT_EQ(device.bar_value[0], 0xFEA0'0000u);
    EXPECT_EQ(device.bar_value[3], 1u);
}

TEST(FunctionConfig, ProbeRefusesMissingFunctionsAndBridges) {
    FakeDevice device;
    device.put(0x00, 2, 0xFFFF);
    EXPECT_EQ(probe_bars(device).error().code(), ErrorCode::kNotFound);
    FakeDevice bridge;
    bridge.put(0x0E, 1, 0x81);
    auto refused = probe_bars(bridge);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code(), ErrorCode::kUnsupported);
    EXPECT_TRUE(bridge.writes.empty()) << "a refused function is not touched";
}

TEST(FunctionConfig, ReadsPassThroughExceptBarsAndRom) {
    FakeDevice device;
    FunctionConfig config(probe_bars(device).value());
    device.writes.clear();
    EXPECT_EQ(config.read(device, 0x00, 4), 0x11E8'1234u);
    EXPECT_EQ(config.read(device, 0x02, 2), 0x11E8u);
    EXPECT_EQ(config.read(device, 0x40, 4), 0x1234'0005u);
    EXPECT_EQ(config.read(device, 0x10, 4), 0xFEA0'0000u);
    EXPECT_EQ(config.read(device, 0x12, 2), 0xFEA0u);
    EXPECT_EQ(config.read(device, 0x18, 4), 0x8000'000Cu);
    EXPECT_EQ(config.read(device, 0x1C, 4), 0x0000'0001u);
    EXPECT_EQ(config.read(device, 0x30, 4), 0u);
    EXPECT_EQ(config.read(device, 0x11, 2), 0xFFFF'FFFFu) << "misaligned";
    EXPECT_TRUE(device.writes.empty());
}

TEST(FunctionConfig, BarSizingIsEmulatedAndTheBarNeverMoves) {
    FakeDevice device;
    FunctionConfig config(probe_bars(device).value());
    device.writes.clear();
    config.write(device, 0x10, 4, 0xFFFF'FFFF);
    EXPECT_EQ(config.read(device, 0x10, 4), 0xFFF0'0000u);
    config.write(device, 0x10, 4, 0x1234'0000);  // a new base: ignored, ends the sizing
    EXPECT_EQ(config.read(device, 0x10, 4), 0xFEA0'0000u);
    // 64-bit BAR: both halves size together.
    config.write(device, 0x18, 4, 0xFFFF'FFFF);
    config.write(device, 0x1C, 4, 0xFFFF'FFFF);
    EXPECT_EQ(config.read(device, 0x18, 4), 0xFFFF'C00Cu);
    EXPECT_EQ(config.read(device, 0x1C, 4), 0xFFFF'FFFFu);
    config.write(device, 0x18, 4, 0x8000'000C);
    EXPECT_EQ(config.read(device, 0x1C, 4), 1u);
    // I/O BAR sizing.
    config.write(device, 0x20, 4, 0xFFFF'FFFF);
    EXPECT_EQ(config.read(device, 0x20, 4), 0x0000'FF01u);
    EXPECT_TRUE(device.writes.empty()) << "no BAR write reaches the device";
}

TEST(FunctionConfig, OnlyCommandBitsReachTheDevice) {
    FakeDevice device;
    FunctionConfig config(probe_bars(device).value());
    device.put(0x04, 2, 0x0100);  // SERR enable set by the host
    device.writes.clear();
    config.write(device, 0x04, 2, 0xFFFF);
    EXPECT_EQ(device.read(0x04, 2), 0x0507u) << "I/O, memory, bus master, INTx disable; SERR kept";
    config.write(device, 0x04, 4, 0xFFFF'0000);  // clears the allowed bits, status untouched
    EXPECT_EQ(device.read(0x04, 2), 0x0100u);
    config.write(device, 0x04, 1, 0x06);
    EXPECT_EQ(device.read(0x04, 2), 0x0106u);
    usize before = device.writes.size();
    config.write(device, 0x3C, 1, 0x0B);  // interrupt line
    config.write(device, 0x40, 4, 0);     // MSI capability
    config.write(device, 0x08, 4, 0);
    config.write(device, 0x12, 2, 0);  // part of a BAR
    EXPECT_EQ(device.writes.size(), before) << "dropped";
}

}  // namespace
}  // namespace relay::pci
