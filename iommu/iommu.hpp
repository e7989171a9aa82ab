// Iommu: what the hypervisor asks of one IOMMU unit, whoever made it. AMD-Vi implements it
// (iommu/amd_vi_driver.hpp); VT-d will. The hypervisor builds each domain's I/O page table
// (for AMD-Vi, iommu/io_page_table.hpp, IOVA = guest-physical address), then:
//
//   attach(device, domain)    translate the device's DMA through the domain's table
//   block(device)             refuse all of the device's DMA
//   flush(domain, iova, size) after changing the domain's table: drop what the unit cached
//   poll_events(...)          faults and errors the unit reported, decoded
//   describe(&state)          what a live update's successor needs to adopt the unit
//
// Devices are named by their requester id as the unit sees it: for a device behind an
// alias (IVRS alias entries, PCIe-to-PCI bridges) that is the alias, which the caller
// resolves (amd_vi::IvrsInfo::unit_for + DeviceRange::requester_id). Every call that
// changes translation returns only once the unit has completed it, or with an error that
// names what did not happen. Freestanding and hosted.
#pragma once

#include "iommu/device_id.hpp"
#include "lib/address.hpp"
#include "lib/format.hpp"
#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::iommu {

enum class Vendor : u8 {
    kAmdVi = 1,
    kVtd = 2,
};

// A domain's I/O address space: the root of its I/O page table (in the vendor's format),
// the table's depth, and the tag the unit caches translations under.
struct IoDomain {
    u16 domain_id = 0;  // 1..65535; 0 is reserved (blocked devices carry it)
    HostPhysAddr page_table_root;
    u8 levels = 0;
    bool read = true;  // device-wide permissions, ANDed with each page's
    bool write = true;
};

enum class EventKind : u8 {
    kDmaFault,          // a device's request was not translated (not mapped, not permitted)
    kDeviceTableError,  // the unit found a device's entry malformed
    kHardwareError,     // a table or command fetch failed on the bus
    kCommandError,      // a command was illegal or timed out
    kLogOverflow,       // the unit's log was full: events were lost (the log was restarted)
    kOther,
};

const char* event_kind_name(EventKind kind);

struct IommuEvent {
    static constexpr usize kTextCapacity = 160;

    EventKind kind = EventKind::kOther;
    DeviceId device;
    u16 domain_id = 0;
    u64 address = 0;
    bool write = false;
    FixedString<kTextCapacity> text;  // one line, in the vendor's words
};

// What a successor needs to adopt a running unit: where its registers are and the
// memory it reads and writes by itself (besides the domains' page tables, which the
// domains' state references). Every range must be preserved across the handover.
struct IommuState {
    Vendor vendor = Vendor::kAmdVi;
    PciDevice unit;              // the unit's own PCI function
    HostPhysAddr register_base;  // of its MMIO block
    // AMD-Vi: device table / command buffer / event log / completion-wait store.
    // VT-d: root table / invalidation queue / page request queue / wait-descriptor status.
    HostPhysRange root_table;
    HostPhysRange command_queue;
    HostPhysRange event_log;
    HostPhysRange completion_store;
    u64 completion_sequence = 0;  // the last value the unit was asked to store

    static constexpr usize kMaxPreservedRanges = 4;
    // The ranges above, non-empty ones only; returns how many.
    usize preserved_ranges(HostPhysRange* out, usize capacity) const;
};

class Iommu {
public:
    virtual Vendor vendor() const = 0;
    // Points the device at the domain's I/O page table. Whatever the device had before is
    // replaced; translations cached for its previous domain are dropped.
    virtual Status attach(DeviceId device, const IoDomain& domain) = 0;
    // Refuses every DMA request of the device from now on.
    virtual Status block(DeviceId device) = 0;
    // Drops cached translations of [iova, iova + size) in the domain; call after map and
    // unmap (freed table frames may be reused only after this returns).
    virtual Status flush(u16 domain_id, GuestPhysAddr iova, u64 size) = 0;
    virtual Status flush_domain(u16 domain_id) = 0;
    // Moves up to `capacity` reported events into `out` (oldest first) and sets `*count`.
    // Events beyond `capacity` stay queued for the next call.
    virtual Status poll_events(IommuEvent* out, usize capacity, usize* count) = 0;
    virtual Status describe(IommuState* out) const = 0;

protected:
    ~Iommu() = default;
};

}  // namespace relay::iommu
