// Attacks through hypercalls: privilege, pointers, reserved arguments, unknown numbers.
#include "hv/abi/hypercall.h"
#include "lib/format.hpp"
#include "tests/guests/lib/abi_names.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/lib/start_info.hpp"
#include "tests/guests/rogue/attacks.hpp"

namespace relay::guest::rogue {

namespace {

using Name = FixedString<120>;

// Far outside any domain's RAM, inside the 52-bit physical address space (hv/abi examples
// use 0x7_0000_0000), a kernel-half address, and one whose length wraps.
constexpr u64 kOutsideRam = 0x7'0000'0000ull;
constexpr u64 kKernelHalf = 0xFFFF'8000'0000'0000ull;
constexpr u64 kWrapping = 0xFFFF'FFFF'FFFF'FFF0ull;

// Buffers the valid calls use: inside the image, so inside RAM.
char g_probe_text[] = "rogue: console_write probe\n";
relay_domain_entry g_entries[8];
relay_domain_info g_info;
relay_vcpu_start g_vcpu_start;

u64 address_of(const void* pointer) {
    return reinterpret_cast<uptr>(pointer);
}

// A name field up to its NUL or its end: the hypervisor need not terminate it.
std::string_view bounded(const char (&name)[RELAY_DOMAIN_NAME_LENGTH]) {
    usize length = 0;
    while (length < RELAY_DOMAIN_NAME_LENGTH && name[length] != '\0') {
        ++length;
    }
    return std::string_view(name, length);
}

void hypercall_attack(AttackLog& log, std::string_view group, const Name& name, i64 result,
                      const Expected& expected) {
    log.attack(group, name.view(), Observation::result(result), expected);
}

}  // namespace

void attack_hypercalls(const RogueContext& context, AttackLog& log) {
    constexpr std::string_view kGroup = "hypercalls";
    // Hypercalls work at all: otherwise every refusal below would prove nothing.
    hypercall_attack(log, kGroup, Name::formatted("version()"), hc::version(), Expected::success());

    // A domain may read its own info: the unprivileged path works and tells the truth.
    g_info = relay_domain_info{};
    i64 own = hc::domain_info(context.domid, &g_info);
    hypercall_attack(log, kGroup, Name::formatted("domain_info({}) (own)", context.domid), own,
                     Expected::success());
    if (own >= 0) {
        auto observed = FixedString<160>::formatted("domid {} name {} vcpus {} memory_kib {}",
                                                    g_info.entry.domid, bounded(g_info.entry.name),
                                                    g_info.entry.vcpus, g_info.entry.memory_kib);
        auto expected =
            FixedString<160>::formatted("domid {} name {} vcpus {} memory_kib {}", context.domid,
                                        context.name, context.vcpus, context.memory_size / KiB);
        log.check(kGroup, "domain_info(own) contents", observed.view(), expected.view(),
                  observed.view() == expected.view());
    }

    hypercall_attack(log, kGroup, Name::formatted("domain_list(buffer, 8)"),
                     hc::domain_list(g_entries, array_size(g_entries)),
                     Expected::error(RELAY_EPERM));
    hypercall_attack(log, kGroup, Name::formatted("domain_list(0, 0)"),
                     hypercall(RELAY_HC_DOMAIN_LIST), Expected::error(RELAY_EPERM));
    for (usize i = 0; i < context.targets.count; ++i) {
        u16 target = context.targets.domids[i];
        if (target != context.domid) {
            // EPERM, never ENOENT: an unprivileged domain must not learn which ids exist.
            hypercall_attack(log, kGroup, Name::formatted("domain_info({})", target),
                             hc::domain_info(target, &g_info), Expected::error(RELAY_EPERM));
        }
    }
    // Pause before unpause: should the hypervisor wrongly pause a domain, the unpause
    // attempts undo it and the rest of the test still runs.
    for (usize i = 0; i < context.targets.count; ++i) {
        u16 target = context.targets.domids[i];
        if (target != context.domid) {
            hypercall_attack(log, kGroup, Name::formatted("domain_pause({})", target),
                             hc::domain_pause(target), Expected::error(RELAY_EPERM));
        }
    }
    for (usize i = 0; i < context.targets.count; ++i) {
        u16 target = context.targets.domids[i];
        hypercall_attack(log, kGroup, Name::formatted("domain_unpause({})", target),
                         hc::domain_unpause(target), Expected::error(RELAY_EPERM));
    }

    // vCPUs the domain does not have.
    g_vcpu_start = relay_vcpu_start{};
    g_vcpu_start.rip = reinterpret_cast<uptr>(&attack_hypercalls);
    hypercall_attack(log, kGroup, Name::formatted("vcpu_up({}) (one past the last)", context.vcpus),
                     hc::vcpu_up(context.vcpus, &g_vcpu_start), Expected::error(RELAY_ENOENT));
    hypercall_attack(log, kGroup, Name::formatted("vcpu_up(0xffffffff)"),
                     hc::vcpu_up(0xFFFF'FFFFull, &g_vcpu_start),
                     Expected::errors({RELAY_ENOENT, RELAY_EINVAL}));
    hypercall_attack(log, kGroup, Name::formatted("vcpu_up(0) (the running boot vCPU)"),
                     hc::vcpu_up(0, &g_vcpu_start), Expected::errors({RELAY_EBUSY, RELAY_EINVAL}));

    // Shutdown reasons the ABI does not define (0 is Xen's SHUTDOWN_poweroff): refused,
    // and the domain keeps running.
    hypercall_attack(log, kGroup, Name::formatted("shutdown(0)"), hc::shutdown(0),
                     Expected::error(RELAY_EINVAL));
    hypercall_attack(log, kGroup, Name::formatted("shutdown(99)"), hc::shutdown(99),
                     Expected::error(RELAY_EINVAL));

    // Live update (ABI 1.1): only the control domain may export state, stage an image or
    // update; the image buffer here is the rogue's own code, which must never be read.
    hypercall_attack(log, kGroup, Name::formatted("state_export(buffer, 4096)"),
                     hc::state_export(g_entries, sizeof(g_entries)), Expected::error(RELAY_EPERM));
    hypercall_attack(log, kGroup, Name::formatted("state_export(0, 0) (size query)"),
                     hc::state_export(nullptr, 0), Expected::error(RELAY_EPERM));
    hypercall_attack(log, kGroup, Name::formatted("kexec_stage(own code, 4096)"),
                     hc::kexec_stage(reinterpret_cast<const void*>(&attack_hypercalls), 4096),
                     Expected::error(RELAY_EPERM));
    hypercall_attack(log, kGroup, Name::formatted("kexec_unload()"), hc::kexec_unload(),
                     Expected::error(RELAY_EPERM));
    hypercall_attack(log, kGroup, Name::formatted("live_update()"), hc::live_update(),
                     Expected::error(RELAY_EPERM));

    // Last: destroying others, then itself.
    for (usize i = 0; i < context.targets.count; ++i) {
        u16 target = context.targets.domids[i];
        if (target != context.domid) {
            hypercall_attack(log, kGroup, Name::formatted("domain_destroy({})", target),
                             hc::domain_destroy(target), Expected::error(RELAY_EPERM));
        }
    }
    hypercall_attack(log, kGroup, Name::formatted("domain_pause({}) (own)", context.domid),
                     hc::domain_pause(context.domid), Expected::error(RELAY_EPERM));
    hypercall_attack(log, kGroup, Name::formatted("domain_destroy({}) (own)", context.domid),
                     hc::domain_destroy(context.domid), Expected::error(RELAY_EPERM));
}

void attack_pointers(const RogueContext& context, AttackLog& log) {
    constexpr std::string_view kGroup = "pointers";
    const u64 end = context.memory_size;
    const u64 text = address_of(g_probe_text);
    const Expected efault = Expected::error(RELAY_EFAULT);
    const Expected too_long = Expected::errors({RELAY_EFAULT, RELAY_ERANGE});
    struct Buffer {
        u64 address;
        u64 length;
        const char* what;
        const Expected* expected;
    };
    const Buffer console_buffers[] = {
        {kOutsideRam, 16, "outside RAM", &efault},
        {end - 8, 16, "straddles the end of RAM", &efault},
        {end, 1, "just past the end of RAM", &efault},
        {kKernelHalf, 16, "kernel-half address", &efault},
        {kWrapping, 0x20, "wraps around", &too_long},
        {text, 1ull << 40, "huge length", &too_long},
        {text, ~0ull, "length 2^64-1", &too_long},
    };
    for (const Buffer& buffer : console_buffers) {
        hypercall_attack(log, kGroup,
                         Name::formatted("console_write({:#x}, {:#x}) ({})", buffer.address,
                                         buffer.length, buffer.what),
                         hypercall(RELAY_HC_CONSOLE_WRITE, buffer.address, buffer.length),
                         *buffer.expected);
    }
    hypercall_attack(log, kGroup, Name::formatted("console_write(buffer, 0) (empty)"),
                     hc::console_write(g_probe_text, 0), Expected::success());

    constexpr u64 kInfoSize = sizeof(relay_domain_info);
    const Buffer info_buffers[] = {
        {kOutsideRam, kInfoSize, "outside RAM", &efault},
        {end - kInfoSize / 2, kInfoSize, "straddles the end of RAM", &efault},
        {end, kInfoSize, "just past the end of RAM", &efault},
        {kKernelHalf, kInfoSize, "kernel-half address", &efault},
        {~0ull - kInfoSize / 2, kInfoSize, "wraps around", &efault},
    };
    for (const Buffer& buffer : info_buffers) {
        hypercall_attack(log, kGroup,
                         Name::formatted("domain_info({}, {:#x}) ({})", context.domid,
                                         buffer.address, buffer.what),
                         hypercall(RELAY_HC_DOMAIN_INFO, context.domid, buffer.address),
                         *buffer.expected);
    }
    // The boundary itself: a buffer that ends exactly at the end of RAM is valid.
    hypercall_attack(log, kGroup,
                     Name::formatted("domain_info({}, {:#x}) (ends exactly at the end of RAM)",
                                     context.domid, end - kInfoSize),
                     hypercall(RELAY_HC_DOMAIN_INFO, context.domid, end - kInfoSize),
                     Expected::success());
    if (context.vcpus == 1) {
        hypercall_attack(log, kGroup, Name::formatted("vcpu_up(1, {:#x})", kOutsideRam),
                         hypercall(RELAY_HC_VCPU_UP, 1, kOutsideRam),
                         Expected::errors({RELAY_ENOENT, RELAY_EFAULT}));
    } else {
        hypercall_attack(log, kGroup, Name::formatted("vcpu_up(1, {:#x})", kOutsideRam),
                         hypercall(RELAY_HC_VCPU_UP, 1, kOutsideRam), efault);
    }
}

void attack_reserved(const RogueContext& context, AttackLog& log) {
    constexpr std::string_view kGroup = "reserved";
    const Expected reserved = Expected::error(RELAY_ERESERVED);
    const u64 text = address_of(g_probe_text);
    hypercall_attack(log, kGroup, Name::formatted("version(rdi=1)"), hypercall(RELAY_HC_VERSION, 1),
                     reserved);
    hypercall_attack(log, kGroup, Name::formatted("version(r9=1)"),
                     hypercall(RELAY_HC_VERSION, 0, 0, 0, 0, 0, 1), reserved);
    hypercall_attack(log, kGroup, Name::formatted("yield(r10=1)"),
                     hypercall(RELAY_HC_YIELD, 0, 0, 0, 1), reserved);
    hypercall_attack(log, kGroup, Name::formatted("console_write(buffer, 4, rdx=1)"),
                     hypercall(RELAY_HC_CONSOLE_WRITE, text, 4, 1), reserved);
    hypercall_attack(log, kGroup, Name::formatted("domain_info({}, buffer, rdx=1)", context.domid),
                     hypercall(RELAY_HC_DOMAIN_INFO, context.domid, address_of(&g_info), 1),
                     reserved);
    // The ABI does not order the privilege check and the reserved check: either refusal.
    hypercall_attack(log, kGroup, Name::formatted("domain_list(buffer, 8, rdx=1)"),
                     hypercall(RELAY_HC_DOMAIN_LIST, address_of(g_entries), 8, 1),
                     Expected::errors({RELAY_EPERM, RELAY_ERESERVED}));
    hypercall_attack(log, kGroup, Name::formatted("domain_pause({}, rsi=1)", context.domid),
                     hypercall(RELAY_HC_DOMAIN_PAUSE, context.domid, 1),
                     Expected::errors({RELAY_EPERM, RELAY_ERESERVED}));
    g_vcpu_start = relay_vcpu_start{};
    g_vcpu_start.rip = reinterpret_cast<uptr>(&attack_reserved);
    g_vcpu_start.reserved[4] = 1;
    hypercall_attack(
        log, kGroup, Name::formatted("vcpu_up(1, start.reserved[4]=1)"),
        hc::vcpu_up(1, &g_vcpu_start),
        context.vcpus > 1 ? reserved : Expected::errors({RELAY_ENOENT, RELAY_ERESERVED}));
    // Last: a shutdown the hypervisor must refuse rather than carry out.
    hypercall_attack(log, kGroup, Name::formatted("shutdown(poweroff, rsi=1)"),
                     hypercall(RELAY_HC_SHUTDOWN, RELAY_SHUTDOWN_POWEROFF, 1), reserved);
}

void attack_unknown(const RogueContext&, AttackLog& log) {
    constexpr std::string_view kGroup = "unknown";
    // 2^32 + n must not be hypercall n: a hypervisor that truncates the number to 32 bits
    // would answer these as VERSION and DOMAIN_PAUSE.
    const u64 numbers[] = {
        RELAY_HC_COUNT,
        RELAY_HC_COUNT + 1,
        64,
        0x7FFF'FFFF,
        0x8000'0000,
        0xFFFF'FFFF,
        (1ull << 32) | RELAY_HC_VERSION,
        (1ull << 32) | RELAY_HC_DOMAIN_PAUSE,
        1ull << 63,
        ~0ull,
    };
    for (u64 number : numbers) {
        hypercall_attack(log, kGroup, Name::formatted("hypercall({:#x})", number),
                         hypercall(number, 1), Expected::error(RELAY_ENOSYS));
    }
}

void attack_calls(const RogueContext& context, AttackLog& log) {
    constexpr std::string_view kGroup = "calls";
    // The role is checked before anything else is looked at (docs/hypercalls.md, "Order of
    // checks"): zero arguments, and every argument register set (which would be
    // ERESERVED for a caller with the role), both give EPERM. The lists come from the
    // command line, so a test derives them from docs/hypercalls.md.
    for (usize i = 0; i < context.control_calls.count; ++i) {
        u64 number = context.control_calls.numbers[i];
        const char* name = hypercall_name(number);
        name = name != nullptr ? name : "unnamed";
        hypercall_attack(log, kGroup,
                         Name::formatted("hypercall({} {}, zero arguments)", number, name),
                         hypercall(number), Expected::error(RELAY_EPERM));
        hypercall_attack(log, kGroup,
                         Name::formatted("hypercall({} {}, every argument 0x7fef)", number, name),
                         hypercall(number, 0x7fef, 0x7fef, 0x7fef, 0x7fef, 0x7fef, 0x7fef),
                         Expected::error(RELAY_EPERM));
    }
    for (usize i = 0; i < context.unknown_calls.count; ++i) {
        u64 number = context.unknown_calls.numbers[i];
        hypercall_attack(log, kGroup, Name::formatted("hypercall({}, undocumented)", number),
                         hypercall(number), Expected::error(RELAY_ENOSYS));
    }
}

}  // namespace relay::guest::rogue
