#include "tests/guests/fuzzguest/fuzz_plan.hpp"

#include "hv/abi/hypercall.h"

namespace relay::guest::fuzz {

namespace {

// How many arguments each known hypercall takes (docs/hypercalls.md); the rest are
// reserved.
constexpr u8 kArgumentCounts[kKnownCalls] = {0, 2, 2, 2, 2, 1, 1, 1, 0, 1, 2, 2, 0, 0};

// Argument positions that are guest-physical buffers the hypervisor may write: they must
// not start below free_base (they may run past the end of RAM: that is the hypervisor's
// to refuse).
struct WrittenBuffer {
    u64 number;
    u8 address;
};
constexpr WrittenBuffer kWrittenBuffers[] = {
    {RELAY_HC_DOMAIN_LIST, 0},
    {RELAY_HC_DOMAIN_INFO, 1},
    {RELAY_HC_STATE_EXPORT, 0},
};

u64 random_number(Random& random) {
    switch (random.below(8)) {
        case 0:
            return kKnownCalls + random.below(50);  // just past the known ones
        case 1:
            return (1ull << 32) | random.below(kKnownCalls);  // truncated to 32 bits: known
        case 2:
            return random.next();
        default:
            return random.below(kKnownCalls);
    }
}

u64 random_domid(Random& random, const FuzzContext& context) {
    switch (random.below(4)) {
        case 0:
            return context.domid;
        case 1:
            return random.below(8);
        case 2:
            return random.below(0x10000);
        default:
            return random.next();
    }
}

u64 random_word(Random& random, const FuzzContext& context) {
    switch (random.below(4)) {
        case 0:
            return random.below(16);
        case 1:
            return random_length(random);
        case 2:
            return random_address(random, context);
        default:
            return random.next();
    }
}

bool outside_ram(u64 base, u64 size, const FuzzContext& context) {
    return base >= context.memory_size || size > context.memory_size - base;
}

}  // namespace

u64 random_address(Random& random, const FuzzContext& context, AddressClass* chosen) {
    auto kind = static_cast<AddressClass>(random.below(static_cast<u64>(AddressClass::kCount)));
    if (chosen != nullptr) {
        *chosen = kind;
    }
    u64 free_size =
        context.memory_size > context.free_base ? context.memory_size - context.free_base : 0;
    switch (kind) {
        case AddressClass::kNull:
            return 0;
        case AddressClass::kFreeRam:
            return free_size == 0 ? 0 : context.free_base + random.below(free_size);
        case AddressClass::kEndOfRam:
            return context.memory_size - 1 - random.below(free_size < 256 ? free_size + 1 : 256);
        case AddressClass::kPastRam:
            return context.memory_size + random.below(0x10000);
        case AddressClass::kUnmapped: {
            constexpr u64 kBases[] = {0x4'0000'0000ull, 0x7'0000'0000ull, (1ull << 52) - 0x1000};
            return kBases[random.below(3)] + random.below(0x1000);
        }
        case AddressClass::kHypervisor: {
            constexpr u64 kBases[] = {0xFFFF'FFFF'8000'0000ull, 0xFFFF'8000'0000'0000ull,
                                      0xFEE0'0000ull, 0xFEC0'0000ull, 0xFFFF'FFFF'FFFF'F000ull};
            return kBases[random.below(5)] + random.below(0x1000);
        }
        case AddressClass::kNonCanonical:
            return 0x0000'8000'0000'0000ull + random.below(1ull << 46);
        case AddressClass::kWrapping:
            return ~0ull - random.below(0x100);
        case AddressClass::kRandom:
        case AddressClass::kCount:
            break;
    }
    return random.next();
}

u64 random_length(Random& random) {
    switch (random.below(10)) {
        case 0:
            return 0;
        case 1:
            return 1;
        case 2:
            return random.below(128);
        case 3:
            return 4096;
        case 4:
            return 4097;
        case 5:
            return 1ull << (32 + random.below(31));
        case 6:
            return ~0ull;
        case 7:
            return ~0ull - random.below(0x1000);
        case 8:
            return random.below(1 << 20);
        default:
            return random.next();
    }
}

FuzzCall next_call(Random& random, const FuzzContext& context) {
    FuzzCall call;
    call.number = random_number(random);
    u8 count = call.number < kKnownCalls ? kArgumentCounts[call.number] : 6;
    for (u8 i = 0; i < 6; ++i) {
        if (i < count) {
            call.arguments[i] = random_word(random, context);
        } else if (random.one_in(8)) {
            call.arguments[i] = random_word(random, context);  // a reserved argument set
        }
    }
    // Typed arguments where the ABI has them, most of the time, so calls get past the
    // first checks.
    if (!random.one_in(4)) {
        switch (call.number) {
            case RELAY_HC_CONSOLE_WRITE:
            case RELAY_HC_STATE_EXPORT:
            case RELAY_HC_KEXEC_STAGE:
                call.arguments[0] = random_address(random, context);
                call.arguments[1] = random_length(random);
                break;
            case RELAY_HC_DOMAIN_LIST:
                call.arguments[0] = random_address(random, context);
                call.arguments[1] = random.below(80);
                break;
            case RELAY_HC_DOMAIN_INFO:
                call.arguments[0] = random_domid(random, context);
                call.arguments[1] = random_address(random, context);
                break;
            case RELAY_HC_VCPU_UP:
                call.arguments[1] = random_address(random, context);
                break;
            case RELAY_HC_DOMAIN_PAUSE:
            case RELAY_HC_DOMAIN_UNPAUSE:
            case RELAY_HC_DOMAIN_DESTROY:
                call.arguments[0] = random_domid(random, context);
                break;
            default:
                break;
        }
    }
    // The safety rules: change what would end or flood the guest, keep the rest.
    if (call.number == RELAY_HC_SHUTDOWN) {
        u64 reason = call.arguments[0];
        if (reason == RELAY_SHUTDOWN_POWEROFF || reason == RELAY_SHUTDOWN_REBOOT ||
            reason == RELAY_SHUTDOWN_CRASH) {
            call.arguments[0] = random.one_in(2) ? 0 : 3;
        }
    }
    if (call.number == RELAY_HC_VCPU_UP && call.arguments[0] > 0 &&
        call.arguments[0] < context.vcpus) {
        call.arguments[0] = random.one_in(2) ? 0 : context.vcpus + random.below(4);
    }
    if (call.number == RELAY_HC_CONSOLE_WRITE && !outside_ram(call.arguments[0], 1, context) &&
        call.arguments[1] > kMaxConsoleBytes && call.arguments[1] <= 4096) {
        call.arguments[1] = random.below(kMaxConsoleBytes + 1);
    }
    for (const WrittenBuffer& buffer : kWrittenBuffers) {
        if (call.number == buffer.number) {
            u64& address = call.arguments[buffer.address];
            if (address != 0 && address < context.free_base) {
                address = context.free_base + (address & 0xFFF);
            }
        }
    }
    // vcpu_up and kexec_stage only read; console_write only reads: no rule for their
    // buffers beyond the above.
    return call;
}

bool is_safe(const FuzzCall& call, const FuzzContext& context) {
    if (call.number == RELAY_HC_SHUTDOWN &&
        (call.arguments[0] == RELAY_SHUTDOWN_POWEROFF ||
         call.arguments[0] == RELAY_SHUTDOWN_REBOOT || call.arguments[0] == RELAY_SHUTDOWN_CRASH)) {
        return false;
    }
    if (call.number == RELAY_HC_VCPU_UP && call.arguments[0] > 0 &&
        call.arguments[0] < context.vcpus) {
        return false;
    }
    if (call.number == RELAY_HC_CONSOLE_WRITE && !outside_ram(call.arguments[0], 1, context) &&
        call.arguments[1] > kMaxConsoleBytes && call.arguments[1] <= 4096) {
        return false;
    }
    for (const WrittenBuffer& buffer : kWrittenBuffers) {
        if (call.number == buffer.number) {
            u64 address = call.arguments[buffer.address];
            if (address != 0 && address < context.free_base) {
                return false;
            }
        }
    }
    return true;
}

}  // namespace relay::guest::fuzz
