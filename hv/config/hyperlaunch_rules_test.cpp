// Every rule of docs/hyperlaunch.md: each test edits the default example so that one
// rule is broken and checks the exact message (node path and property named) and code.
// libfdt adds a new node before its siblings, so added nodes are parsed first.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/testing/test_tree.hpp"

namespace relay::hyperlaunch {
namespace {

using testing::parse;
using testing::ParseRun;
using testing::present_modules;
using testing::roomy_limits;
using testing::TestTree;

const std::string kHypervisor = "/chosen/hypervisor";
const std::string kControl = kHypervisor + "/control";
const std::string kMemtest1 = kHypervisor + "/memtest1";
const std::string kMemtest2 = kHypervisor + "/memtest2";
const std::string kControlKernel = kControl + "/kernel";
const std::string kMemtest1Kernel = kMemtest1 + "/kernel";

// examples/default.dts without the control domain's ramdisk (multiboot module 3), which
// the rules below use for their own modules.
TestTree example() {
    TestTree tree = TestTree::load("examples/default.dtb");
    tree.remove_node("/chosen/hypervisor/control/ramdisk");
    return tree;
}

void expect_rejected(const TestTree& tree, ErrorCode code, const std::string& message,
                     const std::vector<ModuleInfo>& modules = present_modules(8),
                     const HostLimits& limits = roomy_limits()) {
    ParseRun run = parse(tree, modules, limits);
    ASSERT_FALSE(run.ok()) << "accepted; expected: " << message;
    EXPECT_EQ(run.message(), message);
    EXPECT_EQ(run.status.error().code(), code) << error_code_name(run.status.error().code());
    // A refused config leaves nothing half-built behind.
    EXPECT_EQ(run.config->domain_count, 0u);
    EXPECT_EQ(run.config->total_memory_kib, 0u);
}

void expect_accepted(const TestTree& tree,
                     const std::vector<ModuleInfo>& modules = present_modules(8),
                     const HostLimits& limits = roomy_limits()) {
    ParseRun run = parse(tree, modules, limits);
    EXPECT_TRUE(run.ok()) << run.message();
}

// --- Tree structure -----------------------------------------------------------------

TEST(HyperlaunchRules, ChosenIsRequired) {
    TestTree tree = example();
    tree.remove_node("/chosen");
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen: node missing: this is not a Hyperlaunch device tree (it describes "
                    "its domains in /chosen/hypervisor)");
}

TEST(HyperlaunchRules, HypervisorNodeIsRequired) {
    TestTree tree = example();
    tree.remove_node(kHypervisor);
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor: node missing: this is not a Hyperlaunch device tree (it "
                    "describes its domains in /chosen/hypervisor)");
}

TEST(HyperlaunchRules, AtLeastOneDomain) {
    TestTree tree = example();
    tree.remove_node(kControl).remove_node(kMemtest1).remove_node(kMemtest2);
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor: no domain nodes (compatible \"xen,domain\"); nothing "
                    "to build");
}

TEST(HyperlaunchRules, NoModulesAtAll) {
    expect_rejected(example(), ErrorCode::kInvalidArgument,
                    "multiboot: no modules; module 0 must be the Hyperlaunch device tree", {});
}

// The boot stream records module command lines as text (fuzz finding
// tests/fuzz/corpus/hyperlaunch/crash-module-command-line-not-utf8).
TEST(HyperlaunchRules, ModuleCommandLineMustBeUtf8) {
    std::vector<ModuleInfo> modules = present_modules(8);
    modules[6].command_line = "extra caf\xe9";  // Latin-1, and no module node uses it
    expect_rejected(example(), ErrorCode::kInvalidArgument,
                    "multiboot module 6: command line is not UTF-8 (byte 0xe9 at offset 9); the "
                    "boot stream records it as text",
                    modules);
    modules[6].command_line = "extra caf\xc3\xa9";
    expect_accepted(example(), modules);
}

// --- compatible -----------------------------------------------------------------------

TEST(HyperlaunchRules, HypervisorCompatibleIsRequired) {
    TestTree tree = example();
    tree.remove_property(kHypervisor, "compatible");
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor: property \"compatible\": missing; expected "
                    "\"hypervisor,xen\" or \"hypervisor,relay\"");
}

TEST(HyperlaunchRules, UnknownHypervisorCompatible) {
    TestTree tree = example();
    tree.set_strings(kHypervisor, "compatible", {"hypervisor,xen", "hypervisor,kvm"});
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor: property \"compatible\": unknown compatible "
                    "\"hypervisor,kvm\"; Relay accepts \"hypervisor,xen\" and "
                    "\"hypervisor,relay\"");
}

TEST(HyperlaunchRules, RelayCompatibleAlone) {
    TestTree tree = example();
    tree.set_string(kHypervisor, "compatible", "hypervisor,relay");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_TRUE(run.config->compatible_relay);
    EXPECT_FALSE(run.config->compatible_xen);
}

