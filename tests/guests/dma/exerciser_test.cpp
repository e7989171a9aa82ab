#include "tests/guests/dma/exerciser.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "tests/guests/dma/fake_edu.hpp"
#include "tests/guests/dma/pattern.hpp"

namespace relay::guest::dma {
namespace {

constexpr u16 kDomid = 3;
constexpr u64 kSeed = 42;
constexpr u64 kRamBase = 0x10'0000;
constexpr u64 kRamSize = 64 * kPageSize4K;
constexpr u64 kTimeout = 1'000'000;
// Outside the fake RAM, below 256 MiB: the IOMMU blocks it.
constexpr u64 kOutside = 0x800'0000;

u64 key(u64 transfer) {
    return transfer_key(kDomid, kSeed, transfer);
}

// A domain's RAM windows, edu, and the guest's view of them, as the dma guest sets it up.
struct Machine {
    explicit Machine(std::vector<MemoryRegion> ram = {{kRamBase, kRamSize}},
                     u32 guest_mask_bits = kEduDefaultDmaMaskBits)
        : edu(device, guest_mask_bits) {
        for (const MemoryRegion& window : ram) {
            this->ram.add_window(window.base, window.size);
        }
        walk = PageWalk::plan(ram, dma_limit(guest_mask_bits));
    }

    void expect_clean_protocol() const {
        EXPECT_EQ(device.ignored_writes, 0u) << "wrote registers while the device was busy";
        EXPECT_EQ(device.protocol_violations, 0u) << "QEMU would have stopped";
        EXPECT_EQ(device.interrupts_requested, 0u);
    }

