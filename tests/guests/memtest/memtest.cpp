// memtest: fills its free RAM with a pattern that depends on (domid, seed, generation,
// address) and then, for ever, checks every word and rewrites it with the next
// generation's pattern, printing a heartbeat line at a fixed interval of TSC time.
// docs/testing.md, "memtest", specifies its arguments and lines.
#include <atomic>

#include "lib/format.hpp"
#include "tests/guests/lib/abi_names.hpp"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/cpu.hpp"
#include "tests/guests/lib/guest.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/lib/shutdown.hpp"
#include "tests/guests/lib/spinlock.hpp"
#include "tests/guests/lib/time.hpp"
#include "tests/guests/lib/vcpu.hpp"
#include "tests/guests/memtest/free_memory.hpp"
#include "tests/guests/memtest/pattern.hpp"

extern "C" char __image_end[];

namespace relay::guest {

namespace {

constexpr std::string_view kArguments[] = {"seed", "vcpus", "heartbeat_ms"};

}  // namespace

const GuestProgram kGuestProgram{"memtest", kArguments, {}};

namespace memtest {

namespace {

// Words checked between two looks at the clock: small enough that a heartbeat is never
// late by much even under TCG, large enough that the look costs nothing.
constexpr u64 kChunkBytes = 64 * KiB;

struct Settings {
    u16 domid = 0;
    u64 seed = 1;
    u64 heartbeat_microseconds = 500'000;
};

// One vCPU's progress, read by the boot vCPU for the heartbeat.
struct alignas(64) Progress {
    std::atomic<u64> passes{0};  // complete check-and-advance passes over its share
    std::atomic<u64> bytes_checked{0};
    std::atomic<u64> bad_words{0};
    std::atomic<bool> filled{false};
};

// The first bad word found since the last heartbeat, from whichever vCPU.
class CorruptionLog {
public:
    void record(const VerifyResult& result, u32 vcpu) {
        SpinlockGuard guard(lock_, current_vcpu());
        if (!pending_) {
            pending_ = true;
            first_ = result;
            vcpu_ = vcpu;
        }
    }
    bool take(VerifyResult* first, u32* vcpu) {
        SpinlockGuard guard(lock_, current_vcpu());
        if (!pending_) {
            return false;
        }
        pending_ = false;
        *first = first_;
        *vcpu = vcpu_;
        return true;
    }

private:
    Spinlock lock_;
    bool pending_ = false;
    VerifyResult first_;
    u32 vcpu_ = 0;
};

// A vCPU that tests memory. Workers are numbered 0 .. g_worker_count - 1 in the order
// their vCPUs started (worker 0 is the boot vCPU); a vCPU that failed to start has none.
struct Worker {
    u32 vcpu = 0;
    u32 number = 0;
    FreeMemory share;
};

Settings g_settings;
Progress g_progress[kMaxVcpus];
Worker g_workers[kMaxVcpus];
u32 g_worker_count = 0;
CorruptionLog g_corruption;
std::atomic<bool> g_shares_assigned{false};

// The boot vCPU's heartbeat state.
struct Heartbeat {
    u64 count = 0;
    u64 last_tsc = 0;
    u64 interval_ticks = 0;
    u64 reported_bad_words = 0;
    u64 start_tsc = 0;
    bool fill_reported = false;
};
Heartbeat g_heartbeat;

// "3,2": each worker's completed passes.
FixedString<8 * kMaxVcpus> passes_list() {
    FixedString<8 * kMaxVcpus> list;
    char buffer[8 * kMaxVcpus + 1];
    FormatBuffer output(buffer, sizeof(buffer));
    for (u32 i = 0; i < g_worker_count; ++i) {
        format(output, i == 0 ? "{}" : ",{}", g_progress[i].passes.load());
    }
    return FixedString<8 * kMaxVcpus>::formatted("{}", output.view());
}

void print_heartbeat() {
    u64 checked = 0;
    u64 bad_words = 0;
    u64 complete_passes = ~0ull;
    for (u32 i = 0; i < g_worker_count; ++i) {
        checked += g_progress[i].bytes_checked.load(std::memory_order_relaxed);
        bad_words += g_progress[i].bad_words.load(std::memory_order_relaxed);
        u64 passes = g_progress[i].passes.load(std::memory_order_relaxed);
        complete_passes = passes < complete_passes ? passes : complete_passes;
    }
    if (g_worker_count == 0) {
        complete_passes = 0;
    }
    u64 count = ++g_heartbeat.count;
    auto passes = passes_list();
    VerifyResult first;
    u32 vcpu = 0;
    if (g_corruption.take(&first, &vcpu)) {
        log_line(
            "heartbeat {} CORRUPT at {:#x} expected {:#018x} found {:#018x} bad_words={} "
            "vcpu={} pass={} checked={} bytes vcpus={} passes={} errors={}",
            count, first.first_bad_address, first.expected, first.found,
            bad_words - g_heartbeat.reported_bad_words, vcpu, complete_passes, checked,
            g_worker_count, passes.view(), bad_words);
    } else {
        log_line("heartbeat {} ok pass={} checked={} bytes vcpus={} passes={} errors={}", count,
                 complete_passes, checked, g_worker_count, passes.view(), bad_words);
    }
    g_heartbeat.reported_bad_words = bad_words;
}

// On the boot vCPU, between chunks: a heartbeat when the interval has passed.
void heartbeat_if_due() {
    u64 now = read_tsc();
    if (!g_heartbeat.fill_reported) {
        bool all_filled = true;
        for (u32 i = 0; i < g_worker_count; ++i) {
            all_filled = all_filled && g_progress[i].filled.load(std::memory_order_acquire);
        }
        if (all_filled) {
            g_heartbeat.fill_reported = true;
            log_line("filled: generation 0 written in {} ms",
                     microseconds_for(now - g_heartbeat.start_tsc) / 1000);
        }
    }
    if (now - g_heartbeat.last_tsc >= g_heartbeat.interval_ticks) {
        g_heartbeat.last_tsc = now;
        print_heartbeat();
    }
}

// Runs one pass of `step` over the worker's share, a chunk at a time.
template <typename Step>
void for_each_chunk(const Worker& worker, bool heartbeat_duty, Step&& step) {
    for (const MemoryRegion& region : worker.share.regions()) {
        for (u64 offset = 0; offset < region.size; offset += kChunkBytes) {
            u64 bytes = region.size - offset < kChunkBytes ? region.size - offset : kChunkBytes;
            u64 address = region.base + offset;
            step(reinterpret_cast<volatile u64*>(address), bytes / 8, address);
            if (heartbeat_duty) {
                heartbeat_if_due();
            }
        }
    }
    if (heartbeat_duty) {
        heartbeat_if_due();
    }
}

[[noreturn]] void run_worker(const Worker& worker) {
    bool heartbeat_duty = worker.number == 0;
    Progress& progress = g_progress[worker.number];
    u16 domid = g_settings.domid;
    u64 seed = g_settings.seed;
    u64 key = generation_key(domid, seed, 0);
    for_each_chunk(worker, heartbeat_duty, [&](volatile u64* words, u64 count, u64 address) {
        fill_words(words, count, address, key);
    });
    progress.filled.store(true, std::memory_order_release);
    for (u64 generation = 0;; ++generation) {
        u64 next_key = generation_key(domid, seed, generation + 1);
        for_each_chunk(worker, heartbeat_duty, [&](volatile u64* words, u64 count, u64 address) {
            VerifyResult result = verify_and_advance(words, count, address, key, next_key);
            if (result.bad_words != 0) [[unlikely]] {
                progress.bad_words.fetch_add(result.bad_words, std::memory_order_relaxed);
                g_corruption.record(result, worker.vcpu);
            }
            progress.bytes_checked.fetch_add(count * 8, std::memory_order_relaxed);
        });
        key = next_key;
        progress.passes.store(generation + 1, std::memory_order_release);
        if (worker.share.total_bytes() == 0) {
            // Nothing to test: do not spin the host for nothing.
            sleep_microseconds(heartbeat_duty ? g_settings.heartbeat_microseconds / 4 : 1'000'000);
        }
    }
}

void secondary_main(void* context) {
    auto* worker = static_cast<Worker*>(context);
    while (!g_shares_assigned.load(std::memory_order_acquire)) {
        hc::yield();
    }
    run_worker(*worker);
}

Settings read_settings(const StartInfo& info, u32* wanted_vcpus) {
    Settings settings;
    settings.domid = info.domid();
    const CommandLine& line = command_line();
    Result<u64> seed = line.number_or("seed", 1, 0, ~0ull);
    Result<u64> vcpus = line.number_or("vcpus", usable_vcpus(), 1, usable_vcpus());
    Result<u64> heartbeat = line.number_or("heartbeat_ms", 500, 10, 60'000);
    for (const Result<u64>* result : {&seed, &vcpus, &heartbeat}) {
        if (!result->ok()) {
            panic("{}", result->error().message());
        }
    }
    settings.seed = seed.value();
    settings.heartbeat_microseconds = heartbeat.value() * 1000;
    *wanted_vcpus = static_cast<u32>(vcpus.value());
    return settings;
}

}  // namespace

}  // namespace memtest

void guest_main(const StartInfo& info) {
    using namespace memtest;
    u32 wanted_vcpus = 1;
    g_settings = read_settings(info, &wanted_vcpus);

    // Never overwrite the image (code, data, stacks) or anything the start info points to.
    u64 floor = align_up_unchecked(reinterpret_cast<uptr>(__image_end), kPageSize4K);
    MemoryRegion exclusions[8 + StartInfo::kMaxModules];
    usize exclusion_count = 0;
    for (const StartInfo::Extent& extent : info.extents()) {
        exclusions[exclusion_count++] = {extent.base, extent.size};
    }
    for (const relay_start_module& module : info.modules()) {
        exclusions[exclusion_count++] = {module.guest_phys, module.size};
    }
    FreeMemory free = FreeMemory::plan(info.memory_ranges(), info.memory_size(), floor,
                                       std::span(exclusions, exclusion_count));
    log_line("seed={} domid={}: {} bytes of free RAM in {} region{} above the image end {:#x}",
             g_settings.seed, g_settings.domid, free.total_bytes(), free.regions().size(),
             free.regions().size() == 1 ? "" : "s", floor);
    for (const MemoryRegion& region : free.regions()) {
        log_line("region {:#x}-{:#x} ({} bytes)", region.base, region.end(), region.size);
    }
    if (free.truncated()) {
        log_line("warning: more than {} free regions; the smallest are not tested",
                 FreeMemory::kMaxRegions);
    }

    // Start the other vCPUs first; they wait until they know their share, which depends
    // on how many started.
    u32 workers = 1;
    g_workers[0] = Worker{.vcpu = 0, .number = 0, .share = {}};
    for (u32 vcpu = 1; vcpu < wanted_vcpus; ++vcpu) {
        Worker& worker = g_workers[workers];
        worker.vcpu = vcpu;
        worker.number = workers;
        i64 result = vcpu_up(vcpu, secondary_main, &worker);
        if (result < 0) {
            const char* name = error_name(result);
            log_line("warning: vcpu_up({}) failed: {} ({}); testing without it", vcpu,
                     name != nullptr ? name : "?", result);
            continue;
        }
        ++workers;
    }
    g_worker_count = workers;
    for (u32 number = 0; number < workers; ++number) {
        Worker& worker = g_workers[number];
        worker.share = free.share(number, workers);
        for (const MemoryRegion& piece : worker.share.regions()) {
            log_line("vcpu {} tests {:#x}-{:#x} ({} bytes)", worker.vcpu, piece.base, piece.end(),
                     piece.size);
        }
    }
    log_line("testing {} bytes with {} vcpu{}, heartbeat every {} ms", free.total_bytes(), workers,
             workers == 1 ? "" : "s", g_settings.heartbeat_microseconds / 1000);

    g_heartbeat.interval_ticks = tsc_ticks_for(g_settings.heartbeat_microseconds);
    g_heartbeat.start_tsc = read_tsc();
    g_heartbeat.last_tsc = g_heartbeat.start_tsc;
    g_shares_assigned.store(true, std::memory_order_release);
    run_worker(g_workers[0]);
}

}  // namespace relay::guest
