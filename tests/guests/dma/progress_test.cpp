#include "tests/guests/dma/progress.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay::guest::dma {
namespace {

TransferResult ok(u64 number) {
    TransferResult result;
    result.number = number;
    result.source = 0x2A'5000;
    result.destination = 0x9C'3000;
    return result;
}

TransferResult corrupt(u64 number) {
    TransferResult result = ok(number);
    result.status = TransferStatus::kCorrupt;
    result.place = CorruptPlace::kDestination;
    result.address = 0x9C'3060;
    result.expected = 0x950C'0CEA'8C7E'A507;
    result.found = 0x950C'0CEA'8C7E'A506;
    result.bad_words = 1;
    return result;
}

TransferResult timeout(u64 number) {
    TransferResult result = ok(number);
    result.status = TransferStatus::kTimeout;
    result.step = TimeoutStep::kFromDevice;
    result.waited_microseconds = 1'000'400;
    result.command = 0x3;
    return result;
}

std::string heartbeat(DmaProgress& progress) {
    return std::string(progress.heartbeat("00:04.0").view());
}

TEST(DmaProgress, HeartbeatLines) {
    DmaProgress progress;
    EXPECT_EQ(heartbeat(progress),
              "heartbeat 1 ok transfers=0 bytes=0 errors=0 paused_in_flight=0 "
              "longest_pause_ms=0 device=00:04.0");
    progress.record(ok(1));
    progress.record(ok(2));
    EXPECT_EQ(heartbeat(progress),
              "heartbeat 2 ok transfers=2 bytes=8176 errors=0 paused_in_flight=0 "
              "longest_pause_ms=0 device=00:04.0");
    progress.record(corrupt(3));
    progress.record(timeout(4));  // the first failure since the last heartbeat is shown
    progress.record(ok(5));
    EXPECT_EQ(heartbeat(progress),
              "heartbeat 3 CORRUPT at 0x9c3060 expected 0x950c0cea8c7ea507 found "
              "0x950c0cea8c7ea506 bad_words=1 in=destination transfer=3 source=0x2a5000 "
              "destination=0x9c3000 transfers=5 bytes=12264 errors=2 paused_in_flight=0 "
              "longest_pause_ms=0 device=00:04.0");
    // Reported once; the counters stay.
    EXPECT_EQ(heartbeat(progress),
              "heartbeat 4 ok transfers=5 bytes=12264 errors=2 paused_in_flight=0 "
              "longest_pause_ms=0 device=00:04.0");
    progress.record(timeout(6));
    EXPECT_EQ(heartbeat(progress),
              "heartbeat 5 TIMEOUT in=from-device transfer=6 waited_ms=1000 command=0x3 "
              "source=0x2a5000 destination=0x9c3000 transfers=6 bytes=12264 errors=3 "
              "paused_in_flight=0 longest_pause_ms=0 device=00:04.0");
    EXPECT_EQ(progress.heartbeats(), 5u);
    EXPECT_EQ(progress.transfers(), 6u);
    EXPECT_EQ(progress.errors(), 3u);
}

TEST(DmaProgress, CountsTransfersPausedInFlight) {
    DmaProgress progress;
    TransferResult short_gap = ok(1);
    short_gap.longest_gap_microseconds = kPauseMicroseconds - 1;  // sharing the CPU
    progress.record(short_gap);
    TransferResult blackout = ok(2);
    blackout.longest_gap_microseconds = 121'400;
    progress.record(blackout);
    TransferResult shorter = ok(3);
    shorter.longest_gap_microseconds = kPauseMicroseconds;
    progress.record(shorter);
    EXPECT_EQ(progress.paused_in_flight(), 2u);
    EXPECT_EQ(heartbeat(progress),
              "heartbeat 1 ok transfers=3 bytes=12264 errors=0 paused_in_flight=2 "
              "longest_pause_ms=121 device=00:04.0");
}

TEST(DmaProgress, PlaceAndStepNames) {
    EXPECT_STREQ(corrupt_place_name(CorruptPlace::kPastCount), "past-count");
    EXPECT_STREQ(corrupt_place_name(CorruptPlace::kSource), "source");
    EXPECT_STREQ(timeout_step_name(TimeoutStep::kBusy), "busy");
    EXPECT_STREQ(timeout_step_name(TimeoutStep::kToDevice), "to-device");
    EXPECT_STREQ(direction_name(DmaDirection::kFromDevice), "from-device");
}

TEST(DmaProgress, TheWidestLineFits) {
    DmaProgress progress;
    TransferResult widest = corrupt(~0ull);
    widest.place = CorruptPlace::kPastCount;
    widest.address = widest.source = widest.destination = ~0ull;
    widest.expected = widest.found = widest.bad_words = ~0ull;
    widest.longest_gap_microseconds = ~0ull;
    progress.record(widest);
    for (int i = 0; i < 3; ++i) {
        progress.record(timeout(1));
    }
    std::string line = heartbeat(progress);
    EXPECT_LT(line.size(), kHeartbeatCapacity);
    EXPECT_EQ(line.substr(line.size() - 15), " device=00:04.0");
    widest.status = TransferStatus::kTimeout;
    widest.waited_microseconds = widest.command = ~0ull;
    progress.record(widest);
    line = heartbeat(progress);
    EXPECT_EQ(line.substr(line.size() - 15), " device=00:04.0");
}

std::string text(const ProgressLine& line) {
    return std::string(line.view());
}

TEST(OutsideLines, IssuedAndWhatEachDmaDid) {
    EXPECT_EQ(text(outside_issued_line(DmaDirection::kFromDevice, 0x800'0000, 0x200'0000)),
              "outside transfer to 0x8000000 issued (4088 bytes from the device buffer; RAM "
              "ends at 0x2000000)");
    EXPECT_EQ(text(outside_issued_line(DmaDirection::kToDevice, 0x800'0000, 0x200'0000)),
              "outside transfer from 0x8000000 issued (4088 bytes into the device buffer; RAM "
              "ends at 0x2000000)");
    DmaStep step;
    step.started = true;
    step.wait = {true, 100'999, 0x2};
    EXPECT_EQ(text(outside_step_line(DmaDirection::kFromDevice, 0x800'0000, step)),
              "outside transfer to 0x8000000 completed after 100 ms");
    step.wait = {false, 1'000'000, 0x3};
    EXPECT_EQ(text(outside_step_line(DmaDirection::kFromDevice, 0x800'0000, step)),
              "outside transfer to 0x8000000 TIMEOUT after 1000 ms (command 0x3)");
    step.started = false;
    step.wait = {false, 1'000'000, 0x1};
    EXPECT_EQ(text(outside_step_line(DmaDirection::kToDevice, 0x800'0000, step)),
              "outside transfer from 0x8000000 not started: the device is still busy after "
              "1000 ms (command 0x1)");
}

TEST(OutsideLines, WhatTheBufferHolds) {
    BufferCheck check;
    check.step.started = true;
    check.step.wait.idle = true;
    check.contents = BufferContents::kZero;
    EXPECT_EQ(text(outside_buffer_line(0x800'0000, check)),
              "outside read: device buffer all zero (511 words)");
    check.contents = BufferContents::kUnchanged;
    EXPECT_EQ(text(outside_buffer_line(0x800'0000, check)),
              "outside read: device buffer unchanged (511 words)");
    check.contents = BufferContents::kOnes;
    EXPECT_EQ(text(outside_buffer_line(0x800'0000, check)),
              "outside read: device buffer all ones (511 words)");
    check.contents = BufferContents::kOutsideData;
    EXPECT_EQ(text(outside_buffer_line(0x800'0000, check)),
              "outside read: UNEXPECTED: device buffer holds the data written to 0x8000000: the "
              "DMAs reached memory outside the domain");
    check.contents = BufferContents::kOther;
    check.changed_words = 3;
    check.first_changed_offset = 0x18;
    check.before = 0x1122'3344'5566'7788;
    check.found = 0x1122'3344'5566'7789;
    EXPECT_EQ(text(outside_buffer_line(0x800'0000, check)),
              "outside read: device buffer changed: 3 of 511 words, first at offset 0x18: "
              "0x1122334455667789 (was 0x1122334455667788)");
    check.step.wait = {false, 1'000'000, 0x3};
    EXPECT_EQ(text(outside_buffer_line(0x800'0000, check)),
              "outside read: device buffer not checked: copying it to RAM timed out after 1000 "
              "ms (command 0x3)");
}

}  // namespace
}  // namespace relay::guest::dma
