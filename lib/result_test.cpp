#include "lib/result.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay {
namespace {

Result<int> parse_positive(int value) {
    if (value <= 0) {
        return make_error(ErrorCode::kInvalidArgument, "value {} is not positive", value);
    }
    return value * 2;
}

Status use(int value) {
    RELAY_TRY_ASSIGN(doubled, parse_positive(value));
    if (doubled > 100) {
        return make_error(ErrorCode::kOutOfRange, "{} too large", doubled);
    }
    return ok_status();
}

TEST(Result, ValueAndError) {
    auto good = parse_positive(4);
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(good.value(), 8);
    auto bad = parse_positive(-1);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(bad.error().message()), "value -1 is not positive");
}

TEST(Result, TryPropagates) {
    EXPECT_TRUE(use(3).ok());
    Status too_large = use(60);
    ASSERT_FALSE(too_large.ok());
    EXPECT_EQ(too_large.error().code(), ErrorCode::kOutOfRange);
    Status negative = use(0);
    EXPECT_EQ(negative.error().code(), ErrorCode::kInvalidArgument);
}

TEST(Result, PrefixKeepsCode) {
    Error error(ErrorCode::kCorrupt, "bad extent");
    error.prefix("domain {}: ", 7);
    EXPECT_EQ(std::string(error.message()), "domain 7: bad extent");
    EXPECT_EQ(error.code(), ErrorCode::kCorrupt);
}

TEST(Result, ErrorCodeNames) {
    EXPECT_STREQ(error_code_name(ErrorCode::kDigestMismatch), "digest mismatch");
    EXPECT_STREQ(error_code_name(static_cast<ErrorCode>(999)), "unknown error");
}

}  // namespace
}  // namespace relay
