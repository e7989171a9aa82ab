#include "lib/pci_function.hpp"

#include <gtest/gtest.h>

#include <string>

namespace relay {
namespace {

TEST(PciFunction, ParsesBothForms) {
    PciFunction f;
    ASSERT_TRUE(parse_pci_function("00:04.0", &f));
    EXPECT_EQ(f, (PciFunction{0, 0, 4, 0}));
    EXPECT_EQ(f.bdf(), 0x20u);
    ASSERT_TRUE(parse_pci_function("0001:3a:1F.7", &f));
    EXPECT_EQ(f, (PciFunction{1, 0x3a, 0x1f, 7}));
    EXPECT_EQ(f.bdf(), 0x3AFFu);
    EXPECT_EQ(PciFunction::from_bdf(1, 0x3AFF), f);
}

TEST(PciFunction, RefusesEverythingElse) {
    PciFunction f{9, 9, 9, 1};
    for (const char* bad :
         {"", "0:4.0", "00:4.0", "00:04", "00:04.8", "00:20.0", "00-04.0", "000:00:04.0",
          "0000:00:04.0x", "0g:04.0", "00:04.0 ", " 00:04.0", "00000:04.0"}) {
        EXPECT_FALSE(parse_pci_function(bad, &f)) << bad;
    }
    EXPECT_EQ(f, (PciFunction{9, 9, 9, 1})) << "a refused parse leaves the output alone";
}

TEST(PciFunction, TextRoundTrips) {
    EXPECT_EQ(std::string(pci_function_text(PciFunction{0, 0, 4, 0}).view()), "00:04.0");
    EXPECT_EQ(std::string(pci_function_text(PciFunction{0x12, 0xab, 0x1f, 7}).view()),
              "0012:ab:1f.7");
    for (u32 bdf : {0u, 0x20u, 0xFFFFu, 0x1234u}) {
        PciFunction f = PciFunction::from_bdf(0, static_cast<u16>(bdf));
        PciFunction back;
        ASSERT_TRUE(parse_pci_function(pci_function_text(f).view(), &back));
        EXPECT_EQ(back, f);
    }
}

}  // namespace
}  // namespace relay
