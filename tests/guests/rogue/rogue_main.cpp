// rogue: an unprivileged domain that attacks the hypervisor and the other domains
// (docs/testing.md, "rogue"). It runs the attack groups of attacks=LIST in order, prints
// one line per attempt and a summary, then the fatal attacks, which should end it.
#include <utility>

#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/guest.hpp"
#include "tests/guests/lib/shutdown.hpp"
#include "tests/guests/lib/time.hpp"
#include "tests/guests/rogue/attack_plan.hpp"
#include "tests/guests/rogue/attacks.hpp"
#include "tests/guests/rogue/verdict.hpp"

namespace relay::guest {

namespace {

constexpr std::string_view kArguments[] = {"attacks", "targets", "outside", "control_calls",
                                           "unknown_calls"};

}  // namespace

const GuestProgram kGuestProgram{"rogue", kArguments, {}};

namespace rogue {

namespace {

// 16 GiB: beyond the RAM of any test domain, inside every CPU's physical address space.
constexpr u64 kDefaultOutside = 0x4'0000'0000ull;

class ConsoleSink final : public LineSink {
public:
    void write_line(std::string_view line) override {
        console_write(line);
        console_write("\n");
    }
};

ConsoleSink g_sink;

// Privileged hypercalls aim at the example configurations' domains, this one, the next
// id (a domain that may not exist: EPERM all the same), and the highest id.
DomidList default_targets(u16 own) {
    DomidList targets;
    for (u16 domid :
         {u16{0}, u16{1}, u16{2}, u16{3}, own, static_cast<u16>(own + 1), u16{0x7fef}}) {
        targets.add(domid);
    }
    return targets;
}

void run_group(AttackGroup group, const RogueContext& context, AttackLog& log) {
    switch (group) {
        case AttackGroup::kHypercalls:
            return attack_hypercalls(context, log);
        case AttackGroup::kPointers:
            return attack_pointers(context, log);
        case AttackGroup::kReserved:
            return attack_reserved(context, log);
        case AttackGroup::kUnknown:
            return attack_unknown(context, log);
        case AttackGroup::kMsrs:
            return attack_msrs(context, log);
        case AttackGroup::kIo:
            return attack_io(context, log);
        case AttackGroup::kConsole:
            return attack_console(context, log);
        case AttackGroup::kWriteOutside:
            return attack_write_outside(context);
        case AttackGroup::kReadOutside:
            return attack_read_outside(context);
        case AttackGroup::kTripleFault:
            return attack_triple_fault(context);
        case AttackGroup::kCalls:
            return attack_calls(context, log);
    }
}

}  // namespace

}  // namespace rogue

void guest_main(const StartInfo& info) {
    using namespace rogue;
    const CommandLine& line = command_line();
    AttackPlan plan;
    Status parsed = parse_attack_plan(line.value_or("attacks", "all"), &plan);
    if (!parsed.ok()) {
        panic("{}", parsed.error().message());
    }
    RogueContext context;
    context.domid = info.domid();
    context.vcpus = info.vcpus();
    context.memory_size = info.memory_size();
    context.name = info.name();
    context.targets = default_targets(info.domid());
    if (line.has("targets")) {
        Status targets = parse_domid_list(line.value_or("targets", ""), &context.targets);
        if (!targets.ok()) {
            panic("{}", targets.error().message());
        }
    }
    for (auto [key, list] : {std::pair{"control_calls", &context.control_calls},
                             std::pair{"unknown_calls", &context.unknown_calls}}) {
        if (line.has(key)) {
            Status calls = parse_call_list(key, line.value_or(key, ""), list);
            if (!calls.ok()) {
                panic("{}", calls.error().message());
            }
        }
    }
    // Guest-virtual = guest-physical here, so the address must also be canonical.
    Result<u64> outside = line.number_or("outside", kDefaultOutside, 0, (1ull << 47) - 1);
    if (!outside.ok()) {
        panic("{}", outside.error().message());
    }
    context.outside_address = outside.value();
    if (context.outside_address < context.memory_size) {
        log_line("warning: outside={:#x} is inside this domain's RAM", context.outside_address);
    }

    char groups[256];
    FormatBuffer groups_text(groups, sizeof(groups));
    for (usize i = 0; i < plan.count; ++i) {
        format(groups_text, i == 0 ? "{}" : ",{}", attack_group_info(plan.groups[i]).name);
    }
    char targets[128];
    FormatBuffer targets_text(targets, sizeof(targets));
    for (usize i = 0; i < context.targets.count; ++i) {
        format(targets_text, i == 0 ? "{}" : ",{}", context.targets.domids[i]);
    }
    log_line("attacks={} targets={} outside={:#x}", groups_text.view(), targets_text.view(),
             context.outside_address);

    AttackLog log(g_sink);
    bool summarized = false;
    for (usize i = 0; i < plan.count; ++i) {
        const AttackGroupInfo& group = attack_group_info(plan.groups[i]);
        if (group.fatal && !summarized) {
            log.summary();
            summarized = true;
        }
        run_group(group.group, context, log);
    }
    if (!summarized) {
        log.summary();
    }
    log_line("done: every attack ran and the domain is still alive; idling");
    idle_forever();
}

}  // namespace relay::guest
