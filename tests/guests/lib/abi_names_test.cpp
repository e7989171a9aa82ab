#include "tests/guests/lib/abi_names.hpp"

#include <gtest/gtest.h>

#include "hv/abi/hypercall.h"

namespace relay::guest {
namespace {

TEST(AbiNames, EveryErrorCodeHasANameThatParsesBack) {
    for (i64 code = RELAY_EROLLEDBACK; code <= RELAY_EPERM; ++code) {
        const char* name = error_name(code);
        ASSERT_NE(name, nullptr) << code;
        i64 parsed = 0;
        EXPECT_TRUE(parse_error_code(name, &parsed));
        EXPECT_EQ(parsed, code);
    }
    EXPECT_EQ(error_name(0), nullptr);
    EXPECT_EQ(error_name(-13), nullptr);
    EXPECT_STREQ(error_name(RELAY_EPERM), "EPERM");
}

TEST(AbiNames, ErrorCodesParseByValue) {
    i64 code = 0;
    EXPECT_TRUE(parse_error_code("-2", &code));
    EXPECT_EQ(code, RELAY_ENOENT);
    EXPECT_TRUE(parse_error_code("-99", &code));
    EXPECT_EQ(code, -99);
    EXPECT_FALSE(parse_error_code("-0", &code));
    EXPECT_FALSE(parse_error_code("2", &code));
    EXPECT_FALSE(parse_error_code("-", &code));
    EXPECT_FALSE(parse_error_code("eperm", &code));
    EXPECT_FALSE(parse_error_code("-99999999999999999999", &code));
}

TEST(AbiNames, Lifecycles) {
    u8 lifecycle = 0;
    for (u8 value = RELAY_DOMAIN_CONFIGURED; value <= RELAY_DOMAIN_SHUT_DOWN; ++value) {
        ASSERT_NE(lifecycle_name(value), nullptr);
        EXPECT_TRUE(parse_lifecycle(lifecycle_name(value), &lifecycle));
        EXPECT_EQ(lifecycle, value);
    }
    EXPECT_STREQ(lifecycle_name(RELAY_DOMAIN_SHUT_DOWN), "shut-down");
    EXPECT_EQ(lifecycle_name(9), nullptr);
    EXPECT_FALSE(parse_lifecycle("Running", &lifecycle));
}

TEST(AbiNames, ShutdownReasons) {
    u64 reason = 0;
    EXPECT_TRUE(parse_shutdown_reason("poweroff", &reason));
    EXPECT_EQ(reason, static_cast<u64>(RELAY_SHUTDOWN_POWEROFF));
    EXPECT_TRUE(parse_shutdown_reason("crash", &reason));
    EXPECT_EQ(reason, static_cast<u64>(RELAY_SHUTDOWN_CRASH));
    EXPECT_STREQ(shutdown_reason_name(RELAY_SHUTDOWN_REBOOT), "reboot");
    EXPECT_EQ(shutdown_reason_name(0), nullptr);
    EXPECT_EQ(shutdown_reason_name(~0ull), nullptr);
    EXPECT_FALSE(parse_shutdown_reason("halt", &reason));
}

TEST(AbiNames, EveryHypercallHasAName) {
    for (u64 number = 0; number < RELAY_HC_COUNT; ++number) {
        EXPECT_NE(hypercall_name(number), nullptr) << number;
    }
    EXPECT_STREQ(hypercall_name(RELAY_HC_DOMAIN_PAUSE), "domain_pause");
    EXPECT_EQ(hypercall_name(RELAY_HC_COUNT), nullptr);
    EXPECT_EQ(hypercall_name(1ull << 63), nullptr);
}

}  // namespace
}  // namespace relay::guest
