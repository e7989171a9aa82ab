// Which attacks the rogue guest runs (command line attacks=LIST, docs/testing.md, "rogue"):
// comma-separated group names in the order given, "safe" for every group the domain
// survives and "all" for those followed by write-outside. Fatal groups end the domain
// when the hypervisor does its job; a later group runs only if it did not. Shared:
// unit-tested on the host.
#pragma once

#include <span>
#include <string_view>

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest::rogue {

enum class AttackGroup : u8 {
    kHypercalls,    // privileged hypercalls from an unprivileged domain: EPERM
    kPointers,      // buffers outside the domain's RAM: EFAULT (ERANGE for huge lengths)
    kReserved,      // non-zero reserved arguments: ERESERVED
    kUnknown,       // unknown hypercall numbers: ENOSYS
    kMsrs,          // MSRs outside the allow-list: #GP(0); EFER.SVME stays hidden
    kIo,            // ports other than the UART: reads all ones, writes without effect
    kConsole,       // control characters and spoofed prefixes on the console
    kWriteOutside,  // fatal: a store beyond the domain's RAM
    kReadOutside,   // fatal: a load beyond the domain's RAM
    kTripleFault,   // fatal: an exception with an empty IDT
    kCalls,         // the hypercall numbers of control_calls= (EPERM) and unknown_calls=
                    // (ENOSYS); only when named, never part of "all" or "safe"
};

struct AttackGroupInfo {
    AttackGroup group;
    const char* name;
    bool fatal;
    bool on_request = false;  // runs only when named: not part of "all" or "safe"
};

std::span<const AttackGroupInfo> attack_groups();
const AttackGroupInfo& attack_group_info(AttackGroup group);

struct AttackPlan {
    static constexpr usize kMaxGroups = 32;
    AttackGroup groups[kMaxGroups];
    usize count = 0;
};

// Parses "hypercalls,io,triple-fault", "all", "safe,read-outside". The error names the
// unknown group and lists the known ones.
Status parse_attack_plan(std::string_view list, AttackPlan* plan);

// Domain ids to aim privileged hypercalls at: "1,2,0x7fef" (0 to 65535).
struct DomidList {
    static constexpr usize kMaxDomids = 16;
    u16 domids[kMaxDomids];
    usize count = 0;
    // Appends unless present; false when full.
    bool add(u16 domid);
};

Status parse_domid_list(std::string_view list, DomidList* domids);

// Hypercall numbers for the calls group: "2,5,0x10" (any u64), in the order given,
// duplicates kept out. `what` names the argument in messages ("control_calls").
struct CallList {
    static constexpr usize kMaxCalls = 64;
    u64 numbers[kMaxCalls];
    usize count = 0;
    // Appends unless present; false when full.
    bool add(u64 number);
};

Status parse_call_list(std::string_view what, std::string_view list, CallList* calls);

}  // namespace relay::guest::rogue
