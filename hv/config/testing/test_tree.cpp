#include "hv/config/testing/test_tree.hpp"

#include <libfdt.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "hv/config/hyperlaunch_parser.hpp"

namespace relay::hyperlaunch::testing {
namespace {

// Room for the edits a test makes.
constexpr usize kEditRoom = 64 * 1024;

void check(int result, const std::string& what) {
    if (result < 0) {
        ADD_FAILURE() << "libfdt: " << what << ": " << fdt_strerror(result);
    }
}

}  // namespace

std::vector<u8> read_runfile(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        ADD_FAILURE() << "cannot open runfile " << path;
        return {};
    }
    return std::vector<u8>(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

TestTree TestTree::load(const std::string& runfile_path) {
    std::vector<u8> bytes = read_runfile(runfile_path);
    TestTree tree;
    usize capacity = bytes.size() + kEditRoom;
    tree.storage_.assign((capacity + 7) / 8, 0);
    check(fdt_open_into(bytes.data(), tree.data(), static_cast<int>(capacity)),
          "open " + runfile_path);
    tree.size_ = capacity;
    tree.editable_ = true;
    return tree;
}

TestTree TestTree::from_bytes(std::span<const u8> bytes) {
    TestTree tree;
    tree.storage_.assign((bytes.size() + 7) / 8 + 1, 0);
    if (!bytes.empty()) {
        std::memcpy(tree.data(), bytes.data(), bytes.size());
    }
    tree.size_ = bytes.size();
    return tree;
}

int TestTree::node_offset(const std::string& path) {
    EXPECT_TRUE(editable_) << "tree is not editable";
    int offset = fdt_path_offset(data(), path.c_str());
    check(offset, "find " + path);
    return offset;
}

TestTree& TestTree::set_u32(const std::string& node, const std::string& property, u32 value) {
    check(fdt_setprop_u32(data(), node_offset(node), property.c_str(), value),
          "set " + node + " " + property);
    return *this;
}

TestTree& TestTree::set_cells(const std::string& node, const std::string& property,
                              const std::vector<u32>& cells) {
    std::vector<u8> bytes;
    for (u32 cell : cells) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            bytes.push_back(static_cast<u8>(cell >> shift));
        }
    }
    return set_bytes(node, property, bytes);
}

TestTree& TestTree::set_string(const std::string& node, const std::string& property,
                               const std::string& value) {
    std::vector<u8> bytes(value.begin(), value.end());
    bytes.push_back(0);
    return set_bytes(node, property, bytes);
}

TestTree& TestTree::set_strings(const std::string& node, const std::string& property,
                                const std::vector<std::string>& values) {
    std::vector<u8> bytes;
    for (const std::string& value : values) {
        bytes.insert(bytes.end(), value.begin(), value.end());
        bytes.push_back(0);
    }
    return set_bytes(node, property, bytes);
}

TestTree& TestTree::set_bytes(const std::string& node, const std::string& property,
                              const std::vector<u8>& value) {
    check(fdt_setprop(data(), node_offset(node), property.c_str(), value.data(),
                      static_cast<int>(value.size())),
          "set " + node + " " + property);
    return *this;
}

TestTree& TestTree::remove_property(const std::string& node, const std::string& property) {
    check(fdt_delprop(data(), node_offset(node), property.c_str()),
          "remove " + node + " " + property);
    return *this;
}

TestTree& TestTree::remove_node(const std::string& node) {
    check(fdt_del_node(data(), node_offset(node)), "remove " + node);
    return *this;
}

TestTree& TestTree::add_node(const std::string& parent, const std::string& name) {
    check(fdt_add_subnode(data(), node_offset(parent), name.c_str()), "add " + name);
    return *this;
}

TestTree& TestTree::add_domain(const std::string& name, u32 domid, u64 memory_kib,
                               u32 kernel_index) {
    const std::string path = "/chosen/hypervisor/" + name;
    add_node("/chosen/hypervisor", name);
    set_string(path, "compatible", "xen,domain");
    set_u32(path, "domid", domid);
    set_cells(path, "memory", {static_cast<u32>(memory_kib >> 32), static_cast<u32>(memory_kib)});
    return add_module(path, "kernel", {"module,kernel", "multiboot,module"}, kernel_index);
}

TestTree& TestTree::add_module(const std::string& parent, const std::string& name,
                               const std::vector<std::string>& compatible, u32 mb_index) {
    add_node(parent, name);
    set_strings(parent + "/" + name, "compatible", compatible);
    return set_u32(parent + "/" + name, "mb-index", mb_index);
}

std::span<const u8> TestTree::blob() const {
    return std::span<const u8>(reinterpret_cast<const u8*>(storage_.data()), size_);
}

std::vector<ModuleInfo> present_modules(usize count, u64 size) {
    std::vector<ModuleInfo> modules(count);
    for (ModuleInfo& module : modules) {
        module.size = size;
    }
    return modules;
}

HostLimits roomy_limits() {
    return HostLimits{
        .guest_memory_bytes = 1 * GiB,
        .physical_cpus = 4,
        .max_vcpus_per_domain = 4,
        .max_domains = 16,
    };
}

ParseRun parse(const TestTree& tree, const std::vector<ModuleInfo>& modules,
               const HostLimits& limits) {
    ParseRun run;
    run.tree = std::make_unique<TestTree>(tree);
    run.config = std::make_unique<HyperlaunchConfig>();
    run.status =
        parse_hyperlaunch_config(run.tree->blob(), ModuleList(modules), limits, run.config.get());
    return run;
}

ParseRun parse(const TestTree& tree) {
    return parse(tree, present_modules(8), roomy_limits());
}

}  // namespace relay::hyperlaunch::testing
