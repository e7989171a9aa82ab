// FaultReporter: reports pass while the bucket holds tokens, the rest are counted and
// announced once a report fits again; an error signalled with nothing logged is reported
// on its own; the bucket refills at the configured rate and banks no time when full.
#include "iommu/fault_report.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relay::iommu {
namespace {

class RecordingSink final : public FaultReportSink {
public:
    void event(const IommuEvent& e) override {
        lines.push_back("event " + std::to_string(e.address));
    }
    void unlogged_error() override { lines.push_back("unlogged"); }
    void dropped(u64 count) override { lines.push_back("dropped " + std::to_string(count)); }

    std::vector<std::string> lines;
};

IommuEvent fault(u64 address) {
    IommuEvent e;
    e.kind = EventKind::kDmaFault;
    e.address = address;
    return e;
}

TEST(FaultReporter, ReportsEveryEventWithinTheBurst) {
    FaultReporter reporter(10, 3);
    RecordingSink sink;
    IommuEvent events[] = {fault(1), fault(2), fault(3)};
    reporter.poll(0, events, 3, false, sink);
    EXPECT_EQ(sink.lines, (std::vector<std::string>{"event 1", "event 2", "event 3"}));
    EXPECT_EQ(reporter.reported(), 3u);
    EXPECT_EQ(reporter.dropped(), 0u);
}

TEST(FaultReporter, AnyRateIsUsable) {
    // More than a million a second would make the refill interval 0 microseconds.
    FaultReporter reporter(4'000'000'000u, 2);
    RecordingSink sink;
    IommuEvent events[] = {fault(1), fault(2), fault(3)};
    reporter.poll(0, events, 3, false, sink);  // no time passes: the third is dropped
    reporter.poll(5, events, 1, false, sink);  // 5 us later the bucket is full again
    EXPECT_EQ(sink.lines, (std::vector<std::string>{"event 1", "event 2", "dropped 1", "event 1"}));
}

TEST(FaultReporter, DropsBeyondTheBurstAndAnnouncesTheCountWhenATokenReturns) {
    FaultReporter reporter(10, 2);  // a token every 100 ms
    RecordingSink sink;
    IommuEvent events[] = {fault(1), fault(2), fault(3), fault(4), fault(5)};
    reporter.poll(1'000, events, 5, false, sink);
    EXPECT_EQ(sink.lines, (std::vector<std::string>{"event 1", "event 2"}));
    EXPECT_EQ(reporter.dropped(), 3u);
    // 50 ms later no token has come back: a quiet poll announces nothing yet.
    reporter.poll(51'000, nullptr, 0, false, sink);
    EXPECT_EQ(sink.lines.size(), 2u);
    // At 100 ms one has: the announcement takes it, even with nothing new to report.
    reporter.poll(101'000, nullptr, 0, false, sink);
    EXPECT_EQ(sink.lines.back(), "dropped 3");
    // The count restarts after an announcement.
    reporter.poll(101'000, events, 1, false, sink);
    reporter.poll(201'000, nullptr, 0, false, sink);
    EXPECT_EQ(sink.lines.back(), "dropped 1");
    EXPECT_EQ(reporter.dropped(), 4u);
    EXPECT_EQ(reporter.reported(), 2u);
}

TEST(FaultReporter, ASignalWithNothingLoggedIsReportedOnItsOwn) {
    FaultReporter reporter;
    RecordingSink sink;
    reporter.poll(0, nullptr, 0, true, sink);
    EXPECT_EQ(sink.lines, (std::vector<std::string>{"unlogged"}));
    // With an entry logged in the same poll, the entry says what happened.
    IommuEvent event = fault(7);
    reporter.poll(5'000, &event, 1, true, sink);
    EXPECT_EQ(sink.lines, (std::vector<std::string>{"unlogged", "event 7"}));
    // No signal, no entry: nothing.
    reporter.poll(10'000, nullptr, 0, false, sink);
    EXPECT_EQ(sink.lines.size(), 2u);
}

TEST(FaultReporter, AFloodIsHeldToTheRate) {
    // A device faulting on every request, polled every 5 ms for 10 s with 8 events each
    // time: 16,000 events. Reports: the burst, then one per 100 ms.
    FaultReporter reporter(10, 20);
    RecordingSink sink;
    IommuEvent events[8];
    for (u64 i = 0; i < 8; ++i) {
        events[i] = fault(i);
    }
    for (u64 t = 0; t < 10'000'000; t += 5'000) {
        reporter.poll(t, events, 8, true, sink);
    }
    EXPECT_EQ(reporter.reported() + reporter.dropped(), 16'000u);
    // 20 at once, then about 100 tokens in 10 s, some of them spent on announcements.
    EXPECT_LE(sink.lines.size(), 20u + 100u);
    EXPECT_GE(sink.lines.size(), 20u + 99u);
    usize announcements = 0;
    for (const std::string& line : sink.lines) {
        announcements += line.rfind("dropped ", 0) == 0 ? 1 : 0;
    }
    EXPECT_GT(announcements, 90u);
}

TEST(FaultReporter, AFullBucketBanksNoTime) {
    FaultReporter reporter(10, 2);
    RecordingSink sink;
    IommuEvent events[] = {fault(1), fault(2), fault(3)};
    reporter.poll(0, nullptr, 0, false, sink);  // starts the clock
    // An hour of quiet still leaves only `burst` tokens.
    reporter.poll(3'600'000'000ull, events, 3, false, sink);
    EXPECT_EQ(reporter.reported(), 2u);
    EXPECT_EQ(reporter.dropped(), 1u);
}

TEST(FaultReporter, AClockGoingBackwardsGivesNoTokens) {
    FaultReporter reporter(10, 1);
    RecordingSink sink;
    IommuEvent event = fault(1);
    reporter.poll(10'000'000, &event, 1, false, sink);
    reporter.poll(0, &event, 1, false, sink);
    reporter.poll(50'000, &event, 1, false, sink);
    EXPECT_EQ(reporter.reported(), 1u);
    EXPECT_EQ(reporter.dropped(), 2u);
}

TEST(FaultReporter, ZeroRatesAreTakenAsOne) {
    FaultReporter reporter(0, 0);
    RecordingSink sink;
    IommuEvent event = fault(1);
    reporter.poll(0, &event, 1, false, sink);
    reporter.poll(500'000, &event, 1, false, sink);
    reporter.poll(1'000'000, nullptr, 0, false, sink);
    EXPECT_EQ(sink.lines, (std::vector<std::string>{"event 1", "dropped 1"}));
}

}  // namespace
}  // namespace relay::iommu
