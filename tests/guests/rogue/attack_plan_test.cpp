#include "tests/guests/rogue/attack_plan.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relay::guest::rogue {
namespace {

std::vector<std::string> names(std::string_view list) {
    AttackPlan plan;
    Status status = parse_attack_plan(list, &plan);
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().message());
    std::vector<std::string> out;
    for (usize i = 0; i < plan.count; ++i) {
        out.emplace_back(attack_group_info(plan.groups[i]).name);
    }
    return out;
}

std::string plan_error(std::string_view list) {
    AttackPlan plan;
    Status status = parse_attack_plan(list, &plan);
    EXPECT_FALSE(status.ok()) << list;
    return status.ok() ? "" : status.error().message();
}

using Names = std::vector<std::string>;

TEST(AttackPlan, AllIsEverySafeGroupThenWriteOutside) {
    EXPECT_EQ(names("all"), (Names{"hypercalls", "pointers", "reserved", "unknown", "msrs", "io",
                                   "console", "write-outside"}));
}

TEST(AttackPlan, SafeAndSingleGroupsInTheOrderGiven) {
    EXPECT_EQ(names("safe,triple-fault"), (Names{"hypercalls", "pointers", "reserved", "unknown",
                                                 "msrs", "io", "console", "triple-fault"}));
    EXPECT_EQ(names("io, msrs ,read-outside"), (Names{"io", "msrs", "read-outside"}));
    EXPECT_EQ(names("triple-fault"), (Names{"triple-fault"}));
}

TEST(AttackPlan, EveryGroupHasAUniqueName) {
    for (const AttackGroupInfo& info : attack_groups()) {
        EXPECT_EQ(names(info.name), (Names{info.name}));
        EXPECT_TRUE(!info.on_request || !info.fatal) << info.name;
        EXPECT_EQ(&attack_group_info(info.group), &info);
    }
    usize fatal = 0;
    for (const AttackGroupInfo& info : attack_groups()) {
        fatal += info.fatal ? 1 : 0;
    }
    EXPECT_EQ(fatal, 3u);
}

TEST(AttackPlan, Refusals) {
    EXPECT_EQ(plan_error("hypercalls,msr"),
              "attacks: unknown group \"msr\" (groups: all, safe, hypercalls, pointers, reserved, "
              "unknown, msrs, io, console, write-outside, read-outside, triple-fault, calls)");
    EXPECT_EQ(plan_error(""), "attacks: the list is empty");
    EXPECT_EQ(plan_error("io,,msrs"),
              "attacks: unknown group \"\" (groups: all, safe, hypercalls, pointers, reserved, "
              "unknown, msrs, io, console, write-outside, read-outside, triple-fault, calls)");
    EXPECT_EQ(plan_error("all,all,all,all,all"), "attacks: more than 32 groups");
}

TEST(DomidList, ParsesDeduplicatesAndRefuses) {
    DomidList domids;
    ASSERT_TRUE(parse_domid_list("1,2, 0x7fef,2", &domids).ok());
    ASSERT_EQ(domids.count, 3u);
    EXPECT_EQ(domids.domids[2], 0x7fef);
    EXPECT_FALSE(parse_domid_list("1,65536", &domids).ok());
    EXPECT_FALSE(parse_domid_list("", &domids).ok());
    EXPECT_FALSE(parse_domid_list("1,x", &domids).ok());
    std::string many;
    for (int i = 0; i <= 16; ++i) {
        many += std::to_string(i) + ",";
    }
    many.pop_back();
    Status status = parse_domid_list(many, &domids);
    ASSERT_FALSE(status.ok());
    EXPECT_STREQ(status.error().message(), "targets: more than 16 domain ids");
}

TEST(AttackPlan, CallsRunOnlyWhenNamed) {
    EXPECT_EQ(names("calls"), (Names{"calls"}));
    EXPECT_EQ(names("calls,safe"), (Names{"calls", "hypercalls", "pointers", "reserved", "unknown",
                                          "msrs", "io", "console"}));
}

TEST(CallList, ParsesDeduplicatesAndRefuses) {
    CallList calls;
    ASSERT_TRUE(parse_call_list("control_calls", "2, 5,0x10,5,18446744073709551615", &calls).ok());
    ASSERT_EQ(calls.count, 4u);
    EXPECT_EQ(calls.numbers[0], 2u);
    EXPECT_EQ(calls.numbers[2], 0x10u);
    EXPECT_EQ(calls.numbers[3], ~0ull);
    Status bad = parse_call_list("control_calls", "2,x", &calls);
    ASSERT_FALSE(bad.ok());
    EXPECT_STREQ(bad.error().message(), "control_calls: \"x\" is not a hypercall number");
    Status empty = parse_call_list("unknown_calls", "", &calls);
    ASSERT_FALSE(empty.ok());
    EXPECT_STREQ(empty.error().message(), "unknown_calls: the list is empty");
    std::string many;
    for (int i = 0; i <= 64; ++i) {
        many += std::to_string(i) + ",";
    }
    many.pop_back();
    Status full = parse_call_list("control_calls", many, &calls);
    ASSERT_FALSE(full.ok());
    EXPECT_STREQ(full.error().message(), "control_calls: more than 64 hypercall numbers");
}

}  // namespace
}  // namespace relay::guest::rogue
