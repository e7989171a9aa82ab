// The hypervisor's IOMMU (docs/iommu.md): the AMD-Vi units the IVRS table describes,
// driven through iommu/ (AmdViDriver, IoPageTable) over the direct map and the units'
// MMIO registers.
//
//   first boot    every unit gets a device table with every device blocked, a command
//                 buffer, an event log, and translation on: no DMA reaches memory unless
//                 Relay maps it for the device.
//   assignment    a domain with assigned PCI functions gets one I/O page table mapping its
//                 RAM (IOVA = guest-physical, 2 MiB pages where the extents allow), the
//                 same mapping as its nested page table; each function's device table entry
//                 points at it (tag = domid).
//   faults        the scheduler on CPU 0 drains the event logs every few milliseconds and
//                 reports each fault on the console, naming device, domain and address.
//   live update   the stream records each unit (registers, device table, rings) and each
//                 assignment (root, levels, tag) and preserves every table frame; the
//                 target claims those frames before anything is allocated, adopts the units
//                 without disabling translation, checks each domain's table maps exactly its
//                 RAM, and goes on using it. Devices keep doing DMA throughout.
#pragma once

#include "hv/domain.hpp"
#include "iommu/iommu.hpp"
#include "lib/address.hpp"
#include "lib/pci_function.hpp"
#include "lib/result.hpp"
#include "schema/relay_generated.h"

namespace relay::iommu_host {

inline constexpr usize kMaxUnits = 4;
// The table frame ranges of all units that a target claims from a stream (and checks
// adopted tables against); a producer with more refuses to update before pausing.
inline constexpr usize kMaxPreservedFrameRanges = 512;

// Keeps a copy of the IVRS table while the early map of firmware memory still reaches it;
// the hypervisor's own address space does not map firmware tables. `table` null: there is
// none (length 0) or it cannot be reached (length > 0). One that cannot be kept (error)
// leaves Relay without an IOMMU, and assignments refused with a message saying why.
Status save_ivrs(const u8* table, usize length);

// First boot: sets up every unit the IVRS table describes. No IVRS is no IOMMU (devices
// then cannot be assigned); an IVRS Relay cannot use is an error.
Status init();

// A boot from a stream (live update or rollback): adopts the units the stream describes,
// which must be the ones the IVRS table describes, without writing a base register or
// the control register. Domains adopt their tables later (adopt_domain).
Status adopt(const schema::IommuState* state);

// Claims (frame allocator) every table frame the stream preserves for the IOMMU: before
// anything is allocated. Returns the first range that could not be claimed.
Status claim_table_frames(const schema::IommuState* state);

bool available();
usize unit_count();

// Whether `function` can be assigned: a unit translates its requests.
Status check_function(const PciFunction& function);

// Whether `a` and `b` reach the same unit with the same requester id (an IVRS alias, for
// example behind a PCIe-to-PCI bridge): they share one device table entry, so they can
// only belong to the same domain. On true, `requester` gets the shared id.
bool share_requester(const PciFunction& a, const PciFunction& b, iommu::DeviceId* requester);

// A new domain: builds its I/O page table from its RAM extents and points each of its
// assigned functions at it. Nothing is left half done on failure (devices stay blocked).
Status attach_domain(Domain& domain);

// A domain restored from a stream: takes its I/O page table over from the stream's
// assignments after checking that the table maps exactly the domain's RAM, that every
// table frame was preserved, and that each function's device table entry points at it.
Status adopt_domain(Domain& domain);

// After every domain of a stream was restored: each assignment the stream records as
// translated was adopted by its domain (kCorrupt naming it otherwise: its entry would
// point at a table no domain owns), and the blocked ones are blocked.
Status finish_adoption();
// Once no rollback can hand the units back to the previous build (which may be older and
// refuse this build's rules): closes interrupt paths an older build left open and sets
// the control bits this build's init() sets. Failures are logged; nothing is undone.
void commit_adoption();

// Test only (test_fail_update=target-adopt): as if no domain had adopted its functions.
void test_forget_adoptions();

// The domain stopped (crashed, shut down) or is going away: its functions are blocked
// and its table is freed. Safe to call more than once. False when a function could not
// be blocked: the table is kept, and the domain's RAM must be too, since the device may
// still reach it.
bool detach_domain(Domain& domain);

// Reports what the units logged (CPU 0's scheduler loop calls it; rate-limited inside).
void poll_events();

// ---- Live update (liveupdate/state_writer.cpp, live_update.cpp) ----

// Runs on every domain's I/O page table the checks a target runs before adopting it
// (live_update's pre-flight): a table the target would refuse would be refused by the
// rollback too, and every domain would be lost.
Status check_domains();

struct UnitSnapshot {
    iommu::IommuState state;
    u64 control = 0;
    bool translation_enabled = false;
};
Status describe_unit(usize index, UnitSnapshot* out);

// The unit whose device table governs `function`, or -1.
int unit_of(const PciFunction& function);

// Every frame the unit and the tables of its devices' domains occupy, merged where
// contiguous, in `out` (at most `capacity`); returns how many there are (may exceed
// `capacity`: then call again with more room).
usize table_frames(usize unit, HostPhysRange* out, usize capacity);
// An upper bound of table_frames() over all units.
usize table_frame_bound();

}  // namespace relay::iommu_host
