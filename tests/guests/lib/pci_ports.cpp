#include "tests/guests/lib/pci_ports.hpp"

#include "tests/guests/lib/cpu.hpp"

namespace relay::guest::pci {

namespace {

// The data port for `offset`: 0xCFC plus the offset's byte within its dword.
u16 data_port(Bdf bdf, u16 offset) {
    port_write32(kConfigAddressPort, config_address(bdf, offset));
    return static_cast<u16>(kConfigDataPort + (offset & 3));
}

}  // namespace

u32 PortConfigSpace::read32(Bdf bdf, u16 offset) {
    return port_read32(data_port(bdf, offset));
}

u16 PortConfigSpace::read16(Bdf bdf, u16 offset) {
    return port_read16(data_port(bdf, offset));
}

void PortConfigSpace::write32(Bdf bdf, u16 offset, u32 value) {
    port_write32(data_port(bdf, offset), value);
}

void PortConfigSpace::write16(Bdf bdf, u16 offset, u16 value) {
    port_write16(data_port(bdf, offset), value);
}

}  // namespace relay::guest::pci
