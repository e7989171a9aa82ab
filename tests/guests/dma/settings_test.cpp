#include "tests/guests/dma/settings.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::guest::dma {
namespace {

constexpr u64 kMemory = 32 * MiB;

Result<DmaSettings> parse(const char* text, u64 memory = kMemory) {
    Result<CommandLine> line = CommandLine::parse(text);
    EXPECT_TRUE(line.ok()) << text;
    return parse_settings(line.value(), memory);
}

std::string error(const char* text, u64 memory = kMemory) {
    Result<DmaSettings> settings = parse(text, memory);
    return settings.ok() ? "ok" : settings.error().message();
}

TEST(DmaSettings, Defaults) {
    Result<DmaSettings> settings = parse("");
    ASSERT_TRUE(settings.ok());
    EXPECT_EQ(settings->seed, 1u);
    EXPECT_EQ(settings->heartbeat_ms, 500u);
    EXPECT_EQ(settings->timeout_ms, 1000u);
    EXPECT_EQ(settings->dma_mask_bits, 28u);
    EXPECT_FALSE(settings->bdf_given);
    EXPECT_FALSE(settings->outside_given);
    EXPECT_FALSE(settings->msi_given);
}

TEST(DmaSettings, EveryArgument) {
    Result<DmaSettings> settings = parse(
        "seed=0x2a heartbeat_ms=250 timeout_ms=3000 dma_mask_bits=40 bdf=00:05.0 "
        "outside=0x4000000000 msi=0x4031");
    ASSERT_TRUE(settings.ok()) << settings.error().message();
    EXPECT_EQ(settings->seed, 42u);
    EXPECT_EQ(settings->heartbeat_ms, 250u);
    EXPECT_EQ(settings->timeout_ms, 3000u);
    EXPECT_EQ(settings->dma_mask_bits, 40u);
    EXPECT_TRUE(settings->bdf_given);
    EXPECT_EQ(settings->bdf, (pci::Bdf{0, 5, 0}));
    EXPECT_TRUE(settings->outside_given);
    EXPECT_EQ(settings->outside, 0x40'0000'0000u);
    EXPECT_TRUE(settings->msi_given);
    EXPECT_EQ(settings->msi_data, 0x4031u);
    for (const std::string_view& key : kDmaArguments) {
        EXPECT_NE(std::string_view("seed=0x2a heartbeat_ms=250 timeout_ms=3000 dma_mask_bits=40 "
                                   "bdf=00:05.0 outside=0x4000000000 msi=0x4031")
                      .find(key),
                  std::string_view::npos)
            << key;
    }
}

TEST(DmaSettings, BadValues) {
    EXPECT_NE(error("heartbeat_ms=5"), "ok");
    EXPECT_NE(error("timeout_ms=0"), "ok");
    EXPECT_NE(error("dma_mask_bits=19"), "ok");
    EXPECT_NE(error("dma_mask_bits=65"), "ok");
    EXPECT_NE(error("seed=x"), "ok");
    EXPECT_EQ(error("bdf=0:4.0"),
              "\"0:4.0\" is not a PCI address BB:DD.F (hexadecimal bus, device 00-1f, function "
              "0-7)");
}

TEST(DmaSettings, MsiNeedsADmaMaskThatReachesTheInterruptAddress) {
    EXPECT_EQ(error("msi=0x31"),
              "msi= writes to 0xfee00000, beyond the device's 28-bit DMA mask: use "
              "dma_mask_bits=32 or more, with QEMU's -device edu,dma_mask=...");
    EXPECT_EQ(parse("msi=0x31 dma_mask_bits=32")->msi_data, 0x31u);
    EXPECT_EQ(parse("msi=0xffffffff dma_mask_bits=32")->msi_data, 0xFFFF'FFFFu);
    EXPECT_NE(error("msi=0x100000000 dma_mask_bits=32"), "ok");
}

TEST(DmaSettings, OutsideMustBeBeyondRamAndWithinTheDmaMask) {
    EXPECT_EQ(parse("outside=0x2000000")->outside, 0x200'0000u);  // right at the end of RAM
    EXPECT_EQ(error("outside=0x1fff000"),
              "outside=0x1fff000 is inside this domain's RAM (which ends at 0x2000000)");
    EXPECT_EQ(parse("outside=0xffff008")->outside, 0xFFF'F008u);  // 4088 bytes below 256 MiB
    EXPECT_EQ(error("outside=0xffff009"),
              "outside=0xffff009: its 4088 bytes would run past the device's 28-bit DMA "
              "addresses; use at most 0xffff008");
    EXPECT_EQ(error("outside=0x400000000"),
              "outside=0x400000000 is beyond the device's 28-bit DMA mask: edu would use 0x0 "
              "instead; use at most 0xffff008, or more dma_mask_bits with QEMU's -device "
              "edu,dma_mask=...");
    EXPECT_TRUE(parse("outside=0x400000000 dma_mask_bits=36").ok());
    EXPECT_TRUE(parse("outside=0xfffffffffffff000 dma_mask_bits=64").ok());
    EXPECT_FALSE(parse("outside=0xfffffffffffffff0 dma_mask_bits=64").ok());
    // A domain of 256 MiB leaves nothing for a 28-bit device outside its RAM.
    EXPECT_FALSE(parse("outside=0x10000000", 256 * MiB).ok());
}

}  // namespace
}  // namespace relay::guest::dma
