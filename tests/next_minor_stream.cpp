#include "tests/next_minor_stream.hpp"

#include "migration_stream/stream_writer.hpp"
#include "tests/data/schema_next/relay_next_generated.h"

namespace relay::tests {

namespace next = relay::schema_next;

std::vector<uint8_t> make_next_minor_stream() {
    std::vector<uint64_t> scratch(1 << 14);
    stream::StreamWriter writer(scratch.data(), scratch.size() * 8);
    auto& b = writer.builder();

    std::vector<flatbuffers::Offset<next::Vcpu>> vcpus = {
        next::CreateVcpu(b, 0, next::VcpuRunState::Running, nullptr, 0xFFFFFFFF81000000ull)};
    auto boot = next::CreateBootConfig(b, 4096, 1);
    auto balloon = next::CreateBalloonState(b, 2048, 3072);
    auto name = b.CreateString("numa-guest");
    auto vcpu_vector = b.CreateVector(vcpus);
    next::DomainBuilder domain(b);
    domain.add_domid(7);
    domain.add_name(name);
    domain.add_lifecycle(next::DomainLifecycle::Running);
    domain.add_boot(boot);
    domain.add_vcpus(vcpu_vector);
    domain.add_tsc_frequency_khz(2'400'000);
    domain.add_numa_node(1);      // new in 1.2
    domain.add_balloon(balloon);  // new table in 1.2
    std::vector<flatbuffers::Offset<next::Domain>> domains = {domain.Finish()};
    auto domain_vector = b.CreateVector(domains);

    stream::BuildId build;
    build.bytes[0] = 0x12;
    next::BuildId build_id{flatbuffers::make_span(build.bytes)};
    auto producer = next::CreateBuildInfo(b, &build_id, b.CreateString("relay 0.4.0 (schema 1.2)"));
    auto root = next::CreateHostState(b, producer, 0, 0, 0, domain_vector);
    b.Finish(root, stream::kPayloadIdentifier);

    stream::StreamHeader header;
    header.kind = stream::StreamKind::kLiveUpdate;
    header.schema_major = 1;
    header.schema_minor = 2;
    header.optional_features = uint64_t{1} << kNextMinorOptionalBit;
    header.producer_build = build;
    std::vector<uint8_t> output(stream::kStreamHeaderSize + b.GetSize());
    auto written = stream::write_stream(b.GetBufferPointer(), b.GetSize(), header, output.data(),
                                        output.size());
    if (!written.ok()) {
        return {};
    }
    return output;
}

}  // namespace relay::tests
