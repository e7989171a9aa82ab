#include "liveupdate/handover.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace relay::liveupdate {
namespace {

const HostPhysRange kRegion = HostPhysRange::unchecked(HostPhysAddr(0x3be00000), 64 * MiB);

TEST(HandoverLayout, FirstBootImageOutsideTheRegion) {
    HandoverLayout layout(kRegion, HostPhysRange::unchecked(HostPhysAddr(0x200000), 0x120000));
    EXPECT_EQ(layout.own_half(), -1);
    EXPECT_EQ(layout.target_half(), 0);
    EXPECT_EQ(layout.half(1).base(), HostPhysAddr(0x3be00000 + 32 * MiB));
    EXPECT_EQ(layout.purgatory_page(0), HostPhysAddr(0x3be00000 + 32 * MiB - 4096));
    EXPECT_EQ(layout.info_area(0).base(), HostPhysAddr(0x3be00000 + 32 * MiB - 64 * KiB));
    // The two information blocks and the purgatory page share the tail, disjoint.
    EXPECT_EQ(layout.info_area(0).size(), 30 * KiB);
    EXPECT_EQ(layout.fallback_info_area(0).base(), layout.info_area(0).base() + 30 * KiB);
    EXPECT_EQ(layout.fallback_info_area(0).base() + layout.fallback_info_area(0).size(),
              layout.purgatory_page(0));
    EXPECT_EQ(layout.image_capacity(), 32 * MiB - 2 * MiB - 64 * KiB);
}

TEST(HandoverLayout, AlternatesHalves) {
    HandoverLayout in_lower(kRegion, HostPhysRange::unchecked(HostPhysAddr(0x3be00000), 0x120000));
    EXPECT_EQ(in_lower.own_half(), 0);
    EXPECT_EQ(in_lower.target_half(), 1);
    HandoverLayout in_upper(
        kRegion, HostPhysRange::unchecked(HostPhysAddr(0x3be00000 + 32 * MiB), 0x120000));
    EXPECT_EQ(in_upper.own_half(), 1);
    EXPECT_EQ(in_upper.target_half(), 0);
}

TEST(HandoverLayout, WorkspaceFollowsTheImageAndStopsAtTheTail) {
    HandoverLayout layout(kRegion, HostPhysRange::unchecked(HostPhysAddr(0x200000), 0x1000));
    HostPhysRange workspace = layout.workspace(1, 0x123456);
    EXPECT_EQ(workspace.base(), layout.half(1).base() + 0x124000);
    EXPECT_EQ(workspace.base() + workspace.size(), layout.info_area(1).base());
}

TEST(StreamModuleLine, RoundTrips) {
    StreamModuleLine line;
    line.kind = stream::StreamKind::kRestore;
    line.quiesce_tsc = 0x1234567000;
    line.paused_tsc = 0x123456789a;
    line.serialized_tsc = 0x12345680aa;
    line.handover_tsc = 0x123456ffff;
    line.apic_ticks_per_ms = 62500;
    line.has_initiator = true;
    line.initiator_domid = 1;
    line.initiator_vcpu = 2;
    line.previous_base = HostPhysAddr(0x200000);
    line.previous_entry_offset = 0x80;
    line.previous_size = 0x150000;
    std::snprintf(line.reason, sizeof(line.reason), "payload digest 100%% wrong\tnow");
    char text[kStreamModuleLineCapacity];
    format_stream_module_line(line, text, sizeof(text));
    StreamModuleLine parsed;
    auto tagged = parse_stream_module_line(std::string("stream.bin ") + text, &parsed);
    ASSERT_TRUE(tagged.ok()) << tagged.error().message();
    EXPECT_TRUE(tagged.value());
    EXPECT_EQ(parsed.kind, stream::StreamKind::kRestore);
    EXPECT_EQ(parsed.quiesce_tsc, line.quiesce_tsc);
    EXPECT_EQ(parsed.paused_tsc, line.paused_tsc);
    EXPECT_EQ(parsed.serialized_tsc, line.serialized_tsc);
    EXPECT_EQ(parsed.handover_tsc, line.handover_tsc);
    EXPECT_EQ(parsed.apic_ticks_per_ms, 62500u);
    EXPECT_EQ(parsed.initiator_domid, 1);
    EXPECT_EQ(parsed.initiator_vcpu, 2u);
    EXPECT_EQ(parsed.previous_base, HostPhysAddr(0x200000));
    EXPECT_EQ(parsed.previous_entry_offset, 0x80u);
    EXPECT_EQ(parsed.previous_size, 0x150000u);
    EXPECT_STREQ(parsed.reason, "payload digest 100% wrong\tnow");
    // The reason is one word on the command line.
    EXPECT_NE(std::string(text).find("reason=payload%20digest%20100%25%20wrong%09now"),
              std::string::npos)
        << text;
}

TEST(StreamModuleLine, UnknownKeysFromNewerProducersAreIgnored) {
    StreamModuleLine parsed;
    auto tagged = parse_stream_module_line(
        "relay.stream kind=live-update frobnicate=1 paused_tsc=0x10", &parsed);
    ASSERT_TRUE(tagged.ok()) << tagged.error().message();
    EXPECT_TRUE(tagged.value());
    EXPECT_EQ(parsed.paused_tsc, 0x10u);
}

TEST(StreamModuleLine, OtherModulesAreNotStreams) {
    StreamModuleLine parsed;
    auto tagged = parse_stream_module_line("memtest.elf relay.module=kernel", &parsed);
    ASSERT_TRUE(tagged.ok());
    EXPECT_FALSE(tagged.value());
}

TEST(StreamModuleLine, MalformedFieldsAreNamed) {
    StreamModuleLine parsed;
    for (const char* bad :
         {"relay.stream kind=weird", "relay.stream paused_tsc=123", "relay.stream initiator=1",
          "relay.stream previous=0x1,0x2", "relay.stream reason=bad%2",
          "relay.stream reason=bad%zz", "relay.stream reason=nul%00", "relay.stream naked"}) {
        auto tagged = parse_stream_module_line(bad, &parsed);
        EXPECT_FALSE(tagged.ok()) << bad;
    }
}

TEST(StreamModuleLine, ApicTimerRatesOutsideTheRangeAreNeitherWrittenNorAccepted) {
    StreamModuleLine line;
    char text[kStreamModuleLineCapacity];
    StreamModuleLine parsed;
    for (u32 ticks : {u32{999}, u32{10'000'001}, ~0u}) {
        line.apic_ticks_per_ms = ticks;
        format_stream_module_line(line, text, sizeof(text));
        EXPECT_EQ(std::string(text).find("apic_ticks_per_ms"), std::string::npos) << ticks;
    }
    for (u32 ticks : {u32{1'000}, u32{10'000'000}}) {
        line.apic_ticks_per_ms = ticks;
        format_stream_module_line(line, text, sizeof(text));
        ASSERT_TRUE(parse_stream_module_line(std::string("s ") + text, &parsed).ok()) << ticks;
        EXPECT_EQ(parsed.apic_ticks_per_ms, ticks);
    }
    auto slow = parse_stream_module_line("s relay.stream apic_ticks_per_ms=0x3e7", &parsed);
    ASSERT_FALSE(slow.ok());
    EXPECT_STREQ(slow.error().message(),
                 "stream module: apic_ticks_per_ms 0x3e7 is outside 0x3e8 to 0x989680 (a local "
                 "APIC timer of 1 MHz to 10 GHz)");
}

TEST(StreamModuleLine, TheLongestReasonFitsAndParsesBack) {
    // Every byte of a full-length reason needs an escape: the line still fits the
    // capacity and reads back whole (a rollback's reason must reach the previous build).
    StreamModuleLine line;
    line.kind = stream::StreamKind::kRestore;
    line.quiesce_tsc = line.paused_tsc = line.serialized_tsc = line.handover_tsc = ~0ull;
    line.apic_ticks_per_ms = kMaxApicTicksPerMs;
    line.has_initiator = true;
    line.initiator_domid = 32767;
    line.initiator_vcpu = 255;
    line.previous_base = HostPhysAddr(0xFFFF'FFFF'F000);
    line.previous_entry_offset = ~0ull;
    line.previous_size = ~0ull;
    std::memset(line.reason, '%', sizeof(line.reason) - 1);
    char text[kStreamModuleLineCapacity];
    usize length = format_stream_module_line(line, text, sizeof(text));
    EXPECT_LT(length, sizeof(text) - 1);
    StreamModuleLine parsed;
    auto tagged = parse_stream_module_line(std::string("stream.bin ") + text, &parsed);
    ASSERT_TRUE(tagged.ok()) << tagged.error().message();
    EXPECT_EQ(std::string(parsed.reason), std::string(line.reason));
    // A buffer too small for it cuts the reason between escapes, never inside one.
    char small[300];
    format_stream_module_line(line, small, sizeof(small));
    auto cut = parse_stream_module_line(std::string("stream.bin ") + small, &parsed);
    ASSERT_TRUE(cut.ok()) << cut.error().message();
    EXPECT_GT(std::string(parsed.reason).size(), 0u);
}

}  // namespace
}  // namespace relay::liveupdate
