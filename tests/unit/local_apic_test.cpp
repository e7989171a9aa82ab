#include "hv/devices/local_apic.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

constexpr u64 kTscKhz = 2'000'000;  // 2 GHz guest TSC: 2 TSC ticks per virtual bus tick

struct Apic {
    Apic() { apic.reset(3, kTscKhz); }
    bool write(u32 msr, u64 value, u64 now = 0) {
        bool requested = false;
        return apic.write(msr, value, now, &cr8, &ipi, &requested);
    }
    u64 read(u32 msr, u64 now = 0) {
        u64 value = ~0ull;
        EXPECT_TRUE(apic.read(msr, now, cr8, &value)) << std::hex << msr;
        return value;
    }
    void enable() { ASSERT_TRUE(write(x2apic::kSvr, 0x1FF)); }
    VirtualLocalApic apic;
    u8 cr8 = 0;
    InterProcessorInterrupt ipi;
};

TEST(LocalApic, IdentityRegisters) {
    Apic a;
    EXPECT_EQ(a.read(x2apic::kId), 3u);
    EXPECT_EQ(a.read(x2apic::kLdr), (0u << 16) | (1u << 3));
    EXPECT_EQ(a.read(x2apic::kVersion) & 0xFF, 0x14u);
    EXPECT_FALSE(a.write(x2apic::kId, 7)) << "read-only in x2APIC mode";
    u64 value;
    EXPECT_FALSE(a.apic.read(x2apic::kEoi, 0, 0, &value)) << "write-only";
    EXPECT_FALSE(a.apic.read(0x8FF, 0, 0, &value)) << "reserved";
}

TEST(LocalApic, PriorityAndDelivery) {
    Apic a;
    a.enable();
    a.apic.raise(0x31);
    a.apic.raise(0x52);
    EXPECT_EQ(a.apic.deliverable(a.cr8), 0x52);
    a.apic.acknowledge(0x52);
    EXPECT_EQ(a.read(x2apic::kIsr0 + 2), 1u << 18);
    EXPECT_EQ(a.apic.deliverable(a.cr8), -1) << "0x31 is below the in-service class 5";
    ASSERT_TRUE(a.write(x2apic::kEoi, 0));
    EXPECT_EQ(a.apic.deliverable(a.cr8), 0x31);
    ASSERT_TRUE(a.write(x2apic::kTpr, 0x40));
    EXPECT_EQ(a.cr8, 4);
    EXPECT_EQ(a.apic.deliverable(a.cr8), -1) << "TPR class 4 blocks class 3";
    EXPECT_EQ(a.read(x2apic::kPpr), 0x40u);
    EXPECT_FALSE(a.write(x2apic::kEoi, 1)) << "non-zero EOI is #GP in x2APIC mode";
}

TEST(LocalApic, SoftwareDisabledDeliversNothingAndMasksLvts) {
    Apic a;
    a.apic.raise(0x40);
    EXPECT_EQ(a.apic.deliverable(0), -1);
    ASSERT_TRUE(a.write(x2apic::kLvtTimer, 0x20));
    EXPECT_NE(a.read(x2apic::kLvtTimer) & kLvtMasked, 0u);
}

TEST(LocalApic, IllegalVectorsAreDropped) {
    Apic a;
    a.enable();
    a.apic.raise(5);
    EXPECT_FALSE(a.apic.has_pending());
    EXPECT_NE(a.read(x2apic::kEsr), 0u);
}

TEST(LocalApic, OneShotTimer) {
    Apic a;
    a.enable();
    ASSERT_TRUE(a.write(x2apic::kTimerDivide, 0xB));  // divide by 1
    ASSERT_TRUE(a.write(x2apic::kLvtTimer, 0x30));
    ASSERT_TRUE(a.write(x2apic::kTimerInitialCount, 1000, 100));
    EXPECT_EQ(a.apic.timer_deadline(), 100u + 2000u);
    EXPECT_EQ(a.read(x2apic::kTimerCurrentCount, 1100), 500u);
    a.apic.poll_timer(2099);
    EXPECT_FALSE(a.apic.has_pending());
    a.apic.poll_timer(2100);
    EXPECT_EQ(a.apic.deliverable(0), 0x30);
    EXPECT_EQ(a.apic.timer_deadline(), 0u) << "one-shot disarms";
    EXPECT_EQ(a.read(x2apic::kTimerCurrentCount, 5000), 0u);
}

