// PCI configuration space through configuration mechanism #1 (ports 0xCF8/0xCFC), the one
// Relay emulates for assigned devices (docs/iommu.md). Guest-only. The address and data
// ports are one shared register pair: use it from one vCPU at a time.
#pragma once

#include "tests/guests/lib/pci.hpp"

namespace relay::guest::pci {

class PortConfigSpace final : public ConfigSpace {
public:
    u32 read32(Bdf bdf, u16 offset) override;
    u16 read16(Bdf bdf, u16 offset) override;
    void write32(Bdf bdf, u16 offset, u32 value) override;
    void write16(Bdf bdf, u16 offset, u16 value) override;
};

}  // namespace relay::guest::pci
