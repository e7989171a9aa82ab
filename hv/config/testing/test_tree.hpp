// Test support for the Hyperlaunch parser: a device tree loaded from a compiled example
// and edited with libfdt's read-write API, so each test states only what it changes
// ("memtest1's memory becomes 8 GiB"); and a parse helper that owns the (large) config.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hv/config/boot_environment.hpp"
#include "hv/config/hyperlaunch_config.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::hyperlaunch::testing {

// Reads a file from the test's runfiles (paths relative to the workspace root).
std::vector<u8> read_runfile(const std::string& path);

// A device tree blob in 8-byte aligned storage, with room to grow for edits.
class TestTree {
public:
    // Loads a compiled tree (e.g. "examples/default.dtb") and opens it for editing.
    static TestTree load(const std::string& runfile_path);
    // Takes raw bytes as they are (possibly hostile); no editing.
    static TestTree from_bytes(std::span<const u8> bytes);

    // Edits; each fails the current test (ADD_FAILURE) when libfdt refuses it.
    TestTree& set_u32(const std::string& node, const std::string& property, u32 value);
    TestTree& set_cells(const std::string& node, const std::string& property,
                        const std::vector<u32>& cells);
    TestTree& set_string(const std::string& node, const std::string& property,
                         const std::string& value);
    TestTree& set_strings(const std::string& node, const std::string& property,
                          const std::vector<std::string>& values);
    TestTree& set_bytes(const std::string& node, const std::string& property,
                        const std::vector<u8>& value);
    TestTree& remove_property(const std::string& node, const std::string& property);
    TestTree& remove_node(const std::string& node);
    TestTree& add_node(const std::string& parent, const std::string& name);
    // Adds a domain node with a kernel module child ("kernel"), mb-index `kernel_index`.
    TestTree& add_domain(const std::string& name, u32 domid, u64 memory_kib, u32 kernel_index);
    // Adds a module node under `parent` with the given compatible and mb-index.
    TestTree& add_module(const std::string& parent, const std::string& name,
                         const std::vector<std::string>& compatible, u32 mb_index);

    // The blob as the parser sees it (totalsize bytes, or all bytes for from_bytes()).
    std::span<const u8> blob() const;
    // The storage, for tests that corrupt bytes directly.
    std::vector<u64>& storage() { return storage_; }
    u8* data() { return reinterpret_cast<u8*>(storage_.data()); }
    usize size() const { return size_; }
    void set_size(usize size) { size_ = size; }

private:
    int node_offset(const std::string& path);

    std::vector<u64> storage_;  // u64 for 8-byte alignment
    usize size_ = 0;
    bool editable_ = false;
};

// The outcome of a parse: the status, the config it produced, and the copy of the blob
// it was parsed from (the config's strings point into it, so it lives as long as the run).
struct ParseRun {
    Status status;
    std::unique_ptr<TestTree> tree;
    std::unique_ptr<HyperlaunchConfig> config;

    bool ok() const { return status.ok(); }
    std::string message() const { return status.ok() ? "" : status.error().message(); }
};

// `count` modules (index 0 is the tree), each `size` bytes, no command lines.
std::vector<ModuleInfo> present_modules(usize count, u64 size = 64 * KiB);

// Limits that every example fits in: 1 GiB, 4 pCPUs, 4 vCPUs per domain, 16 domains.
HostLimits roomy_limits();

ParseRun parse(const TestTree& tree, const std::vector<ModuleInfo>& modules,
               const HostLimits& limits);

// Parses with present_modules(8) and roomy_limits().
ParseRun parse(const TestTree& tree);

}  // namespace relay::hyperlaunch::testing