TEST(HyperlaunchRules, ChildWithoutCompatible) {
    TestTree tree = example();
    tree.remove_property(kMemtest1, "compatible");
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor/memtest1: property \"compatible\": missing; children "
                    "of the hypervisor node are config nodes (\"xen,config\") and domain nodes "
                    "(\"xen,domain\")");
}

TEST(HyperlaunchRules, UnknownDomainCompatible) {
    TestTree tree = example();
    tree.set_string(kMemtest1, "compatible", "xen,domU");
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1: property \"compatible\": unknown compatible "
                    "\"xen,domU\"; a child of the hypervisor node is exactly \"xen,config\" or "
                    "\"xen,domain\"");
}

TEST(HyperlaunchRules, DomainCompatibleWithExtraEntry) {
    TestTree tree = example();
    tree.set_strings(kMemtest1, "compatible", {"xen,domain", "relay,domain"});
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1: property \"compatible\": unknown compatible "
                    "\"relay,domain\"; a child of the hypervisor node is exactly \"xen,config\" "
                    "or \"xen,domain\"");
}

TEST(HyperlaunchRules, UnknownModuleType) {
    TestTree tree = example();
    tree.set_strings(kMemtest1Kernel, "compatible", {"module,firmware", "multiboot,module"});
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1/kernel: property \"compatible\": unknown "
                    "module type \"module,firmware\" (the binding defines kernel, ramdisk, "
                    "config, device-tree, microcode and xsm-policy)");
}

TEST(HyperlaunchRules, ModuleCompatibleThatIsNotAModule) {
    TestTree tree = example();
    tree.set_string(kMemtest1Kernel, "compatible", "multiboot,kernel");
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1/kernel: property \"compatible\": unknown "
                    "compatible \"multiboot,kernel\"; a module node is \"module,<type>\"[, "
                    "\"multiboot,module\"]");
}

TEST(HyperlaunchRules, ModuleCompatibleWithUnknownSecondEntry) {
    TestTree tree = example();
    tree.set_strings(kMemtest1Kernel, "compatible", {"module,kernel", "linux,image"});
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1/kernel: property \"compatible\": unknown "
                    "compatible \"linux,image\" after \"module,kernel\"; only "
                    "\"multiboot,module\" may follow");
}

TEST(HyperlaunchRules, ModuleCompatibleWithoutMultibootMarkerIsAccepted) {
    TestTree tree = example();
    tree.set_string(kMemtest1Kernel, "compatible", "module,kernel");
    expect_accepted(tree);
}

TEST(HyperlaunchRules, ModuleWithoutCompatible) {
    TestTree tree = example();
    tree.remove_property(kMemtest1Kernel, "compatible");
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor/memtest1/kernel: property \"compatible\": missing; a "
                    "module node is \"module,<type>\"[, \"multiboot,module\"]");
}

// --- config node ---------------------------------------------------------------------

TEST(HyperlaunchRules, EmptyConfigNodeIsAccepted) {
    TestTree tree = example();
    tree.add_node(kHypervisor, "config")
        .set_string(kHypervisor + "/config", "compatible", "xen,config");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_EQ(run.config->host.node_count, 1u);
}

TEST(HyperlaunchRules, ConfigModulesAreRefused) {
    struct Case {
        const char* compatible;
        const char* reason;
    };
    for (const Case& c : {
             Case{"module,microcode", "Relay does not load CPU microcode"},
             Case{"module,xsm-policy", "Relay has no XSM; privilege comes from domain permissions"},
             Case{"module,kernel", "a domain's module belongs in its domain node"},
         }) {
        TestTree tree = example();
        tree.add_node(kHypervisor, "config")
            .set_string(kHypervisor + "/config", "compatible", "xen,config")
            .add_module(kHypervisor + "/config", "m", {c.compatible, "multiboot,module"}, 4);
        expect_rejected(tree, ErrorCode::kUnsupported,
                        std::string("/chosen/hypervisor/config/m: property \"compatible\": \"") +
                            c.compatible + "\" is not supported in a config node: " + c.reason);
    }
}

TEST(HyperlaunchRules, UnknownConfigProperty) {
    TestTree tree = example();
    tree.add_node(kHypervisor, "config")
        .set_string(kHypervisor + "/config", "compatible", "xen,config")
        .set_u32(kHypervisor + "/config", "relay,handover-size", 1);
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/config: property \"relay,handover-size\": unknown "
                    "property in Relay's \"relay,\" namespace (this build knows relay,file and "
                    "relay,passthrough)");
}

// --- Properties: unknown, misplaced, malformed ------------------------------------------

TEST(HyperlaunchRules, UnknownProperty) {
    TestTree tree = example();
    tree.set_cells(kMemtest1, "memroy", {0, 0x8000});
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1: property \"memroy\": unknown property: "
                    "neither Xen's Hyperlaunch binding nor Relay's relay, extensions define it");
}

TEST(HyperlaunchRules, UnknownPropertyOnTheHypervisorNode) {
    TestTree tree = example();
    tree.set_string(kHypervisor, "status", "okay");
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor: property \"status\": unknown property: neither Xen's "
                    "Hyperlaunch binding nor Relay's relay, extensions define it");
}

