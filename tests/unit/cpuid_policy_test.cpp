#include "hv/cpuid_policy.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <utility>

namespace relay {
namespace {

// A host that reports everything: every leaf all ones, except the limits.
class FakeHost final : public HostCpuid {
public:
    CpuidValues query(u32 leaf, u32 subleaf) const override {
        auto it = leaves.find({leaf, subleaf});
        if (it != leaves.end()) {
            return it->second;
        }
        return CpuidValues{0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};
    }
    std::map<std::pair<u32, u32>, CpuidValues> leaves = {
        {{0, 0}, {0x10, 0x68747541, 0x444D4163, 0x69746E65}},  // "AuthenticAMD"
        {{0x8000'0000, 0}, {0x8000'0021, 0, 0, 0}},
    };
};

GuestCpuIdentity identity(u32 id = 0, u32 count = 2) {
    GuestCpuIdentity i;
    i.vcpu_id = id;
    i.vcpu_count = count;
    i.tsc_khz = 2'300'000;
    return i;
}

TEST(CpuidPolicy, VendorAndLimits) {
    FakeHost host;
    CpuidValues leaf0 = guest_cpuid(host, 0, 0, identity());
    EXPECT_EQ(leaf0.eax, 0xDu);
    EXPECT_EQ(leaf0.ebx, 0x68747541u);
    EXPECT_EQ(guest_cpuid(host, 0x8000'0000, 0, identity()).eax, 0x8000'0008u);
    EXPECT_EQ(guest_cpuid(host, 0xE, 0, identity()), CpuidValues{});
    EXPECT_EQ(guest_cpuid(host, 0x8000'001F, 0, identity()), CpuidValues{}) << "SEV hidden";
}

TEST(CpuidPolicy, SvmAndMonitorAreHidden) {
    FakeHost host;
    EXPECT_EQ(guest_cpuid(host, 0x8000'0001, 0, identity()).ecx & (1u << 2), 0u) << "SVM";
    EXPECT_EQ(guest_cpuid(host, 0x8000'000A, 0, identity()), CpuidValues{});
    EXPECT_EQ(guest_cpuid(host, 1, 0, identity()).ecx & (1u << 3), 0u) << "MONITOR";
    EXPECT_EQ(guest_cpuid(host, 1, 0, identity()).ecx & (1u << 5), 0u) << "VMX";
}

TEST(CpuidPolicy, VirtualPlatformBits) {
    FakeHost host;
    CpuidValues leaf1 = guest_cpuid(host, 1, 0, identity(3, 4));
    EXPECT_EQ(leaf1.ebx >> 24, 3u) << "initial APIC ID is the vCPU id";
    EXPECT_EQ((leaf1.ebx >> 16) & 0xFF, 4u);
    EXPECT_NE(leaf1.ecx & (1u << 21), 0u) << "x2APIC";
    EXPECT_NE(leaf1.ecx & (1u << 31), 0u) << "hypervisor present";
    EXPECT_EQ(leaf1.ecx & (1u << 27), 0u) << "OSXSAVE mirrors guest CR4";
    GuestCpuIdentity with_osxsave = identity();
    with_osxsave.osxsave = true;
    EXPECT_NE(guest_cpuid(host, 1, 0, with_osxsave).ecx & (1u << 27), 0u);
}

TEST(CpuidPolicy, HypervisorLeaves) {
    FakeHost host;
    CpuidValues base = guest_cpuid(host, kHypervisorLeafBase, 0, identity());
    char signature[13] = {};
    std::memcpy(signature, &base.ebx, 4);
    std::memcpy(signature + 4, &base.ecx, 4);
    std::memcpy(signature + 8, &base.edx, 4);
    EXPECT_STREQ(signature, "RelayRelayHV");
    EXPECT_EQ(guest_cpuid(host, kHypervisorLeafTiming, 0, identity()).eax, 2'300'000u);
}

TEST(CpuidPolicy, XsaveLimitedToSupportedComponents) {
    FakeHost host;
    CpuidValues xsave = guest_cpuid(host, 0xD, 0, identity());
    EXPECT_EQ(xsave.eax, kGuestXcr0Supported);
    EXPECT_EQ(xsave.edx, 0u);
    EXPECT_EQ(guest_cpuid(host, 0xD, 1, identity()).eax, 1u) << "XSAVEOPT only";
}

TEST(CpuidPolicy, StableForTheSameHost) {
    FakeHost host;
    for (u32 leaf : {0u, 1u, 7u, 0xDu, 0x8000'0001u, 0x8000'0008u}) {
        EXPECT_EQ(guest_cpuid(host, leaf, 0, identity()), guest_cpuid(host, leaf, 0, identity()));
    }
}

}  // namespace
}  // namespace relay
