// fuzzguest: an unprivileged domain that issues random hypercalls for duration_s seconds
// (docs/testing.md, "fuzzguest"), counting the results and printing a heartbeat, then a
// summary. The calls come from fuzz_plan.hpp, whose safety rules keep the guest alive;
// everything else about them is random. The hypervisor must refuse what is wrong, do
// what is right, and never crash, hang or write anywhere but the buffers it was given.
#include "hv/abi/hypercall.h"
#include "lib/format.hpp"
#include "tests/guests/fuzzguest/fuzz_plan.hpp"
#include "tests/guests/lib/abi_names.hpp"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/guest.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/lib/shutdown.hpp"
#include "tests/guests/lib/time.hpp"

extern "C" char __image_end[];

namespace relay::guest {

namespace {

constexpr std::string_view kArguments[] = {"seed", "duration_s", "heartbeat_ms"};

}  // namespace

const GuestProgram kGuestProgram{"fuzzguest", kArguments, {}};

namespace fuzz {

namespace {

// Results by kind: success, each error code -1..-12, anything else.
struct Counts {
    static constexpr usize kErrors = 12;
    u64 calls = 0;
    u64 success = 0;
    u64 errors[kErrors + 1] = {};  // index = -code; 0 unused
    u64 other = 0;

    void record(i64 result) {
        ++calls;
        if (result >= 0) {
            ++success;
        } else if (result >= -static_cast<i64>(kErrors)) {
            ++errors[-result];
        } else {
            ++other;
        }
    }
};

Counts g_counts;

// "ok=5 EPERM=7 ENOSYS=3 ... other=0": every error code, named, even when zero.
void describe(FormatOutput& out, const Counts& counts) {
    format(out, "ok={}", counts.success);
    for (usize code = 1; code <= Counts::kErrors; ++code) {
        const char* name = error_name(-static_cast<i64>(code));
        format(out, " {}={}", name != nullptr ? name : "?", counts.errors[code]);
    }
    format(out, " other={}", counts.other);
}

Result<u64> setting(std::string_view key, u64 fallback, u64 minimum, u64 maximum) {
    return command_line().number_or(key, fallback, minimum, maximum);
}

}  // namespace

}  // namespace fuzz

void guest_main(const StartInfo& info) {
    using namespace fuzz;
    auto seed = setting("seed", 1, 0, ~0ull);
    auto duration = setting("duration_s", 10, 0, 86400);
    auto heartbeat = setting("heartbeat_ms", 1000, 10, 60000);
    for (const Result<u64>* value : {&seed, &duration, &heartbeat}) {
        if (!value->ok()) {
            panic("{}", value->error().message());
        }
    }
    FuzzContext context;
    context.domid = info.domid();
    context.vcpus = info.vcpus();
    context.memory_size = info.memory_size();
    context.free_base = (reinterpret_cast<uptr>(__image_end) + 0xFFF) & ~u64{0xFFF};
    if (context.free_base >= context.memory_size) {
        panic("no free RAM above the image end {:#x}", context.free_base);
    }
    log_line("seed={} duration_s={} heartbeat_ms={}: fuzzing from free RAM {:#x}-{:#x}",
             seed.value(), duration.value(), heartbeat.value(), context.free_base,
             context.memory_size);

    Random random(seed.value());
    const u64 start = monotonic_microseconds();
    const u64 end = duration.value() == 0 ? ~0ull : start + duration.value() * 1'000'000;
    const u64 interval = heartbeat.value() * 1000;
    u64 next_beat = start + interval;
    u64 beats = 0;
    u64 last_number = 0;
    char text[384];
    for (;;) {
        // The clock between batches: a call is microseconds, so 64 at a time keep the
        // heartbeat on time.
        for (int i = 0; i < 64; ++i) {
            FuzzCall call = next_call(random, context);
            if (!is_safe(call, context)) {
                panic("the plan produced an unsafe call {:#x}", call.number);
            }
            last_number = call.number;
            const u64* a = call.arguments;
            g_counts.record(hypercall(call.number, a[0], a[1], a[2], a[3], a[4], a[5]));
        }
        u64 now = monotonic_microseconds();
        if (now >= next_beat || now >= end) {
            FormatBuffer out(text, sizeof(text));
            describe(out, g_counts);
            log_line("heartbeat {} calls={} elapsed_ms={} last={:#x} {}", ++beats, g_counts.calls,
                     (now - start) / 1000, last_number, out.view());
            next_beat = now + interval;
        }
        if (now >= end) {
            FormatBuffer out(text, sizeof(text));
            describe(out, g_counts);
            log_line("done: {} calls in {} ms, seed {}: {}", g_counts.calls, (now - start) / 1000,
                     seed.value(), out.view());
            break;
        }
    }
    idle_forever();
}

}  // namespace relay::guest
