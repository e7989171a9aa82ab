// The start-info block (hv/abi/start_info.h) as a guest reads it: checked once at boot,
// then read through typed accessors. Every address in the block is guest-physical; a guest
// reads guest RAM through its identity map, host tests through a buffer that stands for
// guest RAM (`memory_base`). Shared: unit-tested on the host.
#pragma once

#include <span>
#include <string_view>

#include "hv/abi/start_info.h"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest {

class StartInfo {
public:
    // Most memory ranges and modules a block may list; more is treated as corrupt.
    static constexpr u32 kMaxMemoryRanges = 128;
    static constexpr u32 kMaxModules = 16;

    // Checks the block at guest-physical `address`: magic, version (1 or later: versions
    // only append), size (at least this guest's struct), at least one vCPU, and that the
    // block, the command line (NUL-terminated within command_line_length + 1 bytes) and
    // the memory-range and module arrays lie inside guest RAM. `memory_base` is where guest
    // RAM starts in this program's address space (0 in a guest) and `accessible_bytes` how
    // much of it may be read (all of it in a guest; a test's buffer size).
    static Result<StartInfo> validate(u64 address, uptr memory_base = 0,
                                      u64 accessible_bytes = ~0ull);

    u64 address() const { return address_; }
    u32 version() const { return block().version; }
    u16 domid() const { return block().domid; }
    u16 vcpus() const { return block().vcpus; }
    u32 permissions() const { return block().permissions; }
    u32 functions() const { return block().functions; }
    u16 console_port() const { return block().console_port; }
    u64 memory_size() const { return block().memory_size; }
    u64 tsc_frequency_khz() const { return block().tsc_frequency_khz; }
    std::string_view command_line() const { return command_line_; }
    std::string_view name() const { return name_; }
    std::span<const u8, 16> uuid() const { return std::span<const u8, 16>(block().uuid); }
    std::span<const relay_memory_range> memory_ranges() const;
    std::span<const relay_start_module> modules() const;

    // Guest-physical ranges the block itself and what it points to occupy (block, command
    // line, arrays): memory a guest must not reuse while it still reads the block.
    struct Extent {
        u64 base;
        u64 size;
    };
    std::span<const Extent> extents() const { return {extents_, extent_count_}; }

    const relay_start_info& block() const {
        return *reinterpret_cast<const relay_start_info*>(memory_base_ + address_);
    }

private:
    uptr memory_base_ = 0;
    u64 address_ = 0;
    std::string_view command_line_;
    std::string_view name_;
    Extent extents_[4] = {};
    usize extent_count_ = 0;
};

}  // namespace relay::guest
