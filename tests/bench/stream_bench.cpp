// Stream write / verify / read cost for 1, 16 and 256 domains of 4 vCPUs and 64 memory
// extents each (issue 3, item 7). Counters: time per domain and bytes per vCPU.
//   bazel run -c opt //tests/bench:stream_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_size_bound.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "migration_stream/stream_writer.hpp"
#include "migration_stream/testing/sample_host_state.hpp"

namespace relay::stream {
namespace {

constexpr u32 kVcpusPerDomain = 4;
constexpr u32 kExtentsPerDomain = 64;

testing::SampleOptions options_for(u32 domains) {
    testing::SampleOptions options;
    options.domains = domains;
    options.vcpus_per_domain = kVcpusPerDomain;
    options.extents_per_domain = kExtentsPerDomain;
    return options;
}

void set_counters(benchmark::State& state, u32 domains, usize stream_bytes) {
    double vcpus = static_cast<double>(domains) * kVcpusPerDomain;
    state.counters["domains"] = domains;
    state.counters["stream_bytes"] = static_cast<double>(stream_bytes);
    state.counters["bytes_per_vcpu"] = static_cast<double>(stream_bytes) / vcpus;
    // Seconds per domain per iteration; printed in the time unit Google Benchmark picks.
    state.counters["time_per_domain"] = benchmark::Counter(
        static_cast<double>(domains),
        benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Builds the state with the generated API into caller memory and writes header + digest,
// as the hypervisor does at serialize time.
void BM_Write(benchmark::State& state) {
    u32 domains = static_cast<u32>(state.range(0));
    testing::SampleOptions options = options_for(domains);
    usize bound = stream_size_bound(testing::sample_shape(options));
    std::vector<u64> scratch(bound / 8 + 1);
    std::vector<u64> output(bound / 8 + 32);
    usize written = 0;
    for (auto _ : state) {
        StreamWriter writer(scratch.data(), scratch.size() * 8);
        if (!writer.reserve(bound - kFinishReserveBytes).ok()) {
            state.SkipWithError("scratch too small");
            return;
        }
        auto root = testing::build_sample_host_state(writer, options);
        StreamFields fields;
        fields.producer_build = testing::sample_build_id(0x42);
        auto result = writer.finish(root, fields, output.data(), output.size() * 8);
        if (!result.ok()) {
            state.SkipWithError(result.error().message());
            return;
        }
        written = result.value();
        benchmark::DoNotOptimize(output.data());
    }
    set_counters(state, domains, written);
}

// Header, digest, FlatBuffers Verifier and semantic checks, with caller work memory.
void BM_Verify(benchmark::State& state) {
    u32 domains = static_cast<u32>(state.range(0));
    testing::AlignedBytes stream(testing::make_sample_stream(options_for(domains)));
    VerifyOptions options;
    std::vector<u64> work(verify_work_bytes(usize{domains} * kExtentsPerDomain, domains + 4) / 8 +
                          1);
    options.work_memory = work.data();
    options.work_memory_size = work.size() * 8;
    for (auto _ : state) {
        auto verified = verify_stream(stream.data(), stream.size, options);
        if (!verified.ok()) {
            state.SkipWithError(verified.error().message());
            return;
        }
        benchmark::DoNotOptimize(&verified.value());
    }
    set_counters(state, domains, stream.size);
}

// Reading every vCPU's registers and every extent of a verified stream, as the domain
// builder does at restore time.
void BM_Read(benchmark::State& state) {
    u32 domains = static_cast<u32>(state.range(0));
    testing::AlignedBytes stream(testing::make_sample_stream(options_for(domains)));
    auto verified = verify_stream(stream.data(), stream.size);
    if (!verified.ok()) {
        state.SkipWithError(verified.error().message());
        return;
    }
    for (auto _ : state) {
        StreamReader reader(verified.value());
        u64 sum = 0;
        for (const schema::Domain* domain : reader.domains()) {
            for (const schema::Vcpu* vcpu : *domain->vcpus()) {
                sum += vcpu->rip() + vcpu->rflags() + vcpu->cr3() + vcpu->efer() +
                       vcpu->gprs()->rsp() + vcpu->cs()->base() + vcpu->msrs()->lstar() +
                       vcpu->lapic()->tsc_deadline() + vcpu->xsave()->size() +
                       static_cast<u64>(vcpu->tsc_offset());
            }
            for (const schema::MemoryExtent* extent : *domain->memory()) {
                sum += extent->guest_phys() ^ extent->host_phys() ^ extent->size();
            }
        }
        benchmark::DoNotOptimize(sum);
    }
    set_counters(state, domains, stream.size);
}

BENCHMARK(BM_Write)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Verify)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Read)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace relay::stream

BENCHMARK_MAIN();
