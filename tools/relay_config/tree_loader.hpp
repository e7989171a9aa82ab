// Loads a Hyperlaunch configuration for relay-config: a compiled tree (.dtb) as it is, a
// source (.dts) through dtc, which runs as a subprocess.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "lib/types.hpp"

namespace relay::config_tool {

// A device tree blob in 8-byte aligned storage (the parser and libfdt require it).
class LoadedTree {
public:
    LoadedTree() = default;
    explicit LoadedTree(const std::vector<u8>& bytes);

    std::span<const u8> bytes() const {
        return std::span<const u8>(reinterpret_cast<const u8*>(storage_.data()), size_);
    }

private:
    std::vector<u64> storage_;
    usize size_ = 0;
};

struct LoadResult {
    bool ok = false;
    LoadedTree tree;
    bool compiled = false;  // the input was source, compiled by dtc
    std::string error;      // when !ok: what went wrong, with dtc's own messages
    std::string warnings;   // dtc's warnings, when it succeeded with some
};

// Loads `path`: compiles it with dtc unless it is a blob (by the .dtb extension or the
// device-tree magic at its start).
LoadResult load_tree(const std::string& path);

// Writes `tree` to `path`; returns an error message, empty on success.
std::string write_tree(const LoadedTree& tree, const std::string& path);

}  // namespace relay::config_tool