TEST(HyperlaunchRules, StructuralPropertiesAreAccepted) {
    TestTree tree = example();
    tree.set_u32(kHypervisor, "#address-cells", 1).set_u32(kHypervisor, "#size-cells", 0);
    tree.set_u32(kMemtest1, "phandle", 7);
    expect_accepted(tree);
}

TEST(HyperlaunchRules, PropertyOnTheWrongKindOfNode) {
    TestTree tree = example();
    tree.set_u32(kMemtest1Kernel, "cpus", 1);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"cpus\": not a property of "
                    "a module node");
}

TEST(HyperlaunchRules, ModuleAddressIsNotSupported) {
    TestTree tree = example();
    tree.set_cells(kMemtest1Kernel, "module-addr", {0xff00, 0x80});
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1/kernel: property \"module-addr\": not "
                    "supported: Relay boots by multiboot only and finds modules by mb-index, not "
                    "by address");
}

TEST(HyperlaunchRules, CellPropertyOfTheWrongSize) {
    TestTree tree = example();
    tree.set_cells(kMemtest1, "domid", {0, 2});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"domid\": is 8 bytes; expected 1 "
                    "cell (4 bytes)");
}

TEST(HyperlaunchRules, EmptyCellProperty) {
    TestTree tree = example();
    tree.set_bytes(kMemtest1, "cpus", {});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"cpus\": is 0 bytes; expected 1 "
                    "cell (4 bytes)");
}

TEST(HyperlaunchRules, MemoryOfOneCell) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "memory", 0x8000);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"memory\": is 4 bytes; expected 2 "
                    "cells (8 bytes)");
}

TEST(HyperlaunchRules, MemoryAsMinimumAndMaximum) {
    TestTree tree = example();
    tree.set_cells(kMemtest1, "memory", {0, 0x8000, 0, 0x10000});
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1: property \"memory\": has 4 cells (a minimum "
                    "and a maximum); Relay gives a domain fixed memory: give one size <high low> "
                    "in KiB");
}

TEST(HyperlaunchRules, StringNotTerminated) {
    TestTree tree = example();
    tree.set_bytes(kMemtest1Kernel, "bootargs", {'s', 'e', 'e', 'd'});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"bootargs\": is not a "
                    "NUL-terminated string");
}

TEST(HyperlaunchRules, StringThatHoldsTwoStrings) {
    TestTree tree = example();
    tree.set_strings(kMemtest1Kernel, "bootargs", {"seed=1", "seed=2"});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"bootargs\": holds several "
                    "strings; expected one");
}

TEST(HyperlaunchRules, StringWithControlCharacter) {
    TestTree tree = example();
    tree.set_string(kMemtest1Kernel, "bootargs", "seed=1\nrogue");
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"bootargs\": contains byte "
                    "0x0a at offset 6; only printable ASCII is allowed");
}

TEST(HyperlaunchRules, StringTooLong) {
    TestTree tree = example();
    tree.set_string(kMemtest1Kernel, "bootargs", std::string(2048, 'x'));
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1/kernel: property \"bootargs\": is 2048 "
                    "characters long; at most 2047 are allowed");
}

TEST(HyperlaunchRules, LongestBootargsAreAccepted) {
    TestTree tree = example();
    tree.set_string(kMemtest1Kernel, "bootargs", std::string(2047, 'x'));
    expect_accepted(tree);
}

TEST(HyperlaunchRules, StringListWithEmptyEntry) {
    TestTree tree = example();
    tree.set_strings(kMemtest1Kernel, "compatible", {"module,kernel", ""});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"compatible\": contains an "
                    "empty string at offset 14");
}

TEST(HyperlaunchRules, StringListTooLong) {
    TestTree tree = example();
    tree.set_strings(kHypervisor, "compatible", std::vector<std::string>(17, "hypervisor,xen"));
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor: property \"compatible\": lists more than 16 strings");
}

// --- domid ----------------------------------------------------------------------------

TEST(HyperlaunchRules, DomidIsRequired) {
    TestTree tree = example();
    tree.remove_property(kMemtest1, "domid");
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor/memtest1: property \"domid\": missing; Relay builds no "
                    "dom0 and picks no ids, so every domain needs an explicit domid from 1 to "
                    "0x7fef");
}

TEST(HyperlaunchRules, DomidZero) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "domid", 0);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"domid\": is 0; Relay has no dom0 "
                    "and picks no ids: give the domain an id from 1 to 0x7fef");
}

TEST(HyperlaunchRules, DomidInTheReservedRange) {
    for (u32 domid : {0x7FF0u, 0x7FF5u, 0xFFFFu, 0xFFFFFFFFu}) {
        TestTree tree = example();
        tree.set_u32(kMemtest1, "domid", domid);
        ParseRun run = parse(tree);
        ASSERT_FALSE(run.ok());
        EXPECT_EQ(run.status.error().code(), ErrorCode::kOutOfRange);
        EXPECT_NE(run.message().find("in the range reserved for special domains"),
                  std::string::npos)
            << run.message();
    }
    TestTree tree = example();
    tree.set_u32(kMemtest1, "domid", 0x7FEF);
    expect_accepted(tree);
}

