// The example configurations parse to exactly the model the domain builder expects.
#include <gtest/gtest.h>
#include <pthread.h>

#include <cstdio>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/hyperlaunch_config.hpp"
#include "hv/config/hyperlaunch_parser.hpp"
#include "hv/config/testing/test_tree.hpp"

namespace relay::hyperlaunch {
namespace {

using testing::parse;
using testing::ParseRun;
using testing::present_modules;
using testing::roomy_limits;
using testing::TestTree;

Uuid relay_uuid(u8 last) {
    Uuid uuid{{0x52, 0x45, 0x4c, 0x41, 0x59, 0x00, 0x40, 0x00, 0x80, 0, 0, 0, 0, 0, 0, last}};
    return uuid;
}

struct ExpectedDomain {
    std::string name;
    u16 domid;
    u32 permissions;
    u32 functions;
    u32 cpus;
    u64 memory_kib;
    u32 kernel_index;
    std::string bootargs;
    std::string file;
    u32 ramdisk_index = 0;  // 0: no ramdisk
};

void expect_domain(const DomainConfig& domain, const ExpectedDomain& expected) {
    SCOPED_TRACE(expected.name);
    EXPECT_EQ(domain.name, expected.name);
    EXPECT_EQ(domain.domid, expected.domid);
    EXPECT_EQ(domain.permissions, expected.permissions);
    EXPECT_EQ(domain.functions, expected.functions);
    EXPECT_EQ(domain.mode, kModeLong);
    EXPECT_EQ(domain.uuid, relay_uuid(static_cast<u8>(expected.domid)));
    EXPECT_EQ(domain.cpus, expected.cpus);
    EXPECT_EQ(domain.memory_kib, expected.memory_kib);
    EXPECT_EQ(domain.memory_bytes(), expected.memory_kib * KiB);
    EXPECT_EQ(domain.security_id, "");
    EXPECT_TRUE(domain.kernel.present);
    EXPECT_EQ(domain.kernel.node_name, "kernel");
    EXPECT_EQ(domain.kernel.multiboot_index, expected.kernel_index);
    EXPECT_EQ(domain.kernel.bootargs, expected.bootargs);
    EXPECT_EQ(domain.kernel.host_file, expected.file);
    EXPECT_EQ(domain.ramdisk.present, expected.ramdisk_index != 0);
    if (expected.ramdisk_index != 0) {
        EXPECT_EQ(domain.ramdisk.multiboot_index, expected.ramdisk_index);
    }
    EXPECT_FALSE(domain.config.present);
}

const ExpectedDomain kControl{
    "control",
    1,
    kPermissionControl,
    kFunctionBoot,
    1,
    16 * 1024,
    1,
    "script=list;sleep 2;pause 3;sleep 1;unpause 3;list;export;stage relay_b.elf;"
    "update;list;export",
    "bazel-bin/tests/guests/control.elf",
    3};
const ExpectedDomain kRogueControl{
    "control",
    1,
    kPermissionControl,
    kFunctionBoot,
    1,
    16 * 1024,
    1,
    "script=list;sleep 2;pause 3;sleep 1;unpause 3;wait 4 crashed 120;wait 5 "
    "crashed 120;list",
    "bazel-bin/tests/guests/control.elf"};
const ExpectedDomain kMemtest1{
    "memtest1", 2, 0, 0, 1, 32 * 1024, 2, "seed=17", "bazel-bin/tests/guests/memtest.elf"};
const ExpectedDomain kMemtest2{
    "memtest2", 3, 0, 0, 2, 32 * 1024, 2, "seed=42", "bazel-bin/tests/guests/memtest.elf"};
const ExpectedDomain kRogue{
    "rogue", 4, 0, 0, 1, 16 * 1024, 3, "attacks=all", "bazel-bin/tests/guests/rogue.elf"};
const ExpectedDomain kRogue2{"rogue2",
                             5,
                             0,
                             0,
                             1,
                             8 * 1024,
                             3,
                             "attacks=unknown,triple-fault",
                             "bazel-bin/tests/guests/rogue.elf"};

void expect_module_use(const ModuleUse& use, ModuleRole role, u32 users, u32 first_domain,
                       const std::string& file) {
    EXPECT_EQ(use.role, role);
    EXPECT_EQ(use.user_count, users);
    EXPECT_EQ(use.first_domain, first_domain);
    EXPECT_EQ(use.host_file, file);
}

TEST(HyperlaunchExamples, DefaultParsesToTheExpectedModel) {
    TestTree tree = TestTree::load("examples/default.dtb");
    ParseRun run = parse(tree, present_modules(4), roomy_limits());
    ASSERT_TRUE(run.ok()) << run.message();
    const HyperlaunchConfig& config = *run.config;
    EXPECT_TRUE(config.compatible_xen);
    EXPECT_FALSE(config.compatible_relay);
    EXPECT_EQ(config.host.node_count, 0u);
    ASSERT_EQ(config.domain_count, 3u);
    expect_domain(config.domains[0], kControl);
    expect_domain(config.domains[1], kMemtest1);
    expect_domain(config.domains[2], kMemtest2);
    EXPECT_EQ(config.total_memory_kib, 80u * 1024);

    ASSERT_EQ(config.module_count, 4u);
    expect_module_use(config.modules[0], ModuleRole::kNone, 0, 0, "");
    expect_module_use(config.modules[1], ModuleRole::kKernel, 1, 0,
                      "bazel-bin/tests/guests/control.elf");
    expect_module_use(config.modules[2], ModuleRole::kKernel, 2, 1,
                      "bazel-bin/tests/guests/memtest.elf");
    expect_module_use(config.modules[3], ModuleRole::kRamdisk, 1, 0,
                      "bazel-bin/hv/update_images.cpio");

    EXPECT_EQ(config.find_domain(3), &config.domains[2]);
    EXPECT_EQ(config.find_domain(9), nullptr);
}

TEST(HyperlaunchExamples, RogueParsesToTheExpectedModel) {
    TestTree tree = TestTree::load("examples/rogue.dtb");
    ParseRun run = parse(tree, present_modules(4), roomy_limits());
    ASSERT_TRUE(run.ok()) << run.message();
    const HyperlaunchConfig& config = *run.config;
    ASSERT_EQ(config.domain_count, 5u);
    expect_domain(config.domains[0], kRogueControl);
    expect_domain(config.domains[1], kMemtest1);
    expect_domain(config.domains[2], kMemtest2);
    expect_domain(config.domains[3], kRogue);
    expect_domain(config.domains[4], kRogue2);
    EXPECT_EQ(config.total_memory_kib, 104u * 1024);
    ASSERT_EQ(config.module_count, 4u);
    expect_module_use(config.modules[3], ModuleRole::kKernel, 2, 3,
                      "bazel-bin/tests/guests/rogue.elf");
}

// The examples must boot on the smallest machine the launcher uses: 128 MiB for guests,
// 2 pCPUs, and exactly the modules they name.
TEST(HyperlaunchExamples, FitASmallHost) {
    HostLimits small{
        .guest_memory_bytes = 128 * MiB,
        .physical_cpus = 2,
        .max_vcpus_per_domain = 2,
        .max_domains = 5,
    };
    EXPECT_TRUE(parse(TestTree::load("examples/default.dtb"), present_modules(4), small).ok());
    EXPECT_TRUE(parse(TestTree::load("examples/rogue.dtb"), present_modules(4), small).ok());
}

TEST(HyperlaunchExamples, ModuleCommandLineTagsThatMatchAreAccepted) {
    std::vector<ModuleInfo> modules = present_modules(4);
    modules[0].command_line = "relay.hyperlaunch";
    modules[1].command_line = "bazel-bin/tests/guests/control.elf relay.module=kernel";
    modules[2].command_line = "relay.module=kernel";
    modules[3].command_line = "update_images.cpio relay.module=ramdisk";
    ParseRun run = parse(TestTree::load("examples/default.dtb"), modules, roomy_limits());
    EXPECT_TRUE(run.ok()) << run.message();
}

TEST(HyperlaunchExamples, UnknownModuleSizesSkipSizeChecks) {
    std::vector<ModuleInfo> modules = present_modules(4, 0);
    for (ModuleInfo& module : modules) {
        module.size_known = false;
    }
    ParseRun run = parse(TestTree::load("examples/default.dtb"), modules, roomy_limits());
    EXPECT_TRUE(run.ok()) << run.message();
}

// The x86 example of Xen's binding document, compiled: Relay refuses it, and each fix a
// user makes brings the next reason, until it is accepted.
TEST(HyperlaunchExamples, XenBindingExampleIsRefusedReasonByReason) {
    TestTree tree = TestTree::load("hv/config/testdata/xen_binding_example.dtb");
    const std::string domb = "/chosen/hypervisor/domB";
    const std::string dom0 = "/chosen/hypervisor/dom0";
    const std::vector<std::pair<std::string, std::function<void()>>> steps = {
        {"/chosen/hypervisor/xen-config/microcode: property \"compatible\": "
         "\"module,microcode\" is not supported in a config node: Relay does not load CPU "
         "microcode",
         [&] { tree.remove_node("/chosen/hypervisor/xen-config"); }},
        {"/chosen/hypervisor/domB: property \"domid\": is 0x7ff5, in the range reserved for "
         "special domains (DOMID_FIRST_RESERVED 0x7ff0 and up); use 1 to 0x7fef",
         [&] { tree.set_u32(domb, "domid", 2); }},
        {"/chosen/hypervisor/dom0: property \"domid\": is 0; Relay has no dom0 and picks no "
         "ids: give the domain an id from 1 to 0x7fef",
         [&] { tree.set_u32(dom0, "domid", 1); }},
        {"/chosen/hypervisor/dom0: property \"functions\": FUNCTION_CRASH (0x2) is not "
         "supported: Relay has no crash (recovery) domain",
         [&] { tree.set_u32(dom0, "functions", 0); }},
        {"/chosen/hypervisor/dom0: property \"mode\": 0x5 asks for a PV guest "
         "(MODE_PARAVIRTUALIZED); Relay runs 64-bit HVM guests without a device model (SVM "
         "with nested paging): mode = <0x4>",
         [&] { tree.set_u32(dom0, "mode", kModeLong); }},
        {"/chosen/hypervisor/dom0: property \"domain-uuid\": is 8 bytes; a UUID is 16 bytes",
         [&] { tree.remove_property(dom0, "domain-uuid"); }},
    };
    for (const auto& [message, fix] : steps) {
        ParseRun run = parse(tree);
        ASSERT_FALSE(run.ok()) << "expected: " << message;
        EXPECT_EQ(run.message(), message);
        fix();
    }
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_EQ(run.config->domain_count, 2u);
    EXPECT_TRUE(run.config->domains[0].config.present);
    EXPECT_EQ(run.config->domains[0].config.multiboot_index, 5u);
}

// A Xen dom0-only config adapted the way docs/hyperlaunch.md describes is accepted.
TEST(HyperlaunchExamples, AdaptedXenConfigIsAccepted) {
    ParseRun run = parse(TestTree::load("hv/config/testdata/xen_adapted.dtb"));
    ASSERT_TRUE(run.ok()) << run.message();
    const DomainConfig& domain = run.config->domains[0];
    EXPECT_EQ(domain.name, "dom1");
    EXPECT_EQ(domain.permissions, kPermissionControl | kPermissionHardware);
    EXPECT_EQ(domain.security_id, "system_u:system_r:dom0_t");
    EXPECT_TRUE(domain.ramdisk.present);
    EXPECT_EQ(domain.ramdisk.multiboot_index, 2u);
    EXPECT_EQ(domain.kernel.bootargs, "console=hvc0");
    EXPECT_TRUE(run.config->compatible_relay);
    EXPECT_TRUE(run.config->compatible_xen);
    EXPECT_EQ(run.config->host.node_count, 1u);
}

// The hypervisor parses on a boot stack: measure the parser's stack use on a painted
// stack of a thread of our own (skipped under ASan, whose frames are much larger).
#if !defined(__SANITIZE_ADDRESS__)
struct StackRun {
    const TestTree* tree;
    HyperlaunchConfig* config;
    const std::vector<ModuleInfo>* modules;
    bool parse;
    bool ok;
};

void* run_on_thread(void* argument) {
    auto* run = static_cast<StackRun*>(argument);
    if (run->parse) {
        run->ok = parse_hyperlaunch_config(run->tree->blob(), ModuleList(*run->modules),
                                           roomy_limits(), run->config)
                      .ok();
    }
    return nullptr;
}

// Runs `run` on a thread whose stack is painted; returns how many bytes of it were used.
usize stack_used(StackRun* run) {
    constexpr usize kStackSize = 64 * KiB;
    constexpr u8 kPaint = 0xA5;
    std::vector<u8> stack(kStackSize, kPaint);
    pthread_attr_t attributes;
    EXPECT_EQ(pthread_attr_init(&attributes), 0);
    EXPECT_EQ(pthread_attr_setstack(&attributes, stack.data(), stack.size()), 0);
    pthread_t thread;
    EXPECT_EQ(pthread_create(&thread, &attributes, run_on_thread, run), 0);
    EXPECT_EQ(pthread_join(thread, nullptr), 0);
    pthread_attr_destroy(&attributes);
    // The stack grows down: the lowest byte that lost its paint is the deepest point.
    usize untouched = 0;
    while (untouched < stack.size() && stack[untouched] == kPaint) {
        ++untouched;
    }
    return stack.size() - untouched;
}

TEST(HyperlaunchExamples, ParserStackUseIsSmall) {
    // Measured at about 6 to 7 KiB with -O0 and -O2; the hypervisor may rely on 8 KiB.
    constexpr usize kBudget = 8 * KiB;
    TestTree tree = TestTree::load("examples/rogue.dtb");
    auto config = std::make_unique<HyperlaunchConfig>();
    std::vector<ModuleInfo> modules = present_modules(4);
    StackRun idle{&tree, config.get(), &modules, false, false};
    StackRun parse{&tree, config.get(), &modules, true, false};
    // The thread's descriptor and TLS live on the same stack: subtract an idle thread.
    usize baseline = stack_used(&idle);
    usize used = stack_used(&parse) - baseline;
    EXPECT_TRUE(parse.ok);
    std::printf("parser stack use: %zu bytes\n", used);
    EXPECT_LT(used, kBudget);
    // A refused config takes the error paths, which build messages on the stack.
    tree.set_string("/chosen/hypervisor/rogue/kernel", "relay,file", "/abs");
    usize refused = stack_used(&parse) - baseline;
    EXPECT_FALSE(parse.ok);
    std::printf("parser stack use, refusing: %zu bytes\n", refused);
    EXPECT_LT(refused, kBudget);
}
#endif

}  // namespace
}  // namespace relay::hyperlaunch
