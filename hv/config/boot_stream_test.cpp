// The default configuration becomes a boot stream that the stream verifier accepts and
// that says exactly what the configuration said.
#include "hv/config/boot_stream.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "hv/config/hyperlaunch_parser.hpp"
#include "hv/config/testing/test_tree.hpp"
#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_verifier.hpp"

namespace relay::hyperlaunch {
namespace {

using testing::ParseRun;
using testing::present_modules;
using testing::roomy_limits;
using testing::TestTree;

struct Written {
    std::vector<u64> storage;  // 8-byte aligned
    usize size = 0;
    const void* data() const { return storage.data(); }
};

Written write(const HyperlaunchConfig& config, std::vector<BootStreamModule> modules) {
    BootStreamInputs inputs;
    inputs.config = &config;
    inputs.modules = modules;
    inputs.handover_base = 0x1be00000;
    inputs.handover_size = 64 * MiB;
    inputs.producer_build.bytes[0] = 0xAB;
    inputs.producer_version = "relay test";
    inputs.tsc_khz = 2'300'000;
    usize bound = boot_stream_bound(config, modules.size());
    std::vector<u8> scratch(bound);
    Written out;
    out.storage.resize(bound / 8 + 1);
    auto size =
        write_boot_stream(inputs, scratch.data(), scratch.size(), out.storage.data(), bound);
    EXPECT_TRUE(size.ok()) << (size.ok() ? "" : size.error().message());
    out.size = size.ok() ? size.value() : 0;
    return out;
}

std::vector<BootStreamModule> modules_for(usize count) {
    std::vector<BootStreamModule> modules;
    for (u32 i = 0; i < count; ++i) {
        modules.push_back(
            {i, 0x400000 + i * 0x100000ull, 0x8000, i == 0 ? "config.dtb" : "kernel"});
    }
    return modules;
}

TEST(BootStream, DefaultConfigBecomesAVerifiedConfiguredHostState) {
    TestTree tree = TestTree::load("examples/default.dtb");
    ParseRun run = testing::parse(tree, present_modules(4), roomy_limits());
    ASSERT_TRUE(run.ok()) << run.message();
    Written stream = write(*run.config, modules_for(4));
    ASSERT_GT(stream.size, 0u);

    auto verified = stream::verify_stream(stream.data(), stream.size);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    EXPECT_EQ(verified->header().kind, stream::StreamKind::kBoot);
    stream::StreamReader reader(verified.value());
    ASSERT_EQ(reader.domains().size(), 3u);
    ASSERT_EQ(reader.boot_modules().size(), 4u);
    EXPECT_EQ(reader.host_state().host_tsc_frequency_khz(), 2'300'000u);
    EXPECT_EQ(std::string(reader.producer().version()->c_str()), "relay test");

    const schema::Domain* control = reader.find_domain(1);
    ASSERT_NE(control, nullptr);
    EXPECT_EQ(std::string(control->name()->c_str()), "control");
    EXPECT_EQ(control->lifecycle(), schema::DomainLifecycle::Configured);
    EXPECT_EQ(static_cast<u32>(control->permissions()), kPermissionControl);
    EXPECT_EQ(control->boot()->memory_kib(), 16u * 1024);
    EXPECT_EQ(control->boot()->kernel()->mb_index(), 1u);
    EXPECT_EQ(control->boot()->kernel()->size(), 0x8000u);
    EXPECT_EQ(std::string(control->boot()->bootargs()->c_str()),
              "script=list;sleep 2;pause 3;sleep 1;unpause 3;list;export;stage "
              "relay_b.elf;update;list;export");
    ASSERT_NE(control->boot()->ramdisk(), nullptr);
    EXPECT_EQ(control->boot()->ramdisk()->mb_index(), 3u);
    EXPECT_EQ(control->uuid()->bytes()->Get(15), 1);

    const schema::Domain* memtest2 = reader.find_domain(3);
    ASSERT_NE(memtest2, nullptr);
    ASSERT_EQ(memtest2->vcpus()->size(), 2u);
    EXPECT_EQ(memtest2->vcpus()->Get(1)->id(), 1u);
    EXPECT_EQ(memtest2->vcpus()->Get(1)->run_state(), schema::VcpuRunState::Reset);
    EXPECT_EQ(memtest2->vcpus()->Get(1)->lapic()->apic_id(), 1u);
    EXPECT_EQ(memtest2->memory(), nullptr) << "no memory before the builder runs";
}

TEST(BootStream, DomainsAreSortedByDomid) {
    TestTree tree = TestTree::load("examples/default.dtb");
    ParseRun run = testing::parse(tree, present_modules(4), roomy_limits());
    ASSERT_TRUE(run.ok());
    HyperlaunchConfig config = *run.config;
    std::swap(config.domains[0], config.domains[2]);  // tree order 3, 2, 1
    Written stream = write(config, modules_for(3));
    auto verified = stream::verify_stream(stream.data(), stream.size);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    stream::StreamReader reader(verified.value());
    EXPECT_EQ(reader.domains()[0]->domid(), 1);
    EXPECT_EQ(reader.domains()[2]->domid(), 3);
}

TEST(BootStream, PassthroughNeedsTheDeviceAssignmentFeature) {
    TestTree tree = TestTree::load("examples/default.dtb");
    tree.set_strings("/chosen/hypervisor/memtest1", "relay,passthrough", {"00:04.0", "00:05.0"});
    ParseRun run = testing::parse(tree, present_modules(4), roomy_limits());
    ASSERT_TRUE(run.ok()) << run.message();
    Written stream = write(*run.config, modules_for(4));
    auto verified = stream::verify_stream(stream.data(), stream.size);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    stream::StreamReader reader(verified.value());
    EXPECT_TRUE(reader.has_feature(stream::Feature::kDeviceAssignment));
    const auto* functions = reader.find_domain(2)->boot()->passthrough();
    ASSERT_NE(functions, nullptr);
    ASSERT_EQ(functions->size(), 2u);
    EXPECT_EQ(functions->Get(0)->bdf(), 0x20u);
    EXPECT_EQ(functions->Get(1)->bdf(), 0x28u);
    EXPECT_EQ(reader.find_domain(3)->boot()->passthrough(), nullptr);
}

TEST(BootStream, WithoutPassthroughNoDeviceAssignmentFeature) {
    TestTree tree = TestTree::load("examples/default.dtb");
    ParseRun run = testing::parse(tree, present_modules(4), roomy_limits());
    ASSERT_TRUE(run.ok());
    Written stream = write(*run.config, modules_for(4));
    auto verified = stream::verify_stream(stream.data(), stream.size);
    ASSERT_TRUE(verified.ok());
    EXPECT_FALSE(
        stream::StreamReader(verified.value()).has_feature(stream::Feature::kDeviceAssignment));
}

TEST(BootStream, TooLittleScratchIsAnError) {
    TestTree tree = TestTree::load("examples/default.dtb");
    ParseRun run = testing::parse(tree, present_modules(4), roomy_limits());
    ASSERT_TRUE(run.ok());
    BootStreamInputs inputs;
    inputs.config = run.config.get();
    auto modules = modules_for(3);
    inputs.modules = modules;
    inputs.handover_size = 64 * MiB;
    std::vector<u8> scratch(1024);
    std::vector<u64> out(1024);
    auto size = write_boot_stream(inputs, scratch.data(), scratch.size(), out.data(), 8192);
    ASSERT_FALSE(size.ok());
    EXPECT_EQ(size.error().code(), ErrorCode::kOutOfMemory);
}

}  // namespace
}  // namespace relay::hyperlaunch