TEST(HyperlaunchRules, DuplicateDomid) {
    TestTree tree = example();
    tree.set_u32(kMemtest2, "domid", 2);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest2: property \"domid\": 2 is already the domid of "
                    "/chosen/hypervisor/memtest1");
}

// --- permissions and functions --------------------------------------------------------

TEST(HyperlaunchRules, UnknownPermissionBits) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "permissions", 0x5);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"permissions\": 0x5 has bits 0x4 "
                    "that the binding does not define");
}

TEST(HyperlaunchRules, SecondControlDomain) {
    TestTree tree = example();
    tree.set_u32(kMemtest2, "permissions", kPermissionControl);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest2: property \"permissions\": PERMISSION_CONTROL "
                    "is already held by /chosen/hypervisor/control (domid 1); Relay allows one "
                    "such domain");
}

TEST(HyperlaunchRules, SecondHardwareDomain) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "permissions", kPermissionHardware);
    tree.set_u32(kMemtest2, "permissions", kPermissionHardware);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest2: property \"permissions\": PERMISSION_HARDWARE "
                    "is already held by /chosen/hypervisor/memtest1 (domid 2); Relay allows one "
                    "such domain");
}

TEST(HyperlaunchRules, ControlAndHardwareInOneDomainAreAccepted) {
    TestTree tree = example();
    tree.set_u32(kControl, "permissions", kPermissionControl | kPermissionHardware);
    expect_accepted(tree);
}

TEST(HyperlaunchRules, SecondBootDomain) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "functions", kFunctionBoot);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest1: property \"functions\": FUNCTION_BOOT is "
                    "already held by /chosen/hypervisor/control (domid 1); Relay allows one such "
                    "domain");
}

TEST(HyperlaunchRules, FunctionsRelayDoesNotHonour) {
    struct Case {
        u32 bit;
        const char* text;
    };
    for (const Case& c : {
             Case{kFunctionCrash,
                  "FUNCTION_CRASH (0x2) is not supported: Relay has no crash (recovery) domain"},
             Case{kFunctionConsole,
                  "FUNCTION_CONSOLE (0x4) is not supported: Relay keeps the console in the "
                  "hypervisor; no domain can own it"},
             Case{kFunctionXenstore,
                  "FUNCTION_XENSTORE (0x40000000) is not supported: Relay has no XenStore"},
             Case{kFunctionLegacyDom0,
                  "FUNCTION_LEGACY_DOM0 (0x80000000) is not supported: Relay has no "
                  "all-powerful dom0; give the domain the permissions it needs instead"},
         }) {
        TestTree tree = example();
        tree.set_u32(kMemtest1, "functions", c.bit);
        expect_rejected(
            tree, ErrorCode::kUnsupported,
            "/chosen/hypervisor/memtest1: property \"functions\": " + std::string(c.text));
    }
}

TEST(HyperlaunchRules, UnknownFunctionBits) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "functions", 1u << 5);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"functions\": 0x20 has bits 0x20 "
                    "that the binding does not define");
}

// --- mode -----------------------------------------------------------------------------

TEST(HyperlaunchRules, ModeDefaultsToRelaysGuestMode) {
    TestTree tree = example();
    tree.remove_property(kMemtest1, "mode");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_EQ(run.config->domains[1].mode, kModeLong);
}

TEST(HyperlaunchRules, ModesRelayDoesNotRun) {
    struct Case {
        u32 mode;
        const char* problem;
    };
    for (const Case& c : {
             Case{0x5, "0x5 asks for a PV guest (MODE_PARAVIRTUALIZED)"},
             Case{0x1, "0x1 asks for a PV guest (MODE_PARAVIRTUALIZED)"},
             Case{0x6, "0x6 asks for a device model (MODE_ENABLE_DEVICE_MODEL); Relay has none"},
             Case{0x0, "0x0 asks for a 32-bit guest (MODE_LONG clear)"},
             Case{0x14, "0x14 has bits the binding does not define"},
         }) {
        TestTree tree = example();
        tree.set_u32(kMemtest1, "mode", c.mode);
        expect_rejected(
            tree, ErrorCode::kUnsupported,
            "/chosen/hypervisor/memtest1: property \"mode\": " + std::string(c.problem) +
                "; Relay runs 64-bit HVM guests without a device model (SVM with "
                "nested paging): mode = <0x4>");
    }
}

// --- domain-uuid and security-id ------------------------------------------------------

TEST(HyperlaunchRules, UuidOfTheWrongLength) {
    TestTree tree = example();
    tree.set_bytes(kMemtest1, "domain-uuid", {0xB3, 0xFB, 0x98, 0xFB, 0x8F, 0x9F, 0x67, 0xA3});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"domain-uuid\": is 8 bytes; a UUID "
                    "is 16 bytes");
}

