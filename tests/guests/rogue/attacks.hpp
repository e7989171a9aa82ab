// The rogue guest's attack groups (docs/testing.md, "rogue", lists every attack and what
// it must observe). Each group reports through the AttackLog; fatal groups print what
// they are about to do, and whatever follows only runs when the hypervisor failed to end
// the domain.
#pragma once

#include <string_view>

#include "lib/types.hpp"
#include "tests/guests/rogue/attack_plan.hpp"
#include "tests/guests/rogue/verdict.hpp"

namespace relay::guest::rogue {

struct RogueContext {
    u16 domid = 0;
    u16 vcpus = 1;
    u64 memory_size = 0;
    DomidList targets;        // for privileged hypercalls
    u64 outside_address = 0;  // for write-outside and read-outside
    std::string_view name;    // the domain's name, from the start info
    CallList control_calls;   // calls group: numbers that need the control role (EPERM)
    CallList unknown_calls;   // calls group: numbers no hypercall has (ENOSYS)
};

void attack_hypercalls(const RogueContext& context, AttackLog& log);
void attack_pointers(const RogueContext& context, AttackLog& log);
void attack_reserved(const RogueContext& context, AttackLog& log);
void attack_unknown(const RogueContext& context, AttackLog& log);
void attack_msrs(const RogueContext& context, AttackLog& log);
void attack_io(const RogueContext& context, AttackLog& log);
void attack_console(const RogueContext& context, AttackLog& log);
void attack_calls(const RogueContext& context, AttackLog& log);

// Fatal: each returns only when the domain survived, having said so with UNEXPECTED.
void attack_write_outside(const RogueContext& context);
void attack_read_outside(const RogueContext& context);
void attack_triple_fault(const RogueContext& context);

}  // namespace relay::guest::rogue
