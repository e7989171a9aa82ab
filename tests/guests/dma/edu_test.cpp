#include "tests/guests/dma/edu.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/guests/dma/fake_edu.hpp"

namespace relay::guest::dma {
namespace {

struct Machine {
    Machine() { ram.add_window(0x10'0000, 64 * KiB); }
    FakeRam ram;
    FakeEdu device{ram};
    FakeClock clock{device};
    Edu edu{device, kEduDefaultDmaMaskBits};
};

TEST(EduIdentification, DecodesTheVersionAndRefusesOtherDevices) {
    Result<EduIdentification> id = decode_identification(0x0100'00ED);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->major, 1);
    EXPECT_EQ(id->minor, 0);
    EXPECT_EQ(decode_identification(0x0203'00ED)->minor, 3);
    for (u32 bad : {0u, ~0u, 0x0100'01EDu, 0x0100'00EEu}) {
        EXPECT_FALSE(decode_identification(bad).ok()) << bad;
    }
    EXPECT_EQ(std::string(decode_identification(~0u).error().message()),
              "identification register reads 0xffffffff, not edu's 0xRRrr00ed");
}

TEST(Edu, LivenessReadsBackTheComplement) {
    Machine machine;
    EXPECT_EQ(machine.edu.identification(), 0x0100'00EDu);
    EXPECT_EQ(machine.edu.liveness(0x1234'5678), 0xEDCB'A987u);
    EXPECT_EQ(machine.device.protocol_violations, 0u);
}

TEST(Edu, ProgramsATransferAndWaitsForTheStartBitToClear) {
    Machine machine;
    ASSERT_TRUE(machine.edu.start(DmaDirection::kFromDevice, 0x10'2000, 0x10, 64).ok());
    EXPECT_TRUE(machine.edu.busy());
    WaitResult wait = machine.edu.wait_idle(machine.clock, 1'000'000);
    EXPECT_TRUE(wait.idle);
    EXPECT_EQ(wait.command, kEduDmaToRam);  // the start bit cleared, the direction stays
    EXPECT_EQ(wait.waited_microseconds, kEduDmaMicroseconds);
    EXPECT_EQ(machine.clock.polls, kEduDmaMicroseconds / FakeClock::kPollMicroseconds);
    ASSERT_EQ(machine.device.dmas.size(), 1u);
    const FakeEdu::Dma& dma = machine.device.dmas[0];
    EXPECT_EQ(dma.direction, DmaDirection::kFromDevice);
    EXPECT_EQ(dma.ram_address, 0x10'2000u);
    EXPECT_EQ(dma.buffer_offset, 0x10u);
    EXPECT_EQ(dma.count, 64u);
    EXPECT_EQ(machine.device.interrupts_requested, 0u);  // no interrupts: the guest polls
    EXPECT_EQ(machine.device.protocol_violations, 0u);
}

TEST(Edu, AWaitMeasuresTheLongestTimeBetweenTwoLooks) {
    Machine machine;
    ASSERT_TRUE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 0, 8).ok());
    EXPECT_EQ(machine.edu.wait_idle(machine.clock, 1'000'000).longest_gap_microseconds,
              FakeClock::kPollMicroseconds);
    // Paused for 150 ms at the 40th look: the device finished meanwhile.
    machine.clock.polls = 0;
    machine.clock.pause_at_poll = 40;
    machine.clock.pause_microseconds = 150'000;
    ASSERT_TRUE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 0, 8).ok());
    WaitResult wait = machine.edu.wait_idle(machine.clock, 1'000'000);
    EXPECT_TRUE(wait.idle);
    EXPECT_EQ(wait.longest_gap_microseconds, 151'000u);
    EXPECT_EQ(wait.waited_microseconds, 40 * FakeClock::kPollMicroseconds + 150'000);
}

TEST(Edu, AnIdleDeviceNeedsNoPoll) {
    Machine machine;
    WaitResult wait = machine.edu.wait_idle(machine.clock, 0);
    EXPECT_TRUE(wait.idle);
    EXPECT_EQ(machine.clock.polls, 0u);
}

TEST(Edu, WaitingEndsAtTheTimeout) {
    Machine machine;
    machine.device.never_finishes = true;
    ASSERT_TRUE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 0, 8).ok());
    WaitResult wait = machine.edu.wait_idle(machine.clock, 250'000);
    EXPECT_FALSE(wait.idle);
    EXPECT_EQ(wait.waited_microseconds, 250'000u);
    EXPECT_EQ(wait.command, kEduDmaStart);
}

TEST(Edu, RefusesTransfersQemuWouldStopFor) {
    Machine machine;
    // QEMU 7.2 accepts at most 4095 bytes from the buffer's start (its check is off by one).
    EXPECT_TRUE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 0, kEduMaxTransfer).ok());
    EXPECT_TRUE(machine.edu.wait_idle(machine.clock, 1'000'000).idle);
    EXPECT_TRUE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 4094, 1).ok());
    EXPECT_TRUE(machine.edu.wait_idle(machine.clock, 1'000'000).idle);
    EXPECT_EQ(machine.device.protocol_violations, 0u);
    u64 dmas = machine.device.dmas.size();
    Status whole = machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 0, kEduBufferSize);
    ASSERT_FALSE(whole.ok());
    EXPECT_EQ(std::string(whole.error().message()),
              "edu DMA of 4096 bytes at buffer offset 0x0: edu takes 1 to 4095 bytes within its "
              "buffer");
    EXPECT_FALSE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 0, 0).ok());
    EXPECT_FALSE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 4095, 1).ok());
    EXPECT_FALSE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, 8, ~0ull).ok());
    EXPECT_FALSE(machine.edu.start(DmaDirection::kToDevice, 0x10'0000, ~0ull, 8).ok());
    EXPECT_EQ(machine.device.dmas.size(), dmas);  // nothing reached the device
}

TEST(Edu, RefusesRamTheDmaMaskWouldMove) {
    Machine machine;
    EXPECT_TRUE(machine.edu.start(DmaDirection::kToDevice, (1ull << 28) - 8, 0, 8).ok());
    EXPECT_TRUE(machine.edu.wait_idle(machine.clock, 1'000'000).idle);
    Status above = machine.edu.start(DmaDirection::kToDevice, (1ull << 28) - 8, 0, 16);
    ASSERT_FALSE(above.ok());
    EXPECT_EQ(std::string(above.error().message()),
              "edu DMA of 16 bytes at RAM 0xffffff8: beyond the 28-bit DMA mask (edu would use "
              "another address)");
    EXPECT_FALSE(machine.edu.start(DmaDirection::kFromDevice, 1ull << 28, 0, 8).ok());
    Edu wide(machine.device, 64);
    EXPECT_TRUE(wide.start(DmaDirection::kToDevice, ~0ull - 7, 0, 8).ok());  // the last byte
    EXPECT_FALSE(wide.start(DmaDirection::kToDevice, ~0ull - 7, 0, 16).ok());
    EXPECT_EQ(dma_mask(28), 0x0FFF'FFFFu);
    EXPECT_EQ(dma_mask(64), ~0ull);
    EXPECT_EQ(dma_limit(28), 0x1000'0000u);
    EXPECT_EQ(dma_limit(64), ~0ull);
}

}  // namespace
}  // namespace relay::guest::dma