TEST(HyperlaunchRules, DuplicateUuid) {
    TestTree tree = example();
    std::vector<u8> uuid(16, 0xAB);
    tree.set_bytes(kMemtest1, "domain-uuid", uuid).set_bytes(kMemtest2, "domain-uuid", uuid);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest2: property \"domain-uuid\": is already the UUID "
                    "of /chosen/hypervisor/memtest1");
}

TEST(HyperlaunchRules, AbsentUuidsAreNilAndMayRepeat) {
    TestTree tree = example();
    tree.remove_property(kMemtest1, "domain-uuid").remove_property(kMemtest2, "domain-uuid");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_TRUE(run.config->domains[1].uuid.is_nil());
    EXPECT_TRUE(run.config->domains[2].uuid.is_nil());
}

TEST(HyperlaunchRules, SecurityIdIsKept) {
    TestTree tree = example();
    tree.set_string(kMemtest1, "security-id", "system_u:system_r:domU_t");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_EQ(run.config->domains[1].security_id, "system_u:system_r:domU_t");
}

TEST(HyperlaunchRules, EmptySecurityId) {
    TestTree tree = example();
    tree.set_string(kMemtest1, "security-id", "");
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"security-id\": is an empty string; "
                    "leave it out instead");
}

// --- cpus -----------------------------------------------------------------------------

TEST(HyperlaunchRules, CpusDefaultToOne) {
    TestTree tree = example();
    tree.remove_property(kMemtest2, "cpus");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_EQ(run.config->domains[2].cpus, 1u);
}

TEST(HyperlaunchRules, CpusZero) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "cpus", 0);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"cpus\": is 0; a domain needs at "
                    "least 1 vCPU");
}

TEST(HyperlaunchRules, MoreCpusThanTheHostHas) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "cpus", 5);
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"cpus\": 5 vCPUs requested; the host "
                    "has 4 physical CPUs");
    HostLimits one_cpu = roomy_limits();
    one_cpu.physical_cpus = 1;
    expect_rejected(example(), ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest2: property \"cpus\": 2 vCPUs requested; the host "
                    "has 1 physical CPU",
                    present_modules(8), one_cpu);
}

TEST(HyperlaunchRules, MoreCpusThanRelayAllowsPerDomain) {
    TestTree tree = example();
    tree.set_u32(kMemtest1, "cpus", 3);
    HostLimits limits = roomy_limits();
    limits.max_vcpus_per_domain = 2;
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"cpus\": 3 vCPUs requested; Relay "
                    "allows at most 2 per domain",
                    present_modules(8), limits);
}

// --- memory ---------------------------------------------------------------------------

TEST(HyperlaunchRules, MemoryIsRequired) {
    TestTree tree = example();
    tree.remove_property(kMemtest1, "memory");
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor/memtest1: property \"memory\": missing; the binding "
                    "requires the domain's memory in KiB as two cells <high low>");
}

TEST(HyperlaunchRules, MemoryZero) {
    TestTree tree = example();
    tree.set_cells(kMemtest1, "memory", {0, 0});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"memory\": is 0 KiB; a domain needs "
                    "memory");
}

TEST(HyperlaunchRules, MemoryNotWholePages) {
    TestTree tree = example();
    tree.set_cells(kMemtest1, "memory", {0, 0x8001});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"memory\": 32769 KiB is not a whole "
                    "number of 4 KiB pages");
}

TEST(HyperlaunchRules, MemoryMoreThanTheHostCanGive) {
    TestTree tree = example();
    tree.set_cells(kMemtest1, "memory", {0x2, 0});  // 8 TiB
    HostLimits limits = roomy_limits();
    limits.guest_memory_bytes = 3 * GiB;
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"memory\": 8589934592 KiB requested, "
                    "host can give 3145728 KiB",
                    present_modules(8), limits);
}

TEST(HyperlaunchRules, MemoryAbsurd) {
    TestTree tree = example();
    tree.set_cells(kMemtest1, "memory", {0xFFFFFFFF, 0xFFFFF000});
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"memory\": 18446744073709547520 KiB "
                    "requested, a domain can have at most 4398046511104 KiB (2^52 bytes)");
}

// Found by the Hyperlaunch fuzzer (tests/fuzz/corpus/hyperlaunch/crash-memory-beyond-2-52):
// with a host that could give it (relay-config check without --host-memory assumes no
// limit), a domain of more than 2^52 bytes was accepted, and its boot stream was then
// refused by the stream verifier ("must be 1 KiB to 2^52 bytes").
TEST(HyperlaunchRules, MemoryBeyondWhatAStreamCanHold) {
    HostLimits limits = roomy_limits();
    limits.guest_memory_bytes = ~u64{0};
    TestTree tree = example();
    tree.set_cells(kMemtest1, "memory", {0x400, 0x1000});  // 2^42 KiB + 4 KiB
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"memory\": 4398046515200 KiB "
                    "requested, a domain can have at most 4398046511104 KiB (2^52 bytes)",
                    present_modules(8), limits);
    TestTree largest = example();
    largest.set_cells(kMemtest1, "memory", {0x400, 0});  // 2^42 KiB = 2^52 bytes
    expect_accepted(largest, present_modules(8), limits);
}

