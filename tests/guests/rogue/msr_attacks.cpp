// Attacks through model-specific registers. Relay lets a guest reach only the MSRs on its
// allow-list; any other RDMSR or WRMSR gets #GP(0) (docs/testing.md, "rogue"). The list
// below holds MSRs that configure the host: were one passed through, a guest could read
// the host's physical addresses (VM_HSAVE_PA, SMM_ADDR) or break every other domain
// (VM_CR.SVMDIS, SYSCFG). HWCR and DE_CFG are different: guests (Linux) read them, so
// Relay virtualizes them (docs/guest-platform.md, "MSRs"); the attack checks that a
// hostile write does not reach the host, i.e. reads back unchanged.
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/fault_catching.hpp"
#include "tests/guests/rogue/attacks.hpp"

namespace relay::guest::rogue {

namespace {

using Name = FixedString<120>;

constexpr u8 kGeneralProtection = 13;

struct HostMsr {
    u32 msr;
    const char* name;
    u64 write_value;  // what a hostile guest would write
};

// AMD APM vol. 2 appendix A and the BKDG/PPR of families 17h/19h.
constexpr HostMsr kHostMsrs[] = {
    {0xC001'0117, "VM_HSAVE_PA", 0},    // host save area: a host physical address
    {0xC001'0114, "VM_CR", 1ull << 4},  // SVMDIS: would disable SVM on this CPU
    {0xC001'0010, "SYSCFG", 0},         // memory encryption, MTRR fixed-range enables
    {0xC001'0112, "SMM_ADDR", 0},       // TSEG base: host physical
    {0xC001'0113, "SMM_MASK", 0},       // TSEG mask
    {0x4000'0000, "hypervisor range (none defined by Relay)", 0},
    {0x1234'5678, "unknown", 0},
};

Observation observe_rdmsr(u32 msr) {
    u64 value = 0;
    CaughtFault fault;
    if (try_rdmsr(msr, &value, &fault)) {
        return Observation::read(value);
    }
    return Observation::fault(fault.vector, fault.error_code);
}

Observation observe_wrmsr(u32 msr, u64 value) {
    CaughtFault fault;
    if (try_wrmsr(msr, value, &fault)) {
        return Observation::completed();
    }
    return Observation::fault(fault.vector, fault.error_code);
}

// Virtualized host-configuration MSRs: readable, writes ignored.
constexpr HostMsr kVirtualizedMsrs[] = {
    {0xC001'0015, "HWCR", 0xFFFF'FFFF'FFFF'FFFFull},  // hardware configuration
    {0xC001'1029, "DE_CFG", 0},  // LFENCE serialising: clearing it weakens the host
};

}  // namespace

void attack_msrs(const RogueContext&, AttackLog& log) {
    constexpr std::string_view kGroup = "msrs";
    const Expected refused = Expected::fault(kGeneralProtection, 0);
    for (const HostMsr& host : kHostMsrs) {
        log.attack(kGroup, Name::formatted("rdmsr({:#x} {})", host.msr, host.name).view(),
                   observe_rdmsr(host.msr), refused);
        log.attack(
            kGroup,
            Name::formatted("wrmsr({:#x} {}, {:#x})", host.msr, host.name, host.write_value).view(),
            observe_wrmsr(host.msr, host.write_value), refused);
    }

    for (const HostMsr& host : kVirtualizedMsrs) {
        Observation before = observe_rdmsr(host.msr);
        log.attack(kGroup,
                   Name::formatted("rdmsr({:#x} {}) (virtualized)", host.msr, host.name).view(),
                   before, Expected::read(before.value));
        log.attack(kGroup,
                   Name::formatted("wrmsr({:#x} {}, {:#x}) (ignored)", host.msr, host.name,
                                   host.write_value)
                       .view(),
                   observe_wrmsr(host.msr, host.write_value), Expected::completed());
        log.attack(
            kGroup,
            Name::formatted("rdmsr({:#x} {}) (unchanged after the write)", host.msr, host.name)
                .view(),
            observe_rdmsr(host.msr), Expected::read(before.value));
    }

    // EFER: every 64-bit guest reads and writes it, so it must work; but the SVME bit
    // the hardware needs set while the guest runs (APM vol. 2 §15.5.1) is the hypervisor's,
    // not the guest's: hidden on reads, and setting it is refused (Relay offers no nested
    // virtualization).
    const Expected svme_clear =
        Expected::read_masked(kEferSvme, 0, "read with EFER.SVME (bit 12) clear");
    Observation efer = observe_rdmsr(kMsrEfer);
    log.attack(kGroup, "rdmsr(0xc0000080 EFER)", efer, svme_clear);
    if (efer.kind == Observation::Kind::kRead) {
        u64 value = efer.value & ~kEferSvme;
        log.attack(kGroup,
                   Name::formatted("wrmsr(0xc0000080 EFER, {:#x}) (unchanged)", value).view(),
                   observe_wrmsr(kMsrEfer, value), Expected::completed());
        log.attack(
            kGroup,
            Name::formatted("wrmsr(0xc0000080 EFER, {:#x}) (sets SVME)", value | kEferSvme).view(),
            observe_wrmsr(kMsrEfer, value | kEferSvme), refused);
        log.attack(kGroup, "rdmsr(0xc0000080 EFER) (after the refused write)",
                   observe_rdmsr(kMsrEfer), svme_clear);
    }
}

}  // namespace relay::guest::rogue
