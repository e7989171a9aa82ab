// PCI configuration space for test guests (PCI Local Bus Specification 3.0, chapter 6):
// bus/device/function addresses, configuration mechanism #1 addresses, the type-0
// header's fields, finding a device, and decoding and sizing its BARs. Everything here
// goes through the ConfigSpace interface, so it is shared code tested on the host against
// a fake configuration space; the guest's port-I/O implementation is pci_ports.hpp.
//
// What a Relay domain sees (docs/iommu.md): only the devices assigned to it, at their host
// addresses, through mechanism #1; every other function reads as all ones. BARs read as the
// host programmed them and can be sized; of the writes only the Command register's I/O
// space, memory space, bus master and INTx-disable bits take effect.
#pragma once

#include <string_view>

#include "lib/format.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest::pci {

inline constexpr u8 kDevicesPerBus = 32;
inline constexpr u8 kFunctionsPerDevice = 8;

struct Bdf {
    u8 bus = 0;
    u8 device = 0;    // < kDevicesPerBus
    u8 function = 0;  // < kFunctionsPerDevice
    constexpr bool operator==(const Bdf&) const = default;
};

// "bb:dd.f" in lower-case hexadecimal, as lspci prints it ("00:04.0").
FixedString<7> format_bdf(Bdf bdf);

// Parses "BB:DD.F": two hexadecimal digits of bus, two of device (at most 0x1f), one of
// function (at most 7); either case.
Result<Bdf> parse_bdf(std::string_view text);

// Configuration mechanism #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2): write this to
// the address port, then access the data port at kConfigDataPort + (offset & 3).
inline constexpr u16 kConfigAddressPort = 0xCF8;
inline constexpr u16 kConfigDataPort = 0xCFC;
constexpr u32 config_address(Bdf bdf, u16 offset) {
    return 0x8000'0000u | static_cast<u32>(bdf.bus) << 16 |
           static_cast<u32>(bdf.device & 0x1F) << 11 | static_cast<u32>(bdf.function & 7) << 8 |
           (offset & 0xFCu);
}

// Type-0 header registers (PCI Local Bus Specification 3.0 §6.1, §6.2).
inline constexpr u16 kVendorIdOffset = 0x00;
inline constexpr u16 kDeviceIdOffset = 0x02;
inline constexpr u16 kCommandOffset = 0x04;
inline constexpr u16 kRevisionClassOffset = 0x08;    // revision, then the 24-bit class code
inline constexpr u16 kHeaderTypeDwordOffset = 0x0C;  // header type is byte 2 of this dword
inline constexpr u16 kBar0Offset = 0x10;
inline constexpr u8 kBarCount = 6;

inline constexpr u16 kNoVendor = 0xFFFF;  // what an absent function reads
inline constexpr u8 kHeaderTypeMultiFunction = 0x80;
inline constexpr u8 kHeaderLayoutMask = 0x7F;

inline constexpr u16 kCommandIoSpace = 1u << 0;
inline constexpr u16 kCommandMemorySpace = 1u << 1;
inline constexpr u16 kCommandBusMaster = 1u << 2;
inline constexpr u16 kCommandInterruptDisable = 1u << 10;

// Access to configuration space. Offsets are naturally aligned (read16/write16 at even
// offsets, read32/write32 at multiples of 4) and below 256.
class ConfigSpace {
public:
    virtual u32 read32(Bdf bdf, u16 offset) = 0;
    virtual u16 read16(Bdf bdf, u16 offset) = 0;
    virtual void write32(Bdf bdf, u16 offset, u32 value) = 0;
    virtual void write16(Bdf bdf, u16 offset, u16 value) = 0;

protected:
    ~ConfigSpace() = default;
};

struct DeviceIdentity {
    u16 vendor = kNoVendor;
    u16 device = 0xFFFF;
    u8 revision = 0;
    u32 class_code = 0;  // base class, subclass, programming interface
    u8 header_type = 0;  // with the multi-function bit
};

// The function's identity; false when nothing answers there (vendor 0xFFFF).
bool read_identity(ConfigSpace& config, Bdf bdf, DeviceIdentity* identity);

// The first function on `bus` with this vendor and device ID, in device then function
// order. Functions 1-7 are looked at only when function 0 says it is multi-function:
// a single-function device may answer on every function number.
bool find_device(ConfigSpace& config, u8 bus, u16 vendor, u16 device, Bdf* found);

enum class BarKind : u8 {
    kUnimplemented,  // reads as zero and sizes as zero
    kIo,
    kMemory32,
    kMemory64,  // takes this BAR and the next
};

const char* bar_kind_name(BarKind kind);

struct Bar {
    BarKind kind = BarKind::kUnimplemented;
    bool prefetchable = false;
    u64 address = 0;  // as programmed (I/O port or bus address)
    u64 size = 0;     // bytes (ports for I/O), a power of two, 0 when unimplemented
};

// The decoding arithmetic (PCI Local Bus Specification 3.0 §6.2.5.1). `value` is the BAR
// as read, `upper` the next BAR as read (used for 64-bit memory BARs only); the sized
// values are what the same registers read after all ones were written to them.
BarKind bar_kind(u32 value);
u64 bar_address(u32 value, u32 upper);
u64 bar_size(BarKind kind, u32 sized, u32 sized_upper);

// Reads BAR `index` of a type-0 header and sizes it the standard way: I/O and memory
// decoding off in the Command register, all ones written to the BAR (and its upper half),
// the mask read back, the original value written back, the Command register restored.
// Fails for a header that is not type 0, an index of 6 or more, or a 64-bit BAR in the
// last slot.
Result<Bar> read_bar(ConfigSpace& config, Bdf bdf, u8 index);

// Sets `bits` in the Command register (read, OR, write) and returns what it reads
// afterwards, so the caller can check the bits took effect.
u16 enable_command_bits(ConfigSpace& config, Bdf bdf, u16 bits);

}  // namespace relay::guest::pci