TEST(HyperlaunchRules, MemoryTotalMoreThanTheHostCanGive) {
    TestTree tree = example();
    HostLimits limits = roomy_limits();
    limits.guest_memory_bytes = 64 * MiB;  // control 16 + memtest1 32 fit; memtest2 does not
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest2: property \"memory\": 32768 KiB brings the "
                    "total for all domains to 81920 KiB, host can give 65536 KiB",
                    present_modules(8), limits);
}

TEST(HyperlaunchRules, MemoryExactlyWhatTheHostCanGive) {
    HostLimits limits = roomy_limits();
    limits.guest_memory_bytes = 80 * MiB;
    expect_accepted(example(), present_modules(8), limits);
}

TEST(HyperlaunchRules, ModulesMustFitInTheDomainsMemory) {
    std::vector<ModuleInfo> modules = present_modules(8);
    modules[2].size = 33 * MiB;
    expect_rejected(example(), ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"memory\": 32768 KiB cannot hold "
                    "the domain's modules (34603008 bytes are copied into its memory)",
                    modules);
}

TEST(HyperlaunchRules, KernelAndRamdiskTogetherMustFit) {
    TestTree tree = example();
    tree.add_module(kMemtest1, "initrd", {"module,ramdisk", "multiboot,module"}, 4);
    std::vector<ModuleInfo> modules = present_modules(8);
    modules[2].size = 16 * MiB;
    modules[4].size = 16 * MiB + 1;
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"memory\": 32768 KiB cannot hold "
                    "the domain's modules (33554433 bytes are copied into its memory)",
                    modules);
    modules[4].size = 16 * MiB;
    expect_accepted(tree, modules);
}

// --- Domain count ---------------------------------------------------------------------

TEST(HyperlaunchRules, MoreDomainsThanTheHostRuns) {
    HostLimits limits = roomy_limits();
    limits.max_domains = 2;
    expect_rejected(example(), ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest2: one domain too many: the host runs at most 2 "
                    "domains",
                    present_modules(8), limits);
}

TEST(HyperlaunchRules, MoreDomainsThanRelayHolds) {
    // The example's 3 domains and 61 more fill the 64 slots exactly.
    TestTree tree = example();
    for (u32 i = 0; i < kMaxDomains - 3; ++i) {
        tree.add_domain("extra" + std::to_string(i), 10 + i, 128, 2);
    }
    HostLimits limits = roomy_limits();
    limits.max_domains = 1000;
    ParseRun full = parse(tree, present_modules(8), limits);
    ASSERT_TRUE(full.ok()) << full.message();
    EXPECT_EQ(full.config->domain_count, kMaxDomains);
    // libfdt adds a node before its siblings, so the last node in the tree is the 65th.
    tree.add_domain("extra61", 71, 128, 2);
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest2: one domain too many: the host runs at most 64 "
                    "domains",
                    present_modules(8), limits);
}

TEST(HyperlaunchRules, DomainNodeNames) {
    TestTree tree = example();
    tree.add_domain(std::string(64, 'd'), 10, 128, 2);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/" + std::string(64, 'd') +
                        ": node name is 64 characters; Relay keeps names of 1 to 63");
    TestTree with_unit = example();
    with_unit.add_domain("domain@7", 10, 128, 2);
    expect_accepted(with_unit);
}

// --- Modules of a domain --------------------------------------------------------------

TEST(HyperlaunchRules, KernelIsRequired) {
    TestTree tree = example();
    tree.remove_node(kMemtest1Kernel);
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor/memtest1: no kernel: a domain needs one module node with "
                    "compatible \"module,kernel\"");
}

TEST(HyperlaunchRules, SecondKernel) {
    TestTree tree = example();
    tree.add_module(kMemtest1, "kernel2", {"module,kernel", "multiboot,module"}, 3);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest1/kernel: second kernel module; the domain "
                    "already has kernel2 (one kernel per domain)");
}

TEST(HyperlaunchRules, SecondRamdisk) {
    TestTree tree = example();
    tree.add_module(kMemtest1, "initrd", {"module,ramdisk"}, 3)
        .add_module(kMemtest1, "initrd2", {"module,ramdisk"}, 4);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest1/initrd: second ramdisk module; the domain "
                    "already has initrd2 (one ramdisk per domain)");
}

TEST(HyperlaunchRules, RamdiskAndConfigAreKept) {
    TestTree tree = example();
    tree.add_module(kMemtest1, "initrd", {"module,ramdisk", "multiboot,module"}, 3)
        .add_module(kMemtest1, "settings", {"module,config", "multiboot,module"}, 4)
        .set_string(kMemtest1 + "/initrd", "relay,file", "out/memtest.cpio");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    const DomainConfig& domain = run.config->domains[1];
    EXPECT_TRUE(domain.ramdisk.present);
    EXPECT_EQ(domain.ramdisk.node_name, "initrd");
    EXPECT_EQ(domain.ramdisk.multiboot_index, 3u);
    EXPECT_EQ(domain.ramdisk.host_file, "out/memtest.cpio");
    EXPECT_TRUE(domain.config.present);
    EXPECT_EQ(domain.config.multiboot_index, 4u);
    EXPECT_EQ(run.config->modules[3].role, ModuleRole::kRamdisk);
    EXPECT_EQ(run.config->modules[4].role, ModuleRole::kConfig);
}