TEST(LocalApic, PeriodicTimerCoalescesMissedPeriods) {
    Apic a;
    a.enable();
    ASSERT_TRUE(a.write(x2apic::kTimerDivide, 0x0));  // divide by 2
    ASSERT_TRUE(a.write(x2apic::kLvtTimer, (1u << 17) | 0x40));
    ASSERT_TRUE(a.write(x2apic::kTimerInitialCount, 100, 0));  // 100 x 2 x 2 = 400 TSC
    a.apic.poll_timer(1000);
    EXPECT_EQ(a.apic.deliverable(0), 0x40);
    EXPECT_EQ(a.apic.timer_deadline(), 1200u);
}

TEST(LocalApic, TscDeadlineTimer) {
    Apic a;
    a.enable();
    ASSERT_TRUE(a.write(x2apic::kLvtTimer, (2u << 17) | 0x50));
    ASSERT_TRUE(a.write(x2apic::kTscDeadline, 5000));
    EXPECT_EQ(a.read(x2apic::kTscDeadline), 5000u);
    ASSERT_TRUE(a.write(x2apic::kTimerInitialCount, 77)) << "ignored in deadline mode";
    a.apic.poll_timer(4999);
    EXPECT_FALSE(a.apic.has_pending());
    a.apic.poll_timer(5000);
    EXPECT_EQ(a.apic.deliverable(0), 0x50);
    EXPECT_EQ(a.read(x2apic::kTscDeadline), 0u);
    ASSERT_TRUE(a.write(x2apic::kTscDeadline, 9000));
    ASSERT_TRUE(a.write(x2apic::kLvtTimer, 0x50)) << "mode switch";
    EXPECT_EQ(a.apic.timer_deadline(), 0u) << "switching modes disarms";
}

TEST(LocalApic, MaskedTimerCountsButDoesNotInterrupt) {
    Apic a;
    a.enable();
    ASSERT_TRUE(a.write(x2apic::kTimerDivide, 0xB));
    ASSERT_TRUE(a.write(x2apic::kLvtTimer, kLvtMasked | 0x30));
    ASSERT_TRUE(a.write(x2apic::kTimerInitialCount, 10, 0));
    a.apic.poll_timer(100);
    EXPECT_FALSE(a.apic.has_pending());
}

TEST(LocalApic, IcrRequestsIpi) {
    Apic a;
    a.enable();
    bool requested = false;
    ASSERT_TRUE(a.apic.write(x2apic::kIcr, (5ull << 32) | 0x61, 0, &a.cr8, &a.ipi, &requested));
    EXPECT_TRUE(requested);
    EXPECT_EQ(a.ipi.destination, 5u);
    EXPECT_EQ(a.ipi.vector, 0x61);
    EXPECT_EQ(a.ipi.shorthand, InterProcessorInterrupt::Shorthand::kNone);
    ASSERT_TRUE(a.write(x2apic::kSelfIpi, 0x77));
    EXPECT_EQ(a.apic.deliverable(0), 0x77);
}

TEST(LocalApic, SaveRestoreKeepsPendingInterruptsAndTimerDeadline) {
    Apic a;
    a.enable();
    ASSERT_TRUE(a.write(x2apic::kTimerDivide, 0xB));
    ASSERT_TRUE(a.write(x2apic::kLvtTimer, 0x30));
    ASSERT_TRUE(a.write(x2apic::kTimerInitialCount, 1000, 0));  // deadline 2000
    a.apic.raise(0x45);
    a.apic.acknowledge(0x45);
    a.apic.raise(0x66);
    VirtualLocalApic::State state = a.apic.save(500);
    EXPECT_EQ(state.timer_current_count, 750u);

    VirtualLocalApic restored;
    restored.restore(state, kTscKhz, 900);
    EXPECT_EQ(restored.timer_deadline(), 2000u) << "deadline unchanged in guest time";
    u64 isr = 0;
    ASSERT_TRUE(restored.read(x2apic::kIsr0 + 2, 900, 0, &isr));
    EXPECT_EQ(isr, 1u << 5);
    EXPECT_EQ(restored.deliverable(0), 0x66);
    restored.poll_timer(2000);
    u64 irr1 = 0;
    ASSERT_TRUE(restored.read(x2apic::kIrr0 + 1, 2000, 0, &irr1));
    EXPECT_EQ(irr1, 1u << 16) << "timer vector 0x30 pending after restore";
}

}  // namespace
}  // namespace relay
