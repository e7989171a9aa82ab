// Assigned PCI functions (docs/iommu.md): what a domain gets of a device assigned with
// relay,passthrough, apart from the IOMMU (iommu/, hv/iommu_host.hpp): its memory BARs
// mapped into the domain at their host addresses, uncached, and its configuration space
// through the domain's emulated configuration mechanism #1 (ports 0xCF8-0xCFF; the
// filtering rules are hv/pci/function_config.hpp's).
#pragma once

#include <span>

#include "hv/domain.hpp"
#include "lib/pci_function.hpp"
#include "lib/result.hpp"

namespace relay {

// Checks that a function can be assigned: it answers, is an endpoint, its BARs size
// consistently. Nothing is changed. (Boot-time configuration check.)
Status passthrough_check(const PciFunction& function);

// A newly built domain: probes each function, stops its bus mastering until the guest
// enables it, maps its memory BARs (guest-physical = host-physical) as device-memory
// extents after the domain's RAM, and records it. I/O BARs are not mapped.
Status passthrough_attach(Domain& domain, std::span<const PciFunction> functions);

// A domain restored from a stream: its BAR extents are already among its extents (the
// stream carries them); the functions are live and keep running, so nothing on them is
// written: their BARs are read back and matched with those extents.
Status passthrough_restore(Domain& domain, std::span<const PciFunction> functions);

// The domain's accesses to ports 0xCF8-0xCFF. Returns false for other ports, and for a
// domain without assigned functions (it has no PCI: the ports read as all ones).
bool passthrough_port_in(Domain& domain, u16 port, u8 size, u32* value);
bool passthrough_port_out(Domain& domain, u16 port, u8 size, u32 value);

// The domain crashed or shut down: its functions stop decoding and bus mastering (no
// more DMA into memory kept for inspection); they stay assigned until it is destroyed.
// False when a function could not be blocked in the IOMMU (iommu_host::detach_domain):
// the domain's memory must then be kept.
bool passthrough_stop(Domain& domain);

// The domain is going away: its functions stop and are no longer assigned. False as
// passthrough_stop().
bool passthrough_release(Domain& domain);

}  // namespace relay
