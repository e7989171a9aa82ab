#include "tests/guests/fuzzguest/fuzz_plan.hpp"

#include <gtest/gtest.h>

#include <set>

#include "hv/abi/hypercall.h"

namespace relay::guest::fuzz {
namespace {

FuzzContext context(u16 vcpus = 2) {
    FuzzContext c;
    c.domid = 3;
    c.vcpus = vcpus;
    c.free_base = 0x15b000;
    c.memory_size = 16 * MiB;
    return c;
}

TEST(FuzzPlan, TheSameSeedGivesTheSameCalls) {
    Random a(42);
    Random b(42);
    Random c(43);
    bool differs = false;
    for (int i = 0; i < 1000; ++i) {
        FuzzCall x = next_call(a, context());
        FuzzCall y = next_call(b, context());
        FuzzCall z = next_call(c, context());
        ASSERT_EQ(x.number, y.number);
        for (int j = 0; j < 6; ++j) {
            ASSERT_EQ(x.arguments[j], y.arguments[j]);
        }
        differs = differs || x.number != z.number || x.arguments[0] != z.arguments[0];
    }
    EXPECT_TRUE(differs);
}

TEST(FuzzPlan, EveryCallIsSafeOverManySeeds) {
    for (u16 vcpus : {1, 2, 16}) {
        for (u64 seed = 0; seed < 20; ++seed) {
            Random random(seed);
            for (int i = 0; i < 20000; ++i) {
                FuzzCall call = next_call(random, context(vcpus));
                ASSERT_TRUE(is_safe(call, context(vcpus)))
                    << "seed " << seed << " call " << i << " number " << call.number;
            }
        }
    }
}

TEST(FuzzPlan, TheSafetyCheckCatchesWhatWouldHurtTheGuest) {
    FuzzContext c = context();
    FuzzCall shutdown{RELAY_HC_SHUTDOWN, {RELAY_SHUTDOWN_CRASH}};
    EXPECT_FALSE(is_safe(shutdown, c));
    FuzzCall vcpu{RELAY_HC_VCPU_UP, {1, c.free_base}};
    EXPECT_FALSE(is_safe(vcpu, c));
    FuzzCall info{RELAY_HC_DOMAIN_INFO, {3, 0x10000}};  // the guest's page tables
    EXPECT_FALSE(is_safe(info, c));
    FuzzCall flood{RELAY_HC_CONSOLE_WRITE, {c.free_base, 4096}};
    EXPECT_FALSE(is_safe(flood, c));
    FuzzCall fine{RELAY_HC_DOMAIN_INFO, {3, c.memory_size - 8}};  // straddles: EFAULT
    EXPECT_TRUE(is_safe(fine, c));
}

TEST(FuzzPlan, CoversNumbersArgumentsAndReservedWords) {
    Random random(7);
    std::set<u64> known;
    usize out_of_range = 0;
    usize truncated = 0;
    usize reserved_set = 0;
    usize huge_length = 0;
    for (int i = 0; i < 50000; ++i) {
        FuzzCall call = next_call(random, context());
        if (call.number < kKnownCalls) {
            known.insert(call.number);
            if (call.arguments[5] != 0) {
                ++reserved_set;  // no hypercall takes six arguments
            }
            if (call.number == RELAY_HC_CONSOLE_WRITE && call.arguments[1] >= (1ull << 32)) {
                ++huge_length;
            }
        } else if ((call.number >> 32) == 1 && (call.number & 0xFFFFFFFF) < kKnownCalls) {
            ++truncated;
        } else {
            ++out_of_range;
        }
    }
    EXPECT_EQ(known.size(), kKnownCalls);
    EXPECT_GT(out_of_range, 5000u);
    EXPECT_GT(truncated, 2000u);
    EXPECT_GT(reserved_set, 1000u);
    EXPECT_GT(huge_length, 50u);
}

TEST(FuzzPlan, AddressesComeFromEveryClass) {
    Random random(1);
    FuzzContext c = context();
    std::set<int> classes;
    for (int i = 0; i < 10000; ++i) {
        AddressClass chosen = AddressClass::kCount;
        u64 address = random_address(random, c, &chosen);
        classes.insert(static_cast<int>(chosen));
        if (chosen == AddressClass::kFreeRam) {
            EXPECT_GE(address, c.free_base);
            EXPECT_LT(address, c.memory_size);
        }
        if (chosen == AddressClass::kPastRam || chosen == AddressClass::kUnmapped) {
            EXPECT_GE(address, c.memory_size);
        }
    }
    EXPECT_EQ(classes.size(), static_cast<usize>(AddressClass::kCount));
}

}  // namespace
}  // namespace relay::guest::fuzz