    FakeRam ram;
    FakeEdu device{ram};
    FakeClock clock{device};
    Edu edu;
    PageWalk walk;  // planned in the constructor; the exerciser keeps a reference
    TransferSettings settings{kDomid, kSeed, kTimeout};
    DmaExerciser exerciser{edu, clock, ram, walk, settings};
};

TEST(DmaExerciser, RoundTripsCopyEveryWordThroughTheDevice) {
    Machine machine;
    std::set<u64> sources;
    for (u64 transfer = 1; transfer <= 2 * machine.walk.page_count(); ++transfer) {
        TransferResult result = machine.exerciser.run(transfer);
        ASSERT_EQ(result.status, TransferStatus::kOk) << transfer;
        EXPECT_EQ(result.number, transfer);
        EXPECT_EQ(result.source, machine.walk.source(transfer));
        EXPECT_EQ(result.destination, machine.walk.destination(transfer));
        sources.insert(result.source);
        // The destination holds the transfer's data, and the poison past the count.
        for (u64 offset = 0; offset < kPageSize4K; offset += 8) {
            u64 expected = offset < kTransferBytes ? transfer_word(key(transfer), offset)
                                                   : poison_word(key(transfer), offset);
            ASSERT_EQ(machine.ram.word(result.destination + offset), expected) << offset;
        }
    }
    EXPECT_EQ(sources.size(), machine.walk.page_count());  // every page took part
    machine.expect_clean_protocol();
    EXPECT_TRUE(machine.ram.faults.empty());
    EXPECT_EQ(machine.device.clamped, 0u);
    // Two DMAs of 4088 bytes per transfer, each waited for (100 ms of edu's time).
    ASSERT_EQ(machine.device.dmas.size(), 4 * machine.walk.page_count());
    for (const FakeEdu::Dma& dma : machine.device.dmas) {
        EXPECT_EQ(dma.count, kTransferBytes);
        EXPECT_EQ(dma.buffer_offset, 0u);
        EXPECT_EQ(dma.finished_at - dma.started_at, kEduDmaMicroseconds);
    }
    EXPECT_EQ(machine.device.dmas[0].direction, DmaDirection::kToDevice);
    EXPECT_EQ(machine.device.dmas[1].direction, DmaDirection::kFromDevice);
}

TEST(DmaExerciser, ADmaInFlightWhileTheGuestIsPausedCompletesAndIsMeasured) {
    Machine machine;
    TransferResult quiet = machine.exerciser.run(1);
    ASSERT_EQ(quiet.status, TransferStatus::kOk);
    EXPECT_EQ(quiet.longest_gap_microseconds, FakeClock::kPollMicroseconds);
    // The guest is paused for 120 ms (a blackout) 30 ms into the second DMA.
    u64 polls_per_dma = kEduDmaMicroseconds / FakeClock::kPollMicroseconds;
    machine.clock.pause_at_poll = machine.clock.polls + polls_per_dma + 30;
    machine.clock.pause_microseconds = 120'000;
    TransferResult paused = machine.exerciser.run(2);
    EXPECT_EQ(paused.status, TransferStatus::kOk) << "the data arrived during the pause";
    EXPECT_EQ(paused.longest_gap_microseconds, 121'000u);
    machine.expect_clean_protocol();
}

TEST(DmaExerciser, ACorruptedByteInTheDeviceIsReportedAtItsAddress) {
    Machine machine;
    machine.device.corrupt_buffer_byte = 100;  // byte 4 of word 12
    TransferResult result = machine.exerciser.run(7);
    ASSERT_EQ(result.status, TransferStatus::kCorrupt);
    EXPECT_EQ(result.place, CorruptPlace::kDestination);
    EXPECT_EQ(result.address, result.destination + 96);
    EXPECT_EQ(result.expected, transfer_word(key(7), 96));
    EXPECT_EQ(result.found, result.expected ^ (1ull << 32));
    EXPECT_EQ(result.bad_words, 1u);
    machine.expect_clean_protocol();
}

TEST(DmaExerciser, ADeviceThatNeverFinishesTimesOutAndIsLeftAlone) {
    Machine machine;
    machine.device.never_finishes = true;
    TransferResult first = machine.exerciser.run(1);
    ASSERT_EQ(first.status, TransferStatus::kTimeout);
    EXPECT_EQ(first.step, TimeoutStep::kToDevice);
    EXPECT_EQ(first.waited_microseconds, kTimeout);
    EXPECT_EQ(first.command, kEduDmaStart);
    // The next transfer waits for the device, finds it still busy, and touches nothing:
    // no register writes (the device would ignore them), no page filled.
    u64 polls = machine.clock.polls;
    TransferResult second = machine.exerciser.run(2);
    ASSERT_EQ(second.status, TransferStatus::kTimeout);
    EXPECT_EQ(second.step, TimeoutStep::kBusy);
    EXPECT_EQ(machine.ram.word(second.source), 0u);
    EXPECT_EQ(machine.device.dmas.size(), 1u);
    // Waiting kept calling back (the guest prints its heartbeats there).
    EXPECT_EQ(machine.clock.polls - polls, kTimeout / FakeClock::kPollMicroseconds);
    machine.expect_clean_protocol();
}

TEST(DmaExerciser, ATimeoutOfTheSecondDmaSaysSo) {
    Machine machine;
    machine.device.finishing_dmas = 1;
    TransferResult result = machine.exerciser.run(1);
    ASSERT_EQ(result.status, TransferStatus::kTimeout);
    EXPECT_EQ(result.step, TimeoutStep::kFromDevice);
    EXPECT_EQ(result.command, kEduDmaStart | kEduDmaToRam);
    machine.expect_clean_protocol();
}

TEST(DmaExerciser, RecoversWhenALateDmaFinishes) {
    Machine machine;
    machine.settings.timeout_microseconds = 50'000;  // shorter than edu's 100 ms
    DmaExerciser impatient(machine.edu, machine.clock, machine.ram, machine.walk, machine.settings);
    TransferResult result = impatient.run(1);
    ASSERT_EQ(result.status, TransferStatus::kTimeout);
    EXPECT_EQ(result.step, TimeoutStep::kToDevice);
    // The next transfer waits out the late DMA, then its own DMAs time out again.
    EXPECT_EQ(impatient.run(2).step, TimeoutStep::kToDevice);
    machine.expect_clean_protocol();
    // With enough patience everything works again.
    EXPECT_EQ(machine.exerciser.run(3).status, TransferStatus::kOk);
}

TEST(DmaExerciser, RamAbove28BitsIsMissedByEduAndCaughtWhenTheGuestAssumesMore) {
    // 64 KiB at 1 MiB and at 257 MiB; edu masks to 28 bits, so 257 MiB becomes 1 MiB.
    std::vector<MemoryRegion> ram = {{kRamBase, 16 * kPageSize4K},
                                     {0x1000'0000 + kRamBase, 16 * kPageSize4K}};
    Machine wrong(ram, 32);
    ASSERT_EQ(wrong.walk.page_count(), 32u);
    u64 failures = 0;
    for (u64 transfer = 1; transfer <= 32; ++transfer) {
        TransferResult result = wrong.exerciser.run(transfer);
        bool high = result.source >= 0x1000'0000 || result.destination >= 0x1000'0000;
        EXPECT_EQ(result.status == TransferStatus::kOk, !high) << transfer;
        if (result.status != TransferStatus::kOk) {
            ++failures;
            EXPECT_EQ(result.status, TransferStatus::kCorrupt);
        }
        // A destination that was never written still holds the poison.
        if (result.destination >= 0x1000'0000 && result.source < 0x1000'0000) {
            EXPECT_EQ(result.found, poison_word(key(transfer), 0));
        }
    }
    EXPECT_GT(failures, 0u);
    EXPECT_GT(wrong.device.clamped, 0u);

    // With the default 28 bits the guest keeps below 256 MiB, and all is well.
    Machine right(ram, kEduDefaultDmaMaskBits);
    ASSERT_EQ(right.walk.page_count(), 16u);
    for (u64 transfer = 1; transfer <= 32; ++transfer) {
        EXPECT_EQ(right.exerciser.run(transfer).status, TransferStatus::kOk) << transfer;
    }
    EXPECT_EQ(right.device.clamped, 0u);
}

TEST(DmaExerciser, AWrongIommuMappingOfOnePageIsCaughtEachTimeThePageIsUsed) {
    Machine machine;
    u64 wrong = machine.walk.page(10);
    machine.ram.redirect(wrong, machine.walk.page(11));
    std::vector<u64> failed;
    for (u64 transfer = 1; transfer <= machine.walk.page_count(); ++transfer) {
        TransferResult result = machine.exerciser.run(transfer);
        bool uses_page = result.source == wrong || result.destination == wrong;
        EXPECT_EQ(result.status == TransferStatus::kCorrupt, uses_page) << transfer;
        if (uses_page) {
            failed.push_back(transfer);
        }
    }
    // Once as a source, once as a destination.
    EXPECT_EQ(failed.size(), 2u);
    machine.expect_clean_protocol();
}

TEST(DmaExerciser, AReadThatBroughtNothingLeavesThePreviousTransfersData) {
    Machine machine;
    ASSERT_EQ(machine.exerciser.run(1).status, TransferStatus::kOk);
    machine.device.drop_reads_from_ram = true;
    TransferResult result = machine.exerciser.run(2);
    ASSERT_EQ(result.status, TransferStatus::kCorrupt);
    EXPECT_EQ(result.place, CorruptPlace::kDestination);
    EXPECT_EQ(result.address, result.destination);
    EXPECT_EQ(result.found, transfer_word(key(1), 0));
    EXPECT_EQ(result.bad_words, kTransferWords);
}

TEST(DmaExerciser, ADeviceThatWritesPastTheCountIsCaught) {
    Machine machine;
    machine.device.extra_bytes_to_ram = 8;
    TransferResult result = machine.exerciser.run(1);
    ASSERT_EQ(result.status, TransferStatus::kCorrupt);
    EXPECT_EQ(result.place, CorruptPlace::kPastCount);
    EXPECT_EQ(result.address, result.destination + kTransferBytes);
    EXPECT_EQ(result.expected, poison_word(key(1), kTransferBytes));
    EXPECT_EQ(result.found, 0u);  // the buffer's last word was never written
    EXPECT_EQ(result.bad_words, 1u);
}

TEST(DmaExerciser, AWriteIntoTheSourceIsCaught) {
    Machine machine;
    // Transfer 1's destination is mapped onto another page; make it the source.
    machine.ram.redirect(machine.walk.destination(1), machine.walk.source(1));
    machine.device.corrupt_buffer_byte = 0;  // so the stray write changes the source
    TransferResult result = machine.exerciser.run(1);
    ASSERT_EQ(result.status, TransferStatus::kCorrupt);
    EXPECT_EQ(result.place, CorruptPlace::kDestination);  // reported first
    EXPECT_EQ(result.bad_words, kTransferWords + 1);      // the destination, and the source
    EXPECT_EQ(machine.ram.word(result.source), transfer_word(key(1), 0) ^ 1);
}

TEST(DmaExerciser, OutsideTransfersAreBlockedAndTheBufferReadsZero) {
    Machine machine;
    ASSERT_EQ(machine.exerciser.run(1).status, TransferStatus::kOk);
    ASSERT_TRUE(machine.exerciser.fill_buffer(BufferMarker::kWrittenOutside).done());
    DmaStep write = machine.exerciser.outside(DmaDirection::kFromDevice, kOutside);
    EXPECT_TRUE(write.done());
    EXPECT_EQ(write.wait.waited_microseconds, kEduDmaMicroseconds);
    ASSERT_TRUE(machine.exerciser.fill_buffer(BufferMarker::kBeforeRead).done());
    DmaStep read = machine.exerciser.outside(DmaDirection::kToDevice, kOutside);
    EXPECT_TRUE(read.done());
    BufferCheck check = machine.exerciser.check_buffer();
    ASSERT_TRUE(check.step.done());
    EXPECT_EQ(check.contents, BufferContents::kZero);
    EXPECT_EQ(check.changed_words, kTransferWords);
    EXPECT_EQ(check.first_changed_offset, 0u);
    EXPECT_EQ(check.before, poison_word(key(0), 0));
    EXPECT_EQ(check.found, 0u);
    ASSERT_EQ(machine.ram.faults.size(), 2u);
    EXPECT_EQ(machine.ram.faults[0].address, kOutside);
    EXPECT_TRUE(machine.ram.faults[0].write);
    EXPECT_FALSE(machine.ram.faults[1].write);
    // Normal transfers go on.
    for (u64 transfer = 2; transfer < 10; ++transfer) {
        EXPECT_EQ(machine.exerciser.run(transfer).status, TransferStatus::kOk);
    }
    machine.expect_clean_protocol();
}

TEST(DmaExerciser, AnMsiWriteDmasExactlyTheFourBytesOfItsData) {
    constexpr u64 kInterruptAddress = 0xFEE0'0000;
    // No IOMMU in the way, so the fake RAM shows what the device wrote there.
    Machine machine({{kRamBase, kRamSize}, {kInterruptAddress, kPageSize4K}}, 32);
    machine.device.dma_mask = 0xFFFF'FFFF;  // -device edu,dma_mask=0xffffffff
    volatile u64* target = machine.ram.words(kInterruptAddress, 8);
    target[0] = ~0ull;
    ASSERT_TRUE(machine.exerciser.fill_buffer_word(0x4031).done());
    ASSERT_TRUE(machine.exerciser.write_word(kInterruptAddress).done());
    EXPECT_EQ(target[0], 0xFFFF'FFFF'0000'4031u) << "4 bytes, little-endian, and no more";
    ASSERT_EQ(machine.device.dmas.size(), 2u);
    EXPECT_EQ(machine.device.dmas[0].direction, DmaDirection::kToDevice);
    EXPECT_EQ(machine.device.dmas[0].count, 4u);
    EXPECT_EQ(machine.device.dmas[1].direction, DmaDirection::kFromDevice);
    EXPECT_EQ(machine.device.dmas[1].count, 4u);
    // Blocked (no window there): a fault, and normal transfers go on.
    Machine blocked({{kRamBase, kRamSize}}, 32);
    blocked.device.dma_mask = 0xFFFF'FFFF;
    ASSERT_TRUE(blocked.exerciser.fill_buffer_word(0x4031).done());
    EXPECT_TRUE(blocked.exerciser.write_word(kInterruptAddress).done());
    ASSERT_EQ(blocked.ram.faults.size(), 1u);
    EXPECT_EQ(blocked.ram.faults[0].address, kInterruptAddress);
    EXPECT_EQ(blocked.exerciser.run(1).status, TransferStatus::kOk);
    machine.expect_clean_protocol();
    blocked.expect_clean_protocol();
}

TEST(DmaExerciser, OutsideDataReadBackMeansTheDmasWentThrough) {
    // No IOMMU in the way: there is memory at the outside address.
    Machine machine({{kRamBase, kRamSize}, {kOutside, kPageSize4K}});
    ASSERT_TRUE(machine.exerciser.fill_buffer(BufferMarker::kWrittenOutside).done());
    ASSERT_TRUE(machine.exerciser.outside(DmaDirection::kFromDevice, kOutside).done());
    EXPECT_EQ(machine.ram.word(kOutside + 8), transfer_word(key(0), 8));
    ASSERT_TRUE(machine.exerciser.fill_buffer(BufferMarker::kBeforeRead).done());
    ASSERT_TRUE(machine.exerciser.outside(DmaDirection::kToDevice, kOutside).done());
    EXPECT_EQ(machine.exerciser.check_buffer().contents, BufferContents::kOutsideData);
}

TEST(DmaExerciser, AReadThatBringsNothingLeavesTheBufferUnchanged) {
    Machine machine;
    ASSERT_TRUE(machine.exerciser.fill_buffer(BufferMarker::kBeforeRead).done());
    machine.device.drop_reads_from_ram = true;
    ASSERT_TRUE(machine.exerciser.outside(DmaDirection::kToDevice, kOutside).done());
    BufferCheck check = machine.exerciser.check_buffer();
    EXPECT_EQ(check.contents, BufferContents::kUnchanged);
    EXPECT_EQ(check.changed_words, 0u);
    // A corrupted word is "other".
    machine.device.corrupt_buffer_byte = 16;
    ASSERT_TRUE(machine.exerciser.outside(DmaDirection::kToDevice, kOutside).done());
    check = machine.exerciser.check_buffer();
    EXPECT_EQ(check.contents, BufferContents::kOther);
    EXPECT_EQ(check.changed_words, 1u);
    EXPECT_EQ(check.first_changed_offset, 16u);
}

TEST(DmaExerciser, OutsideTransfersWithAStuckDeviceTimeOut) {
    Machine machine;
    machine.device.never_finishes = true;
    DmaStep marker = machine.exerciser.fill_buffer(BufferMarker::kWrittenOutside);
    EXPECT_TRUE(marker.started);
    EXPECT_FALSE(marker.done());
    DmaStep write = machine.exerciser.outside(DmaDirection::kFromDevice, kOutside);
    EXPECT_FALSE(write.started);
    EXPECT_EQ(write.wait.waited_microseconds, kTimeout);
    BufferCheck check = machine.exerciser.check_buffer();
    EXPECT_FALSE(check.step.done());
    machine.expect_clean_protocol();
}

}  // namespace
}  // namespace relay::guest::dma
