// Writes a sample stream (testing/sample_host_state.hpp) to a file, for making golden
// streams' JSON, fuzz seeds and trying relay-dump by hand.
//   write_sample_stream OUT [--domains N] [--vcpus N] [--extents N] [--schema-minor N]
//                           [--kind KIND] [--cet] [--large-pages] [--no-iommu] [--boot]
//                           [--guest-ram-base ADDRESS]
// --guest-ram-base places the domains' RAM (4 GiB by default): the integration test of
// crafted streams points it into the hypervisor's own memory.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "migration_stream/testing/sample_host_state.hpp"

using namespace relay;
using namespace relay::stream;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: write_sample_stream OUT [options]\n");
        return 2;
    }
    testing::SampleOptions options;
    StreamWriterOptions writer;
    StreamKind kind = StreamKind::kLiveUpdate;
    for (int i = 2; i < argc; ++i) {
        std::string argument = argv[i];
        auto number = [&]() { return static_cast<u32>(std::strtoul(argv[++i], nullptr, 0)); };
        if (argument == "--domains" && i + 1 < argc) {
            options.domains = number();
        } else if (argument == "--vcpus" && i + 1 < argc) {
            options.vcpus_per_domain = number();
        } else if (argument == "--extents" && i + 1 < argc) {
            options.extents_per_domain = number();
        } else if (argument == "--schema-minor" && i + 1 < argc) {
            writer.schema_minor = static_cast<u16>(number());
        } else if (argument == "--kind" && i + 1 < argc) {
            if (!parse_stream_kind(argv[++i], &kind)) {
                std::fprintf(stderr, "unknown kind %s\n", argv[i]);
                return 2;
            }
        } else if (argument == "--guest-ram-base" && i + 1 < argc) {
            options.guest_ram_host_base = std::strtoull(argv[++i], nullptr, 0);
        } else if (argument == "--cet") {
            options.cet = true;
        } else if (argument == "--large-pages") {
            options.large_pages = true;
        } else if (argument == "--no-iommu") {
            options.iommu = false;
        } else if (argument == "--boot") {
            options.lifecycle = schema::DomainLifecycle::Configured;
            options.iommu = false;
            options.update_records = 0;
            kind = StreamKind::kBoot;
        } else {
            std::fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    Error error;
    std::vector<u8> bytes = testing::make_sample_stream(options, writer, kind, &error);
    if (bytes.empty()) {
        std::fprintf(stderr, "write_sample_stream: %s\n", error.message());
        return 1;
    }
    std::FILE* file = std::fopen(argv[1], "wb");
    if (file == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() ||
        std::fclose(file) != 0) {
        std::fprintf(stderr, "write_sample_stream: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
