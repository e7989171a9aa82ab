// An assigned PCI function's configuration space as its domain sees it (docs/iommu.md,
// "Configuration space"): reads pass through to the device, except that BARs read as the
// host programmed them (sizing works: write all ones, read the size mask) and the
// expansion ROM BAR reads as absent; of the writes, only the Command register's I/O
// space, memory space, bus master and INTx-disable bits reach the device, everything else
// is dropped. Pure logic over a ConfigAccess, so it is unit-tested on the host against a
// fake device. Freestanding and hosted.
#pragma once

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::pci {

// One function's configuration registers (the host's real ones, or a test's fake).
class ConfigAccess {
public:
    // `width` is 1, 2 or 4 and `offset` is aligned to it.
    virtual u32 read(u16 offset, u8 width) = 0;
    virtual void write(u16 offset, u8 width, u32 value) = 0;

protected:
    ~ConfigAccess() = default;
};

struct Bar {
    enum class Kind : u8 { kNone, kMemory32, kMemory64, kIo };
    Kind kind = Kind::kNone;
    u64 base = 0;
    u64 size = 0;
    bool prefetchable = false;

    bool is_memory() const { return kind == Kind::kMemory32 || kind == Kind::kMemory64; }
};

struct FunctionBars {
    static constexpr usize kCount = 6;
    // Index = BAR register number; the upper half of a 64-bit BAR has kind kNone.
    Bar bars[kCount];
};

// Reads a type-0 function's BARs and sizes them (decoding off meanwhile, then restored).
// A bridge (header type 1) or a BAR the device programs inconsistently is an error.
Result<FunctionBars> probe_bars(ConfigAccess& config);

// The registers a BAR presents: value with base and type bits; `upper` for the high half
// of a 64-bit BAR. Exposed for tests.
u32 bar_register(const Bar& bar, bool upper, bool sizing);

class FunctionConfig {
public:
    FunctionConfig() = default;
    explicit FunctionConfig(const FunctionBars& bars) : bars_(bars) {}

    const FunctionBars& bars() const { return bars_; }

    u32 read(ConfigAccess& device, u16 offset, u8 width);
    void write(ConfigAccess& device, u16 offset, u8 width, u32 value);

    static constexpr u16 kCommandMask = 0x0407;  // I/O, memory, bus master, INTx disable

private:
    u32 read_dword(ConfigAccess& device, u16 offset);
    FunctionBars bars_;
    bool sizing_[FunctionBars::kCount] = {};
};

}  // namespace relay::pci