TEST(HyperlaunchRules, DeviceTreeModuleInADomain) {
    TestTree tree = example();
    tree.add_module(kMemtest1, "dtb", {"module,device-tree", "multiboot,module"}, 3);
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1/dtb: property \"compatible\": "
                    "\"module,device-tree\" is not supported in a domain node: Relay gives its "
                    "x86 guests no device tree");
}

TEST(HyperlaunchRules, BootargsOnlyOnKernels) {
    TestTree tree = example();
    tree.add_module(kMemtest1, "initrd", {"module,ramdisk"}, 3)
        .set_string(kMemtest1 + "/initrd", "bootargs", "quiet");
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/initrd: property \"bootargs\": only kernel "
                    "modules take bootargs; this is a ramdisk module");
}

TEST(HyperlaunchRules, ModuleNodesHaveNoChildren) {
    TestTree tree = example();
    tree.add_node(kMemtest1Kernel, "extra");
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel/extra: a module node has no child nodes");
}

// --- mb-index -------------------------------------------------------------------------

TEST(HyperlaunchRules, MultibootIndexIsRequired) {
    TestTree tree = example();
    tree.remove_property(kMemtest1Kernel, "mb-index");
    expect_rejected(tree, ErrorCode::kNotFound,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": missing; Relay "
                    "finds every module in the multiboot chain by its mb-index");
}

TEST(HyperlaunchRules, MultibootIndexZeroIsTheTreeItself) {
    TestTree tree = example();
    tree.set_u32(kMemtest1Kernel, "mb-index", 0);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": is 0, the "
                    "Hyperlaunch device tree itself; domain modules start at 1");
}

TEST(HyperlaunchRules, MultibootIndexBeyondTheModulesPresent) {
    TestTree tree = example();
    tree.set_u32(kMemtest1Kernel, "mb-index", 7);
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": is 7, but the "
                    "boot loader passed 5 multiboot modules (0 to 4)",
                    present_modules(5));
}

TEST(HyperlaunchRules, MultibootIndexBeyondWhatRelayHandles) {
    TestTree tree = example();
    tree.set_u32(kMemtest1Kernel, "mb-index", 0xFFFFFFFF);
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": is 4294967295; "
                    "Relay handles multiboot modules 1 to 63",
                    present_modules(100));
}

TEST(HyperlaunchRules, MultibootIndexOfTheWrongSize) {
    TestTree tree = example();
    tree.set_cells(kMemtest1Kernel, "mb-index", {0, 2});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": is 8 bytes; "
                    "expected 1 cell (4 bytes)");
}

TEST(HyperlaunchRules, EmptyModule) {
    std::vector<ModuleInfo> modules = present_modules(8);
    modules[2].size = 0;
    expect_rejected(example(), ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": multiboot "
                    "module 2 is empty",
                    modules);
}

TEST(HyperlaunchRules, ModuleTaggedWithAnotherRole) {
    std::vector<ModuleInfo> modules = present_modules(8);
    modules[2].command_line = "bazel-bin/tests/guests/memtest.elf relay.module=ramdisk";
    expect_rejected(example(), ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": multiboot "
                    "module 2 is tagged \"relay.module=ramdisk\" on its command line, but this "
                    "node uses it as kernel: were the modules passed in the wrong order?",
                    modules);
}

// --- Sharing multiboot modules between domains -----------------------------------------

TEST(HyperlaunchRules, OneKernelForSeveralDomainsIsAccepted) {
    // memtest1 and memtest2 share module 2 in the example; a third user is fine too.
    TestTree tree = example();
    tree.add_domain("memtest3", 9, 128, 2);
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_EQ(run.config->modules[2].user_count, 3u);
}

TEST(HyperlaunchRules, OneModuleInTwoRoles) {
    TestTree tree = example();
    tree.add_module(kMemtest2, "initrd", {"module,ramdisk"}, 1);
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest2/initrd: property \"mb-index\": multiboot module "
                    "1 is already the kernel of /chosen/hypervisor/control; one module cannot be "
                    "both kernel and ramdisk");
}

TEST(HyperlaunchRules, OneModuleTwiceInOneDomain) {
    TestTree tree = example();
    tree.add_module(kMemtest1, "initrd", {"module,ramdisk"}, 2);
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest1/kernel: property \"mb-index\": multiboot module "
                    "2 is already this domain's ramdisk (initrd)");
}

TEST(HyperlaunchRules, OneModuleWithTwoFiles) {
    TestTree tree = example();
    tree.set_string(kHypervisor + "/memtest2/kernel", "relay,file", "out/other.elf");
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest2/kernel: property \"relay,file\": "
                    "\"out/other.elf\", but another node gives "
                    "\"bazel-bin/tests/guests/memtest.elf\" for multiboot module 2");
}

