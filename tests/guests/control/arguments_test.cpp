#include "tests/guests/control/arguments.hpp"

#include <gtest/gtest.h>

#include "hv/abi/hypercall.h"

namespace relay::guest::control {
namespace {

u64 seconds(std::string_view text) {
    u64 microseconds = 0;
    EXPECT_TRUE(parse_seconds(text, &microseconds)) << text;
    return microseconds;
}

TEST(Arguments, Seconds) {
    EXPECT_EQ(seconds("0"), 0u);
    EXPECT_EQ(seconds("2"), 2'000'000u);
    EXPECT_EQ(seconds("0.5"), 500'000u);
    EXPECT_EQ(seconds("1.25"), 1'250'000u);
    EXPECT_EQ(seconds("0.000001"), 1u);
    EXPECT_EQ(seconds("1000000"), 1'000'000'000'000u);
    u64 out = 0;
    for (std::string_view bad : {"", ".5", "1.", "-1", "1e3", "0x10", "1.0000001", "1,5",
                                 "1000000.1", "1000001", "99999999999999999999", "2s"}) {
        EXPECT_FALSE(parse_seconds(bad, &out)) << bad;
    }
}

TEST(Arguments, Domids) {
    ArgumentValue value;
    EXPECT_TRUE(parse_argument(ArgumentKind::kDomid, "3", &value).ok());
    EXPECT_EQ(value.number, 3u);
    EXPECT_TRUE(parse_argument(ArgumentKind::kDomid, "0x7fef", &value).ok());
    EXPECT_EQ(value.number, 0x7fefu);
    EXPECT_TRUE(parse_argument(ArgumentKind::kDomid, "0", &value).ok());
    Status bad = parse_argument(ArgumentKind::kDomid, "65536", &value);
    ASSERT_FALSE(bad.ok());
    EXPECT_STREQ(bad.error().message(),
                 "\"65536\" is not a domain id (0 to 65535, decimal or 0x hex)");
    EXPECT_FALSE(parse_argument(ArgumentKind::kDomid, "three", &value).ok());
}

TEST(Arguments, States) {
    ArgumentValue value;
    EXPECT_TRUE(parse_argument(ArgumentKind::kState, "crashed", &value).ok());
    EXPECT_EQ(value.number, static_cast<u64>(RELAY_DOMAIN_CRASHED));
    EXPECT_TRUE(parse_argument(ArgumentKind::kState, "gone", &value).ok());
    EXPECT_EQ(value.number, kStateGone);
    Status bad = parse_argument(ArgumentKind::kState, "dead", &value);
    ASSERT_FALSE(bad.ok());
    EXPECT_STREQ(bad.error().message(),
                 "\"dead\" is not a domain state (configured, running, paused, crashed, "
                 "shut-down, gone)");
}

TEST(Arguments, ShutdownReasons) {
    ArgumentValue value;
    EXPECT_TRUE(parse_argument(ArgumentKind::kShutdownReason, "reboot", &value).ok());
    EXPECT_EQ(value.number, static_cast<u64>(RELAY_SHUTDOWN_REBOOT));
    EXPECT_TRUE(parse_argument(ArgumentKind::kShutdownReason, "99", &value).ok());
    EXPECT_EQ(value.number, 99u);
    EXPECT_FALSE(parse_argument(ArgumentKind::kShutdownReason, "halt", &value).ok());
}

TEST(Arguments, Expectations) {
    Expectation expectation;
    EXPECT_TRUE(parse_expectation("ok", &expectation).ok());
    EXPECT_EQ(expectation.kind, Expectation::Kind::kOk);
    EXPECT_TRUE(parse_expectation("error", &expectation).ok());
    EXPECT_EQ(expectation.kind, Expectation::Kind::kAnyError);
    EXPECT_TRUE(parse_expectation("timeout", &expectation).ok());
    EXPECT_EQ(expectation.kind, Expectation::Kind::kTimeout);
    EXPECT_TRUE(parse_expectation("EPERM", &expectation).ok());
    EXPECT_EQ(expectation.kind, Expectation::Kind::kError);
    EXPECT_EQ(expectation.code, RELAY_EPERM);
    EXPECT_TRUE(parse_expectation("-42", &expectation).ok());
    EXPECT_EQ(expectation.code, -42);
    Status bad = parse_expectation("EFOO", &expectation);
    ASSERT_FALSE(bad.ok());
    EXPECT_STREQ(bad.error().message(),
                 "\"EFOO\" is not a result (ok, error, timeout, an error name like ENOENT, or "
                 "a negative number)");
}

TEST(Arguments, KindNames) {
    EXPECT_STREQ(argument_kind_name(ArgumentKind::kDomid), "DOMID");
    EXPECT_STREQ(argument_kind_name(ArgumentKind::kText), "TEXT");
}

}  // namespace
}  // namespace relay::guest::control
