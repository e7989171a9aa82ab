#include "tests/guests/rogue/verdict.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hv/abi/hypercall.h"

namespace relay::guest::rogue {
namespace {

class VectorSink final : public LineSink {
public:
    void write_line(std::string_view line) override { lines.emplace_back(line); }
    std::vector<std::string> lines;
};

TEST(Verdict, HypercallRefusals) {
    EXPECT_TRUE(matches(Expected::error(RELAY_EPERM), Observation::result(RELAY_EPERM)));
    EXPECT_FALSE(matches(Expected::error(RELAY_EPERM), Observation::result(RELAY_ENOENT)));
    EXPECT_FALSE(matches(Expected::error(RELAY_EPERM), Observation::result(0)));
    Expected either = Expected::errors({RELAY_EFAULT, RELAY_ERANGE});
    EXPECT_TRUE(matches(either, Observation::result(RELAY_ERANGE)));
    EXPECT_FALSE(matches(either, Observation::result(RELAY_EINVAL)));
    EXPECT_TRUE(matches(Expected::success(), Observation::result(0)));
    EXPECT_TRUE(matches(Expected::success(), Observation::result(65536)));
    EXPECT_FALSE(matches(Expected::success(), Observation::result(-1)));
    // A fault is never a hypercall result.
    EXPECT_FALSE(matches(Expected::error(RELAY_EPERM), Observation::fault(13, 0)));
}

TEST(Verdict, FaultsReadsAndCompletion) {
    EXPECT_TRUE(matches(Expected::fault(13, 0), Observation::fault(13, 0)));
    EXPECT_FALSE(matches(Expected::fault(13, 0), Observation::fault(13, 8)));
    EXPECT_FALSE(matches(Expected::fault(13, 0), Observation::read(0)));
    EXPECT_TRUE(matches(Expected::read(0xFF), Observation::read(0xFF)));
    EXPECT_FALSE(matches(Expected::read(0xFF), Observation::read(0x51)));
    Expected svme = Expected::read_masked(1 << 12, 0, "SVME clear");
    EXPECT_TRUE(matches(svme, Observation::read(0xD01)));
    EXPECT_FALSE(matches(svme, Observation::read(0x1D01)));
    EXPECT_TRUE(matches(Expected::completed(), Observation::completed()));
    EXPECT_FALSE(matches(Expected::completed(), Observation::fault(13, 0)));
    Expected read_or_fault = Expected::read(~0ull).or_else(Expected::fault(13, 0));
    EXPECT_TRUE(matches(read_or_fault, Observation::fault(13, 0)));
    EXPECT_TRUE(matches(read_or_fault, Observation::read(~0ull)));
    EXPECT_FALSE(matches(read_or_fault, Observation::fault(6, 0)));
}

TEST(Verdict, AttackLines) {
    VectorSink sink;
    AttackLog log(sink);
    EXPECT_TRUE(log.attack("hypercalls", "domain_pause(1)", Observation::result(RELAY_EPERM),
                           Expected::error(RELAY_EPERM)));
    EXPECT_FALSE(log.attack("pointers", "console_write(0x700000000, 0x10)", Observation::result(16),
                            Expected::error(RELAY_EFAULT)));
    log.attack("msrs", "rdmsr(0xc0010117 VM_HSAVE_PA)", Observation::fault(13, 0),
               Expected::fault(13, 0));
    log.attack("io", "inb(0x80)", Observation::read(0xFF), Expected::read(0xFF));
    log.attack("io", "outb(0xf4, 0x0)", Observation::completed(), Expected::completed());
    log.attack("pointers", "wraps", Observation::result(-42),
               Expected::errors({RELAY_EFAULT, RELAY_ERANGE}));
    log.attack("msrs", "rdmsr(EFER)", Observation::read(0x1D01),
               Expected::read_masked(1 << 12, 0, "read with EFER.SVME (bit 12) clear"));
    log.attack("io", "rep insb", Observation::fault(6, 0),
               Expected::read(~0ull).or_else(Expected::fault(13, 0)));
    log.check("hypercalls", "domain_info(own) contents", "domid 4 name rogue", "domid 4 name rogue",
              true);
    log.summary();
    EXPECT_EQ(sink.lines,
              (std::vector<std::string>{
                  "rogue: attack hypercalls/domain_pause(1): refused EPERM (expected EPERM) ok",
                  "rogue: attack pointers/console_write(0x700000000, 0x10): returned 16 "
                  "(expected EFAULT) UNEXPECTED",
                  "rogue: attack msrs/rdmsr(0xc0010117 VM_HSAVE_PA): #GP(0) (expected #GP(0)) "
                  "ok",
                  "rogue: attack io/inb(0x80): read 0xff (expected read 0xff) ok",
                  "rogue: attack io/outb(0xf4, 0x0): completed (expected completed) ok",
                  "rogue: attack pointers/wraps: refused -42 (expected EFAULT|ERANGE) UNEXPECTED",
                  "rogue: attack msrs/rdmsr(EFER): read 0x1d01 (expected read with EFER.SVME "
                  "(bit 12) clear) UNEXPECTED",
                  "rogue: attack io/rep insb: #UD(0) (expected read "
                  "0xffffffffffffffff|#GP(0)) UNEXPECTED",
                  "rogue: check hypercalls/domain_info(own) contents: domid 4 name rogue "
                  "(expected domid 4 name rogue) ok",
                  "rogue: 5 attacks refused as expected, 4 unexpected",
              }));
    EXPECT_EQ(log.as_expected(), 5u);
    EXPECT_EQ(log.unexpected(), 4u);
}

TEST(Verdict, AtMostThreeOptions) {
    Expected expected = Expected::errors({-1, -2, -3, -4});
    EXPECT_EQ(expected.count, 3u);
    expected.or_else(Expected::success());
    EXPECT_EQ(expected.count, 3u);
    EXPECT_FALSE(matches(expected, Observation::result(-4)));
}

}  // namespace
}  // namespace relay::guest::rogue
