#include "migration_stream/stream_size_bound.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

#include "migration_stream/testing/sample_host_state.hpp"

namespace relay::stream {
namespace {

using testing::SampleOptions;

// The bound must hold for every shape a producer builds: build each with everything
// optional switched on and compare with what the builder used.
TEST(StreamSizeBound, CoversRealBuildsOfManyShapes) {
    struct Shape {
        u32 domains, vcpus, extents;
    };
    // Mixed shapes, and shapes dominated by one term each (extents, domains, vCPUs), so a
    // term that is too small is not hidden by the slack of the others.
    for (Shape shape :
         {Shape{1, 1, 1}, Shape{1, 1, 0}, Shape{2, 2, 4}, Shape{3, 8, 100}, Shape{16, 4, 64},
          Shape{64, 1, 2}, Shape{1, 1, 6000}, Shape{300, 1, 0}, Shape{1, 200, 0}}) {
        SampleOptions options;
        options.domains = shape.domains;
        options.vcpus_per_domain = shape.vcpus;
        options.extents_per_domain = shape.extents;
        options.cet = true;
        options.large_pages = true;
        options.update_records = 5;
        usize bound = stream_size_bound(testing::sample_shape(options));
        std::vector<u64> scratch(bound / 8 + 1);
        StreamWriter writer(scratch.data(), scratch.size() * 8);
        ASSERT_TRUE(writer.reserve(bound - kFinishReserveBytes).ok());
        auto root = testing::build_sample_host_state(writer, options);
        writer.builder().Finish(root, kPayloadIdentifier);
        EXPECT_LE(writer.bytes_used(), bound)
            << shape.domains << "x" << shape.vcpus << "x" << shape.extents;
    }
}

usize built_size(u32 domains, u32 vcpus, u32 extents) {
    SampleOptions options;
    options.domains = domains;
    options.vcpus_per_domain = vcpus;
    options.extents_per_domain = extents;
    options.cet = true;
    usize bound = stream_size_bound(testing::sample_shape(options));
    std::vector<u64> scratch(bound / 8 + 1);
    StreamWriter writer(scratch.data(), scratch.size() * 8);
    auto root = testing::build_sample_host_state(writer, options);
    writer.builder().Finish(root, kPayloadIdentifier);
    return writer.bytes_used();
}

// Each per-object constant covers the marginal cost of one more such object (measured by
// building 100 more), so no term relies on another's slack.
TEST(StreamSizeBound, EachConstantCoversItsObject) {
    usize base = built_size(1, 1, 1);
    double per_vcpu = (built_size(1, 101, 1) - base) / 100.0;
    double per_extent = (built_size(1, 1, 101) - base) / 100.0;
    double per_domain = (built_size(101, 1, 1) - base) / 100.0;
    // A sample vCPU also carries an 832-byte XSAVE area and one variable MTRR, counted by
    // byte_vector_bytes and mtrr_variable_ranges.
    EXPECT_LE(per_vcpu, size_bound::kPerVcpu + 832 + size_bound::kPerMtrrVariableRange);
    EXPECT_LE(per_extent, size_bound::kPerExtent);
    // A sample domain also brings two boot modules, a preserved range, an IOMMU
    // assignment, strings and console bytes; kPerDomain alone covers all of them (stricter
    // than needed, so a too-small kPerDomain cannot hide in their allowances).
    EXPECT_LE(per_domain - per_vcpu - per_extent, size_bound::kPerDomain);
    std::printf("measured bytes: per vCPU %.0f, per extent %.0f, per domain %.0f\n", per_vcpu,
                per_extent, per_domain - per_vcpu - per_extent);
}

TEST(StreamSizeBound, SaturatesInsteadOfWrapping) {
    StreamShape shape;
    shape.vcpus = ~usize{0} / 2;
    EXPECT_EQ(stream_size_bound(shape), ~usize{0});
}

}  // namespace
}  // namespace relay::stream