// --- relay, extensions ----------------------------------------------------------------

TEST(HyperlaunchRules, UnknownVendorProperty) {
    TestTree tree = example();
    tree.set_string(kMemtest1Kernel, "relay,flie", "x.elf");
    expect_rejected(tree, ErrorCode::kUnsupported,
                    "/chosen/hypervisor/memtest1/kernel: property \"relay,flie\": unknown "
                    "property in Relay's \"relay,\" namespace (this build knows relay,file and "
                    "relay,passthrough)");
}

TEST(HyperlaunchRules, PassthroughListsPciFunctions) {
    TestTree tree = example();
    tree.set_strings(kMemtest1, "relay,passthrough", {"00:04.0", "0001:3a:1f.7"});
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    const DomainConfig& domain = run.config->domains[1];
    ASSERT_EQ(domain.passthrough_count, 2u);
    EXPECT_EQ(domain.passthrough[0], (PciFunction{0, 0, 4, 0}));
    EXPECT_EQ(domain.passthrough[1], (PciFunction{1, 0x3a, 0x1f, 7}));
    EXPECT_EQ(run.config->domains[2].passthrough_count, 0u);
}

TEST(HyperlaunchRules, PassthroughFormIsChecked) {
    TestTree tree = example();
    tree.set_strings(kMemtest1, "relay,passthrough", {"00:04.0", "0:5.0"});
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"relay,passthrough\": \"0:5.0\" is not "
                    "a PCI function (BB:DD.F or SSSS:BB:DD.F in hexadecimal, device up to 1f, "
                    "function up to 7)");
    tree.set_cells(kMemtest1, "relay,passthrough", {0x30303a30});  // "00:0" without a NUL
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"relay,passthrough\": is not a list of "
                    "NUL-terminated strings");
    tree.set_strings(kMemtest1, "relay,passthrough", std::vector<std::string>(9, "00:04.0"));
    expect_rejected(tree, ErrorCode::kOutOfRange,
                    "/chosen/hypervisor/memtest1: property \"relay,passthrough\": lists 9 PCI "
                    "functions; a domain may have at most 8");
}

TEST(HyperlaunchRules, PassthroughFunctionListedTwice) {
    TestTree tree = example();
    tree.set_strings(kMemtest1, "relay,passthrough", {"00:04.0", "00:04.0"});
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest1: property \"relay,passthrough\": lists 00:04.0 "
                    "twice");
}

TEST(HyperlaunchRules, PassthroughFunctionAssignedToTwoDomains) {
    TestTree tree = example();
    tree.set_strings(kMemtest1, "relay,passthrough", {"00:04.0"});
    tree.set_strings(kMemtest2, "relay,passthrough", {"00:05.0", "00:04.0"});
    expect_rejected(tree, ErrorCode::kAlreadyExists,
                    "/chosen/hypervisor/memtest2: property \"relay,passthrough\": 00:04.0 is "
                    "already assigned to /chosen/hypervisor/memtest1");
}

TEST(HyperlaunchRules, VendorPropertyOnTheWrongKindOfNode) {
    TestTree tree = example();
    tree.set_string(kMemtest1, "relay,file", "x.elf");
    expect_rejected(tree, ErrorCode::kInvalidArgument,
                    "/chosen/hypervisor/memtest1: property \"relay,file\": not allowed on a "
                    "domain node");
}

TEST(HyperlaunchRules, HostFileForms) {
    struct Case {
        std::string path;
        std::string problem;
    };
    for (const Case& c : {
             Case{"/abs/x.elf",
                  "\"/abs/x.elf\" is absolute; give a path relative to the repository root"},
             Case{"a/../../x.elf", "\"a/../../x.elf\" leaves the repository (\"..\")"},
             Case{"..", "\"..\" leaves the repository (\"..\")"},
             Case{"a b.elf", "\"a b.elf\" contains ' ', which a module list cannot carry"},
             Case{"a,b.elf", "\"a,b.elf\" contains ',', which a module list cannot carry"},
             Case{"", "is empty; expected a path relative to the repository root"},
         }) {
        TestTree tree = example();
        tree.set_string(kControlKernel, "relay,file", c.path);
        expect_rejected(tree, ErrorCode::kInvalidArgument,
                        "/chosen/hypervisor/control/kernel: property \"relay,file\": " + c.problem);
    }
    TestTree tree = example();
    tree.set_string(kControlKernel, "relay,file", "out/..hidden/./x.elf");
    expect_accepted(tree);
}

TEST(HyperlaunchRules, HostFileIsOptional) {
    TestTree tree = example();
    tree.remove_property(kControlKernel, "relay,file");
    ParseRun run = parse(tree);
    ASSERT_TRUE(run.ok()) << run.message();
    EXPECT_EQ(run.config->domains[0].kernel.host_file, "");
    EXPECT_EQ(run.config->modules[1].host_file, "");
}

}  // namespace
}  // namespace relay::hyperlaunch
