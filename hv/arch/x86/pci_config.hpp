// PCI configuration space of the host, through configuration mechanism #1 (ports 0xCF8
// address, 0xCFC-0xCFF data; PCI Local Bus Specification 3.0 §3.2.2.3.2). One lock
// serialises every access, since the address and data ports are one shared pair.
// Segment 0 only (the mechanism has no segment); registers 0-255.
#pragma once

#include "lib/pci_function.hpp"
#include "lib/types.hpp"

namespace relay::pci {

// Standard header offsets (PCI 3.0 §6.1).
namespace reg {
inline constexpr u16 kVendorId = 0x00;
inline constexpr u16 kDeviceId = 0x02;
inline constexpr u16 kCommand = 0x04;
inline constexpr u16 kStatus = 0x06;
inline constexpr u16 kClassRevision = 0x08;
inline constexpr u16 kHeaderType = 0x0E;
inline constexpr u16 kBar0 = 0x10;
inline constexpr u16 kBar5 = 0x24;
inline constexpr u16 kCapabilities = 0x34;
}  // namespace reg

namespace command {
inline constexpr u16 kIoSpace = 1u << 0;
inline constexpr u16 kMemorySpace = 1u << 1;
inline constexpr u16 kBusMaster = 1u << 2;
inline constexpr u16 kInterruptDisable = 1u << 10;
}  // namespace command

// Status register bits (PCI 3.0 §6.2.3); the error bits are write-1-to-clear.
namespace status {
inline constexpr u16 kSignaledTargetAbort = 1u << 11;
}  // namespace status

// `width` is 1, 2 or 4 and `offset` aligned to it; segment must be 0.
u32 config_read(const PciFunction& function, u16 offset, u8 width);
void config_write(const PciFunction& function, u16 offset, u8 width, u32 value);

// A function answers (its vendor ID is not all ones).
bool function_present(const PciFunction& function);

}  // namespace relay::pci
