#include "tests/guests/rogue/attack_plan.hpp"

#include "lib/strings.hpp"

namespace relay::guest::rogue {

namespace {

constexpr AttackGroupInfo kGroups[] = {
    {AttackGroup::kHypercalls, "hypercalls", false},
    {AttackGroup::kPointers, "pointers", false},
    {AttackGroup::kReserved, "reserved", false},
    {AttackGroup::kUnknown, "unknown", false},
    {AttackGroup::kMsrs, "msrs", false},
    {AttackGroup::kIo, "io", false},
    {AttackGroup::kConsole, "console", false},
    {AttackGroup::kWriteOutside, "write-outside", true},
    {AttackGroup::kReadOutside, "read-outside", true},
    {AttackGroup::kTripleFault, "triple-fault", true},
    {AttackGroup::kCalls, "calls", false, true},
};

// The next comma-separated item of `rest`, which is advanced past it.
std::string_view next_item(std::string_view* rest) {
    std::string_view text = *rest;
    usize end = 0;
    while (end < text.size() && text[end] != ',') {
        ++end;
    }
    *rest = suffix_from(text, end + 1);
    return trim_spaces(prefix_of(text, end));
}

bool append(AttackPlan* plan, AttackGroup group) {
    if (plan->count == AttackPlan::kMaxGroups) {
        return false;
    }
    plan->groups[plan->count++] = group;
    return true;
}

}  // namespace

std::span<const AttackGroupInfo> attack_groups() {
    return kGroups;
}

const AttackGroupInfo& attack_group_info(AttackGroup group) {
    for (const AttackGroupInfo& info : kGroups) {
        if (info.group == group) {
            return info;
        }
    }
    return kGroups[0];  // unreachable: every enumerator has a row
}

Status parse_attack_plan(std::string_view list, AttackPlan* plan) {
    plan->count = 0;
    std::string_view rest = list;
    bool more = !trim_spaces(list).empty();
    while (more) {
        more = rest.find(',') != std::string_view::npos;
        std::string_view item = next_item(&rest);
        bool fits = true;
        if (item == "all" || item == "safe") {
            for (const AttackGroupInfo& info : kGroups) {
                if (!info.fatal && !info.on_request) {
                    fits = fits && append(plan, info.group);
                }
            }
            if (item == "all") {
                fits = fits && append(plan, AttackGroup::kWriteOutside);
            }
        } else {
            const AttackGroupInfo* found = nullptr;
            for (const AttackGroupInfo& info : kGroups) {
                if (item == info.name) {
                    found = &info;
                }
            }
            if (found == nullptr) {
                return make_error(ErrorCode::kInvalidArgument,
                                  "attacks: unknown group \"{}\" (groups: all, safe, hypercalls, "
                                  "pointers, reserved, unknown, msrs, io, console, "
                                  "write-outside, read-outside, triple-fault, calls)",
                                  item);
            }
            fits = append(plan, found->group);
        }
        if (!fits) {
            return make_error(ErrorCode::kOutOfRange, "attacks: more than {} groups",
                              AttackPlan::kMaxGroups);
        }
    }
    if (plan->count == 0) {
        return make_error(ErrorCode::kInvalidArgument, "attacks: the list is empty");
    }
    return ok_status();
}

bool DomidList::add(u16 domid) {
    for (usize i = 0; i < count; ++i) {
        if (domids[i] == domid) {
            return true;
        }
    }
    if (count == kMaxDomids) {
        return false;
    }
    domids[count++] = domid;
    return true;
}

Status parse_domid_list(std::string_view list, DomidList* domids) {
    domids->count = 0;
    std::string_view rest = list;
    bool more = !trim_spaces(list).empty();
    while (more) {
        more = rest.find(',') != std::string_view::npos;
        std::string_view item = next_item(&rest);
        u64 domid = 0;
        if (!parse_u64(item, &domid) || domid > 0xFFFF) {
            return make_error(ErrorCode::kInvalidArgument,
                              "targets: \"{}\" is not a domain id (0 to 65535)", item);
        }
        if (!domids->add(static_cast<u16>(domid))) {
            return make_error(ErrorCode::kOutOfRange, "targets: more than {} domain ids",
                              DomidList::kMaxDomids);
        }
    }
    if (domids->count == 0) {
        return make_error(ErrorCode::kInvalidArgument, "targets: the list is empty");
    }
    return ok_status();
}

bool CallList::add(u64 number) {
    for (usize i = 0; i < count; ++i) {
        if (numbers[i] == number) {
            return true;
        }
    }
    if (count == kMaxCalls) {
        return false;
    }
    numbers[count++] = number;
    return true;
}

Status parse_call_list(std::string_view what, std::string_view list, CallList* calls) {
    calls->count = 0;
    std::string_view rest = list;
    bool more = !trim_spaces(list).empty();
    while (more) {
        more = rest.find(',') != std::string_view::npos;
        std::string_view item = next_item(&rest);
        u64 number = 0;
        if (!parse_u64(item, &number)) {
            return make_error(ErrorCode::kInvalidArgument, "{}: \"{}\" is not a hypercall number",
                              what, item);
        }
        if (!calls->add(number)) {
            return make_error(ErrorCode::kOutOfRange, "{}: more than {} hypercall numbers", what,
                              CallList::kMaxCalls);
        }
    }
    if (calls->count == 0) {
        return make_error(ErrorCode::kInvalidArgument, "{}: the list is empty", what);
    }
    return ok_status();
}

}  // namespace relay::guest::rogue
