#include "hv/iommu_host.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/arch/x86/pci_config.hpp"
#include "hv/arch/x86/time.hpp"
#include "hv/console.hpp"
#include "hv/lib/spinlock.hpp"
#include "hv/memory/address_space.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/memory/temporary_frames.hpp"
#include "iommu/amd_vi.hpp"
#include "iommu/amd_vi_driver.hpp"
#include "iommu/fault_report.hpp"
#include "iommu/io_page_table.hpp"
#include "iommu/ivrs.hpp"
#include "lib/heap_sort.hpp"
#include "lib/static_storage.hpp"

namespace relay::iommu_host {
namespace {

namespace fbs = relay::schema;
using amd_vi::AmdViDriver;
using iommu::DeviceId;
using IoTable = amd_vi::IoPageTable<HypervisorTableMemory>;

// The unit's MMIO register block (AMD IOMMU spec #48882 §3.4: 16 KiB with the
// performance counters; Relay uses the first 8 KiB and the head/tail block at 0x2000).
constexpr u64 kRegisterBlockSize = 16 * KiB;
// Every device id has an entry: 64 Ki entries of 32 bytes, 2 MiB.
constexpr u32 kDeviceTableEntries = amd_vi::kMaxDeviceTableEntries;
constexpr u32 kDeviceTableOrder = 9;
// 512 commands and 512 events: 8 KiB each.
constexpr u32 kRingEntries = 512;
constexpr u32 kRingOrder = 1;
// How often CPU 0 drains the event logs, and how many events it reports per drain.
constexpr u64 kPollIntervalMicroseconds = 5'000;
constexpr usize kEventsPerPoll = 8;

class MmioRegisters final : public amd_vi::RegisterAccess {
public:
    void set_base(HvVirtAddr base) { base_ = base.raw(); }
    u64 read(u32 offset) override { return *reinterpret_cast<volatile u64*>(base_ + offset); }
    void write(u32 offset, u64 value) override {
        *reinterpret_cast<volatile u64*>(base_ + offset) = value;
    }

private:
    u64 base_ = 0;
};

class DirectMapMemory final : public amd_vi::DmaMemory {
public:
    u64 read(HostPhysAddr address) override {
        return __atomic_load_n(phys_to_virt<u64>(address), __ATOMIC_ACQUIRE);
    }
    void write(HostPhysAddr address, u64 value) override {
        __atomic_store_n(phys_to_virt<u64>(address), value, __ATOMIC_RELEASE);
    }
};

class TscClock final : public amd_vi::Clock {
public:
    u64 now_ns() override { return x86::tsc_to_microseconds(x86::rdtsc()) * 1000; }
};

struct Unit {
    amd_vi::IommuUnit ivrs;
    MmioRegisters registers;
    DirectMapMemory memory;
    TscClock clock;
    AmdViDriver driver{registers, memory, clock};
    HostPhysAddr completion_store;  // this build's own (not preserved)
    iommu::FaultReporter reporter;  // what of the unit's faults reaches the console
    bool log_unreadable = false;    // the last poll could not read the event log (said once)
};

// An assignment a stream describes, waiting for its domain to be restored.
struct PendingAssignment {
    u8 unit = 0;
    u16 bdf = 0;
    u16 domid = 0;
    u16 tag = 0;
    HostPhysAddr root;
    u8 levels = 0;
    bool adopted = false;
};
constexpr usize kMaxPending = kMaxDomains * kMaxAssignedFunctions;

struct State {
    amd_vi::IvrsInfo ivrs;
    usize unit_count = 0;
    Unit units[kMaxUnits];
    Spinlock lock;
    // Every domain table's guard entries point here (IoPageTable::seal()): a zeroed
    // frame no walk ever uses (a guard grants nothing), so it need not survive a handover.
    HostPhysAddr guard;
    u64 next_poll_tsc = 0;
    u8 ivrs_copy[16 * KiB];
    usize ivrs_length = 0;
    const char* absence = "no IVRS table: the machine has no AMD-Vi IOMMU";

    usize pending_count = 0;
    PendingAssignment pending[kMaxPending];
    usize preserved_count = 0;
    HostPhysRange preserved[kMaxPreservedFrameRanges];
};

StaticStorage<State> storage;
bool constructed = false;

State& state() {
    if (!constructed) {
        storage.construct();
        constructed = true;
    }
    return storage.get();
}

Result<HostPhysAddr> allocate_zeroed(u32 order) {
    RELAY_TRY_ASSIGN(frame, allocate_frames(order));
    u64* words = phys_to_virt<u64>(frame);
    for (u64 i = 0; i < (kPageSize4K << order) / 8; ++i) {
        words[i] = 0;
    }
    return frame;
}

Status parse_ivrs_table() {
    State& s = state();
    if (s.ivrs_length == 0) {
        return ok_status();
    }
    Status parsed = amd_vi::parse_ivrs(s.ivrs_copy, s.ivrs_length, &s.ivrs);
    if (!parsed.ok()) {
        return parsed.error().prefix("IVRS: ");
    }
    if (s.ivrs.unit_count == 0) {
        s.absence = "the IVRS table describes no IOMMU unit";
        return ok_status();
    }
    if (s.ivrs.unit_count > kMaxUnits) {
        return make_error(ErrorCode::kUnsupported, "IVRS: {} IOMMU units, Relay drives at most {}",
                          s.ivrs.unit_count, kMaxUnits);
    }
    return ok_status();
}

Status allocate_guard() {
    State& s = state();
    if (s.guard.raw() == 0) {
        RELAY_TRY_ASSIGN(guard, allocate_zeroed(0));
        s.guard = guard;
    }
    return ok_status();
}

Status map_registers(Unit& unit) {
    RELAY_TRY_ASSIGN(mapped,
                     hypervisor_address_space().map_mmio(unit.ivrs.mmio_base, kRegisterBlockSize));
    unit.registers.set_base(mapped);
    RELAY_TRY_ASSIGN(store, allocate_zeroed(0));
    unit.completion_store = store;
    return ok_status();
}

iommu::PciDevice pci_device_of(const amd_vi::IommuUnit& unit) {
    return iommu::PciDevice{unit.pci_segment, unit.device_id};
}

// The unit translating `function` and the device id its device table entry has.
struct Route {
    int unit = -1;
    DeviceId requester;
};

Route route_of(const PciFunction& function) {
    State& s = state();
    const amd_vi::DeviceRange* range = nullptr;
    const amd_vi::IommuUnit* unit =
        s.ivrs.unit_for(function.segment, DeviceId(function.bdf()), &range);
    if (unit == nullptr || s.unit_count == 0) {
        return Route{};
    }
    Route route;
    route.unit = static_cast<int>(unit - s.ivrs.units);
    route.requester =
        range != nullptr ? range->requester_id(DeviceId(function.bdf())) : DeviceId(function.bdf());
    return route;
}

u16 tag_of(const Domain& domain) {
    return domain.domid;  // domids start at 1; tag 0 marks blocked devices
}

IoTable table_of(Domain& domain) {
    return IoTable(domain.table_memory, domain.io_root, domain.io_levels);
}

// The IOVA limit a domain's table must reach: the end of its RAM.
u64 ram_end(const Domain& domain) {
    u64 end = 0;
    for (usize i = 0; i < domain.extent_count; ++i) {
        const GuestMemoryExtent& extent = domain.extents[i];
        if (!extent.is_mmio() && extent.guest.raw() + extent.size > end) {
            end = extent.guest.raw() + extent.size;
        }
    }
    return end;
}

// Blocks every function of `domain` that points at its table; returns the first error
// (and goes on with the others).
Status block_functions(Domain& domain) {
    State& s = state();
    Status first = ok_status();
    for (usize i = 0; i < domain.assigned_count; ++i) {
        AssignedFunction& assigned = domain.assigned[i];
        if (!assigned.translated) {
            continue;
        }
        Route route = route_of(assigned.function);
        Status blocked = route.unit < 0 ? make_error(ErrorCode::kNotFound, "no IOMMU unit")
                                        : s.units[route.unit].driver.block(route.requester);
        if (!blocked.ok()) {
            log_error("iommu: domain {}: blocking {}: {}", domain.domid,
                      pci_function_text(assigned.function).view(), blocked.error().message());
            if (first.ok()) {
                first = blocked;
            }
            continue;
        }
        assigned.translated = false;
    }
    return first;
}

void free_table(Domain& domain) {
    if (domain.io_root.raw() != 0) {
        IoTable table = table_of(domain);
        table.destroy();
        domain.io_root = HostPhysAddr(0);
        domain.io_levels = 0;
    }
}

bool inside(const HostPhysRange* ranges, usize count, HostPhysAddr frame) {
    for (usize i = 0; i < count; ++i) {
        if (ranges[i].contains(frame)) {
            return true;
        }
    }
    return false;
}

// Calls visit(HostPhysAddr frame) for every 4 KiB frame unit `index` owns: its device
// table, rings, and the I/O page tables of the domains with a function on it.
template <typename Visit>
void for_each_unit_frame(usize index, Visit&& visit) {
    State& s = state();
    iommu::IommuState described;
    if (!s.units[index].driver.describe(&described).ok()) {
        return;
    }
    const HostPhysRange buffers[] = {described.root_table, described.command_queue,
                                     described.event_log};
    for (const HostPhysRange& range : buffers) {
        for (u64 offset = 0; offset < range.size(); offset += kPageSize4K) {
            visit(range.base() + offset);
        }
    }
    domain_for_each([&](Domain& domain) {
        if (domain.io_root.raw() == 0) {
            return;
        }
        // A domain's table is listed once: with the unit of its first translated function.
        int owner = -1;
        for (usize i = 0; i < domain.assigned_count && owner < 0; ++i) {
            if (domain.assigned[i].translated) {
                owner = route_of(domain.assigned[i].function).unit;
            }
        }
        if (owner == static_cast<int>(index)) {
            table_of(domain).for_each_table([&](HostPhysAddr frame) { visit(frame); });
        }
    });
}

// Checks that the I/O page table at `root` is in Relay's format, lies outside the domain's
// memory with every frame linked once and accepted by check_frame(frame) -> Status, and
// maps exactly the domain's RAM (IOVA = guest-physical, each page where the extents put
// it, all of it). What a live update's target requires before it adopts a table, and what
// the producer checks before it offers one.
// The most table frames a table of `levels` levels can need for the domain's RAM: per
// extent and level below the root, one table per span that level covers, plus two for
// the partial spans at the extent's ends. A bound on the walk of a hostile table too.
u64 domain_table_frame_bound(const Domain& domain, u8 levels) {
    u64 bound = 1;  // the root
    for (usize i = 0; i < domain.extent_count; ++i) {
        const GuestMemoryExtent& extent = domain.extents[i];
        if (extent.is_mmio()) {
            continue;
        }
        for (u8 level = 1; level < levels; ++level) {
            u64 span = kPageSize4K << (9 * level);  // a level-1 table maps 2 MiB
            bound += extent.size / span + 2;
        }
    }
    return bound;
}

template <typename CheckFrame>
Status check_domain_table(Domain& domain, HostPhysAddr root, u8 levels, CheckFrame&& check_frame) {
    if (levels < 1 || levels > 6) {
        return make_error(ErrorCode::kCorrupt, "domain {}: I/O page table of {} levels",
                          domain.domid, levels);
    }
    // Scratch from the allocator: both arrays grow with the domain.
    usize ram_extents = 0;
    u64 ram = 0;
    for (usize i = 0; i < domain.extent_count; ++i) {
        if (!domain.extents[i].is_mmio()) {
            ++ram_extents;
            ram += domain.extents[i].size;
        }
    }
    u64 frame_bound = domain_table_frame_bound(domain, levels);
    TemporaryFrames allowed_frames;
    TemporaryFrames seen_frames;
    RELAY_TRY(allowed_frames.allocate((ram_extents + 1) * sizeof(HostPhysRange)));
    RELAY_TRY(seen_frames.allocate(frame_bound * sizeof(HostPhysAddr)));
    HostPhysRange* allowed = allowed_frames.as<HostPhysRange>();
    usize allowed_count = 0;
    for (usize i = 0; i < domain.extent_count; ++i) {
        const GuestMemoryExtent& extent = domain.extents[i];
        if (!extent.is_mmio()) {
            allowed[allowed_count++] = HostPhysRange::unchecked(extent.host, extent.size);
        }
    }
    RELAY_TRY_ASSIGN(table, IoTable::adopt(domain.table_memory, root, levels));
    HostPhysAddr* seen = seen_frames.as<HostPhysAddr>();
    usize seen_count = 0;
    Status valid = table.validate(allowed, allowed_count, [&](HostPhysAddr frame, u8) -> Status {
        if (seen_count == frame_bound) {
            return make_error(ErrorCode::kCorrupt,
                              "more than {} table frames, the most {:#x} bytes of RAM in {} "
                              "extents can need",
                              frame_bound, ram, ram_extents);
        }
        seen[seen_count++] = frame;
        return check_frame(frame);
    });
    if (valid.ok()) {
        // Each frame linked once: sorted, a frame linked twice sits next to itself.
        heap_sort(seen, seen_count, [](HostPhysAddr a, HostPhysAddr b) { return a < b; });
        for (usize k = 1; k < seen_count && valid.ok(); ++k) {
            if (seen[k] == seen[k - 1]) {
                valid = make_error(ErrorCode::kCorrupt, "table frame {} is linked twice", seen[k]);
            }
        }
    }
    if (!valid.ok()) {
        return valid.error().prefix("domain {}: I/O page table at {}: ", domain.domid, root);
    }
    u64 mapped = 0;
    Status exact = ok_status();
    table.for_each_mapping(
        [&](GuestPhysAddr iova, HostPhysAddr host, u64 size, amd_vi::IoPermissions) {
            if (!exact.ok()) {
                return;
            }
            bool matches = false;
            for (usize e = 0; e < domain.extent_count && !matches; ++e) {
                const GuestMemoryExtent& extent = domain.extents[e];
                matches = !extent.is_mmio() && iova.raw() >= extent.guest.raw() &&
                          iova.raw() + size <= extent.guest.raw() + extent.size &&
                          host.raw() == extent.host.raw() + (iova.raw() - extent.guest.raw());
            }
            if (!matches) {
                exact = make_error(ErrorCode::kCorrupt,
                                   "IOVA {:#x} -> {} ({:#x} bytes) is not where the domain's "
                                   "memory is",
                                   iova.raw(), host, size);
            }
            mapped += size;
        });
    if (exact.ok() && mapped != ram) {
        exact = make_error(ErrorCode::kCorrupt,
                           "it maps {:#x} bytes, the domain has {:#x} bytes of RAM", mapped, ram);
    }
    if (!exact.ok()) {
        return exact.error().prefix("domain {}: I/O page table at {}: ", domain.domid, root);
    }
    return ok_status();
}

Status init_units();

}  // namespace

Status save_ivrs(const u8* table, usize length) {
    State& s = state();
    if (table == nullptr) {
        s.ivrs_length = 0;
        if (length != 0) {
            s.absence = "the IVRS table could not be read (see the boot log)";
        }
        return ok_status();
    }
    if (length > sizeof(s.ivrs_copy)) {
        s.ivrs_length = 0;
        s.absence = "the IVRS table could not be read (see the boot log)";
        return make_error(ErrorCode::kUnsupported, "IVRS: {} bytes, Relay keeps at most {}", length,
                          sizeof(s.ivrs_copy));
    }
    for (usize i = 0; i < length; ++i) {
        s.ivrs_copy[i] = table[i];
    }
    s.ivrs_length = length;
    return ok_status();
}

bool available() {
    return state().unit_count > 0;
}

usize unit_count() {
    return state().unit_count;
}

Status init() {
    Status status = init_units();
    if (!status.ok()) {
        state().unit_count = 0;  // no assignments: a unit Relay cannot drive protects nothing
        state().absence = "the IOMMU could not be set up (see the boot log)";
    }
    return status;
}

namespace {
Status init_units() {
    State& s = state();
    RELAY_TRY(parse_ivrs_table());
    RELAY_TRY(allocate_guard());
    for (usize u = 0; u < s.ivrs.unit_count; ++u) {
        Unit& unit = s.units[u];
        unit.ivrs = s.ivrs.units[u];
        RELAY_TRY(map_registers(unit));
        amd_vi::AmdViConfig config;
        config.unit = pci_device_of(unit.ivrs);
        config.mmio_base = unit.ivrs.mmio_base;
        RELAY_TRY_ASSIGN(device_table, allocate_zeroed(kDeviceTableOrder));
        RELAY_TRY_ASSIGN(commands, allocate_zeroed(kRingOrder));
        RELAY_TRY_ASSIGN(events, allocate_zeroed(kRingOrder));
        config.device_table = {device_table, kDeviceTableEntries};
        config.command_buffer = {commands, kRingEntries};
        config.event_log = {events, kRingEntries};
        config.completion_store = unit.completion_store;
        config.ivhd_flags = unit.ivrs.flags;
        Status started = unit.driver.init(config);
        if (!started.ok()) {
            return started.error().prefix("AMD-Vi unit {} ({}) at {}: ", u,
                                          unit.ivrs.device_id.text().view(), unit.ivrs.mmio_base);
        }
        s.unit_count = u + 1;
        log_info("iommu: AMD-Vi unit {} ({}) at {}: translation on, {} devices blocked, EFR {:#x}",
                 u, unit.ivrs.device_id.text().view(), unit.ivrs.mmio_base, kDeviceTableEntries,
                 unit.driver.extended_features());
    }
    return ok_status();
}
}  // namespace

Status claim_table_frames(const schema::IommuState* stream_state) {
    State& s = state();
    s.preserved_count = 0;
    if (stream_state == nullptr || stream_state->units() == nullptr) {
        return ok_status();
    }
    for (const fbs::IommuUnit* unit : *stream_state->units()) {
        if (unit->table_frames() == nullptr) {
            continue;
        }
        for (const fbs::HostRange* frames : *unit->table_frames()) {
            auto range = HostPhysRange::unchecked(HostPhysAddr(frames->base()), frames->size());
            if (s.preserved_count == kMaxPreservedFrameRanges) {
                return make_error(ErrorCode::kOutOfRange,
                                  "IOMMU: more than {} table frame ranges in the stream",
                                  kMaxPreservedFrameRanges);
            }
            Status claimed = claim_frames(range);
            if (!claimed.ok()) {
                return claimed.error().prefix("IOMMU table frames {}+{:#x}: ", range.base(),
                                              range.size());
            }
            s.preserved[s.preserved_count++] = range;
        }
    }
    return ok_status();
}

Status adopt(const schema::IommuState* stream_state) {
    State& s = state();
    RELAY_TRY(parse_ivrs_table());
    RELAY_TRY(allocate_guard());
    usize described = stream_state != nullptr && stream_state->units() != nullptr
                          ? stream_state->units()->size()
                          : 0;
    if (described != s.ivrs.unit_count) {
        return make_error(ErrorCode::kUnsupported,
                          "IOMMU: the stream describes {} units, this machine's IVRS {}", described,
                          s.ivrs.unit_count);
    }
    s.pending_count = 0;
    for (usize u = 0; u < described; ++u) {
        const fbs::IommuUnit& recorded = *stream_state->units()->Get(static_cast<u32>(u));
        Unit& unit = s.units[u];
        unit.ivrs = s.ivrs.units[u];
        if (recorded.kind() != fbs::IommuKind::AmdVi ||
            recorded.register_base() != unit.ivrs.mmio_base.raw() ||
            recorded.bdf() != unit.ivrs.device_id.raw ||
            recorded.segment() != unit.ivrs.pci_segment) {
            return make_error(ErrorCode::kUnsupported,
                              "IOMMU unit {}: the stream's unit ({:04x}:{:#06x} at {:#x}) is not "
                              "this machine's ({:04x}:{} at {})",
                              u, recorded.segment(), recorded.bdf(), recorded.register_base(),
                              unit.ivrs.pci_segment, unit.ivrs.device_id.text().view(),
                              unit.ivrs.mmio_base);
        }
        if (recorded.root_table() == nullptr || recorded.command_buffer() == nullptr ||
            recorded.event_log() == nullptr || !recorded.translation_enabled()) {
            return make_error(ErrorCode::kCorrupt,
                              "IOMMU unit {}: the stream lacks its device table, command buffer "
                              "or event log, or says translation is off",
                              u);
        }
        RELAY_TRY(map_registers(unit));
        iommu::IommuState adopted;
        adopted.vendor = iommu::Vendor::kAmdVi;
        adopted.unit = pci_device_of(unit.ivrs);
        adopted.register_base = unit.ivrs.mmio_base;
        adopted.root_table = HostPhysRange::unchecked(HostPhysAddr(recorded.root_table()->base()),
                                                      recorded.root_table()->size());
        adopted.command_queue = HostPhysRange::unchecked(
            HostPhysAddr(recorded.command_buffer()->base()), recorded.command_buffer()->size());
        adopted.event_log = HostPhysRange::unchecked(HostPhysAddr(recorded.event_log()->base()),
                                                     recorded.event_log()->size());
        // A fresh completion store: commands the previous build queued have completed once
        // the head meets the tail, which adopt() waits for.
        adopted.completion_store = HostPhysRange::unchecked(unit.completion_store, 8);
        adopted.completion_sequence = 0;
        const HostPhysRange buffers[] = {adopted.root_table, adopted.command_queue,
                                         adopted.event_log};
        for (const HostPhysRange& buffer : buffers) {
            for (u64 offset = 0; offset < buffer.size(); offset += kPageSize4K) {
                if (!inside(s.preserved, s.preserved_count, buffer.base() + offset)) {
                    return make_error(ErrorCode::kCorrupt,
                                      "IOMMU unit {}: buffer frame {} is not among the preserved "
                                      "table frames",
                                      u, buffer.base() + offset);
                }
            }
        }
        Status adopted_ok = unit.driver.adopt(adopted);
        if (!adopted_ok.ok()) {
            return adopted_ok.error().prefix("AMD-Vi unit {} ({}): ", u,
                                             unit.ivrs.device_id.text().view());
        }
        s.unit_count = u + 1;
        if (recorded.assignments() != nullptr) {
            for (const fbs::IommuDeviceAssignment* a : *recorded.assignments()) {
                if (s.pending_count == kMaxPending) {
                    return make_error(ErrorCode::kOutOfRange,
                                      "IOMMU: more than {} device assignments in the stream",
                                      kMaxPending);
                }
                PendingAssignment& p = s.pending[s.pending_count++];
                p = PendingAssignment{static_cast<u8>(u),
                                      a->bdf(),
                                      a->domid(),
                                      a->hardware_domain_tag(),
                                      HostPhysAddr(a->page_table_root()),
                                      a->page_table_levels(),
                                      false};
            }
        }
        log_info("iommu: AMD-Vi unit {} ({}) adopted running: {} assignments", u,
                 unit.ivrs.device_id.text().view(),
                 recorded.assignments() != nullptr ? recorded.assignments()->size() : 0);
    }
    return ok_status();
}

Status check_function(const PciFunction& function) {
    State& s = state();
    if (s.unit_count == 0) {
        return make_error(ErrorCode::kUnsupported,
                          "{} cannot be assigned: its DMA could reach any memory ({})",
                          pci_function_text(function).view(), s.absence);
    }
    for (usize u = 0; u < s.unit_count; ++u) {
        if (s.units[u].ivrs.pci_segment == function.segment &&
            s.units[u].ivrs.device_id.raw == function.bdf()) {
            return make_error(ErrorCode::kPermissionDenied,
                              "{} is the IOMMU (AMD-Vi unit {}): it cannot be assigned",
                              pci_function_text(function).view(), u);
        }
    }
    Route route = route_of(function);
    if (route.unit < 0) {
        return make_error(ErrorCode::kUnsupported,
                          "{} cannot be assigned: no IOMMU unit translates it (IVRS)",
                          pci_function_text(function).view());
    }
    // A domain's table maps its RAM and nothing else: it cannot give the device the
    // host memory the firmware reserved for it (like Xen refusing RMRR devices).
    if (const amd_vi::MemoryDefinition* m = s.ivrs.memory_for(route.requester)) {
        return make_error(ErrorCode::kUnsupported,
                          "{} cannot be assigned: firmware reserves {:#x}..{:#x} for its DMA {} "
                          "(IVMD at {:#x})",
                          pci_function_text(function).view(), m->start.raw(),
                          m->start.raw() + (m->length != 0 ? m->length - 1 : 0),
                          m->exclusion() ? "untranslated" : "1:1", m->table_offset);
    }
    return ok_status();
}

bool share_requester(const PciFunction& a, const PciFunction& b, iommu::DeviceId* requester) {
    Route ra = route_of(a);
    Route rb = route_of(b);
    if (ra.unit < 0 || ra.unit != rb.unit || ra.requester.raw != rb.requester.raw) {
        return false;
    }
    *requester = ra.requester;
    return true;
}

namespace {

// No function of `domain` shares its device table entry with a function of another
// domain: attaching one would re-point the other's entry (docs/iommu.md, "Aliases").
Status check_requesters_unshared(const Domain& domain) {
    Status result = ok_status();
    domain_for_each([&](Domain& other) {
        if (&other == &domain || !result.ok()) {
            return;
        }
        for (usize i = 0; i < domain.assigned_count; ++i) {
            for (usize j = 0; j < other.assigned_count; ++j) {
                DeviceId requester;
                const PciFunction& mine = domain.assigned[i].function;
                const PciFunction& theirs = other.assigned[j].function;
                if (result.ok() && share_requester(mine, theirs, &requester)) {
                    result =
                        make_error(ErrorCode::kAlreadyExists,
                                   "{} and {} of domain {} share requester id {} (IVRS alias)",
                                   pci_function_text(mine).view(), pci_function_text(theirs).view(),
                                   other.domid, requester.text().view());
                }
            }
        }
    });
    return result;
}

}  // namespace

Status attach_domain(Domain& domain) {
    State& s = state();
    if (domain.assigned_count == 0) {
        return ok_status();
    }
    for (usize i = 0; i < domain.assigned_count; ++i) {
        RELAY_TRY(check_function(domain.assigned[i].function));
    }
    Status unshared = check_requesters_unshared(domain);
    if (!unshared.ok()) {
        return unshared.error().prefix("domain {}: ", domain.domid);
    }
    SpinlockGuard guard(s.lock);
    u8 levels = IoTable::levels_for(ram_end(domain));
    RELAY_TRY_ASSIGN(table, IoTable::create(domain.table_memory, levels));
    domain.io_root = table.root();
    domain.io_levels = levels;
    for (usize i = 0; i < domain.extent_count; ++i) {
        const GuestMemoryExtent& extent = domain.extents[i];
        if (extent.is_mmio()) {
            continue;  // BARs: no peer-to-peer DMA
        }
        Status mapped = table.map(extent.guest, extent.host, extent.size,
                                  amd_vi::IoPermissions{true, true}, kPageSize2M);
        if (!mapped.ok()) {
            free_table(domain);
            return mapped.error().prefix("domain {}: I/O page table: ", domain.domid);
        }
    }
    // Unmapped IOVAs fault visibly (QEMU 7.2 reports no fault at an empty entry).
    table.seal(s.guard);
    iommu::IoDomain io{tag_of(domain), domain.io_root, domain.io_levels, true, true};
    for (usize i = 0; i < domain.assigned_count; ++i) {
        AssignedFunction& assigned = domain.assigned[i];
        Route route = route_of(assigned.function);
        Status attached = s.units[route.unit].driver.attach(route.requester, io);
        if (!attached.ok()) {
            // Its entry may point at the table already (a flush that did not complete).
            assigned.translated = true;
            if (block_functions(domain).ok()) {
                free_table(domain);
            } else {
                log_error(
                    "iommu: domain {}: keeping its I/O page table at {}: a function is "
                    "not blocked",
                    domain.domid, domain.io_root);
            }
            return attached.error().prefix("domain {}: {}: ", domain.domid,
                                           pci_function_text(assigned.function).view());
        }
        assigned.translated = true;
        bool aliased = route.requester.raw != assigned.function.bdf();
        log_info(
            "iommu: {} -> domain {} ({}): DMA translated by unit {}{}{}{}, {}-level table at {}",
            pci_function_text(assigned.function).view(), domain.domid, domain.name_view(),
            route.unit, aliased ? " as " : "", aliased ? route.requester.text().view() : "",
            aliased ? " (IVRS alias)" : "", domain.io_levels, domain.io_root);
    }
    return ok_status();
}

Status adopt_domain(Domain& domain) {
    State& s = state();
    Status unshared = check_requesters_unshared(domain);
    if (!unshared.ok()) {
        return unshared.error().prefix("domain {}: ", domain.domid);
    }
    SpinlockGuard guard(s.lock);
    for (usize i = 0; i < domain.assigned_count; ++i) {
        AssignedFunction& assigned = domain.assigned[i];
        Route route = route_of(assigned.function);
        PciFunctionText text = pci_function_text(assigned.function);
        const char* name = text.text;
        if (route.unit < 0) {
            return make_error(ErrorCode::kNotFound, "domain {}: {}: no IOMMU unit translates it",
                              domain.domid, name);
        }
        PendingAssignment* found = nullptr;
        for (usize p = 0; p < s.pending_count; ++p) {
            if (s.pending[p].unit == route.unit && s.pending[p].bdf == assigned.function.bdf()) {
                found = &s.pending[p];
            }
        }
        if (found == nullptr || found->root.raw() == 0) {
            // Blocked when the stream was written (the domain had stopped): make sure, so
            // that no device walks tables this build does not know.
            Status blocked = s.units[route.unit].driver.block(route.requester);
            if (!blocked.ok()) {
                return blocked.error().prefix("domain {}: {}: ", domain.domid, name);
            }
            assigned.translated = false;
            if (found != nullptr) {
                found->adopted = true;
            }
            continue;
        }
        if (found->domid != domain.domid || found->tag != tag_of(domain)) {
            return make_error(ErrorCode::kCorrupt,
                              "domain {}: {}: the stream assigns it to domid {} (tag {})",
                              domain.domid, name, found->domid, found->tag);
        }
        if (domain.io_root.raw() != 0 &&
            (domain.io_root != found->root || domain.io_levels != found->levels)) {
            return make_error(ErrorCode::kCorrupt,
                              "domain {}: {}: its I/O page table {} differs from its other "
                              "functions' {}",
                              domain.domid, name, found->root, domain.io_root);
        }
        // The device table entry must be what the stream says.
        RELAY_TRY_ASSIGN(entry,
                         s.units[route.unit].driver.read_device_table_entry(route.requester));
        auto fields = amd_vi::decode_device_table_entry(entry);
        if (!fields.ok()) {
            return fields.error().prefix("domain {}: {}: device table entry: ", domain.domid, name);
        }
        const amd_vi::DeviceTableEntryFields& f = fields.value();
        if (!f.valid || !f.translation_valid || f.page_table_root != found->root ||
            f.mode != found->levels || f.domain_id != found->tag) {
            return make_error(ErrorCode::kCorrupt,
                              "domain {}: {}: its device table entry (root {}, mode {}, tag {}) "
                              "is not the stream's (root {}, {} levels, tag {})",
                              domain.domid, name, f.page_table_root, f.mode, f.domain_id,
                              found->root, found->levels, found->tag);
        }
        // An older build's entry (word 2 zero) is closed once no rollback can hand the
        // unit back to it (commit_adoption); anything else must refuse every interrupt.
        if ((!f.refuses_interrupts() && entry.words[2] != 0) || f.system_management != 0) {
            return make_error(ErrorCode::kCorrupt,
                              "domain {}: {}: its device table entry lets interrupt requests "
                              "through (word 2 {:#x}, SysMgt {}); Relay's refuse them all",
                              domain.domid, name, entry.words[2], f.system_management);
        }
        if (domain.io_root.raw() == 0) {
            // Every table frame preserved (the target claimed it).
            RELAY_TRY(check_domain_table(domain, found->root, found->levels,
                                         [&](HostPhysAddr frame) -> Status {
                                             if (inside(s.preserved, s.preserved_count, frame)) {
                                                 return ok_status();
                                             }
                                             return make_error(ErrorCode::kCorrupt,
                                                               "table frame {} is not among the "
                                                               "preserved table frames",
                                                               frame);
                                         }));
            RELAY_TRY_ASSIGN(table,
                             IoTable::adopt(domain.table_memory, found->root, found->levels));
            domain.io_root = found->root;
            domain.io_levels = found->levels;
            // The previous build's guards point at its guard frame, which this build does
            // not keep: point them at ours (each rewrite replaces one guard by another).
            table.seal(s.guard);
        }
        assigned.translated = true;
        found->adopted = true;
    }
    return ok_status();
}

Status check_domains() {
    State& s = state();
    SpinlockGuard guard(s.lock);
    Status status = ok_status();
    domain_for_each([&](Domain& domain) {
        if (status.ok() && domain.io_root.raw() != 0) {
            status = check_domain_table(domain, domain.io_root, domain.io_levels,
                                        [](HostPhysAddr) { return ok_status(); });
        }
    });
    return status;
}

bool detach_domain(Domain& domain) {
    State& s = state();
    if (s.unit_count == 0) {
        return true;
    }
    SpinlockGuard guard(s.lock);
    Status blocked = block_functions(domain);
    if (!blocked.ok()) {
        // A function may still point at the table: keep it rather than free memory a device
        // could walk.
        log_error("iommu: domain {}: keeping its I/O page table at {}: a function is not blocked",
                  domain.domid, domain.io_root);
        return false;
    }
    free_table(domain);
    return true;
}

void commit_adoption() {
    State& s = state();
    SpinlockGuard guard(s.lock);
    for (usize u = 0; u < s.unit_count; ++u) {
        Unit& unit = s.units[u];
        Status finished = unit.driver.finish_adoption(unit.ivrs.flags);
        if (!finished.ok()) {
            log_error("iommu: AMD-Vi unit {}: {}", u, finished.error().message());
        }
        if (unit.driver.interrupts_closed_at_adoption() != 0) {
            log_warning(
                "iommu: AMD-Vi unit {}: the previous build let the interrupt requests of {} "
                "devices pass unremapped; they are refused now (docs/iommu.md, \"Interrupts\")",
                u, unit.driver.interrupts_closed_at_adoption());
        }
        if (unit.driver.control_bits_added() != 0) {
            log_info(
                "iommu: AMD-Vi unit {}: control register bits {:#x} added (Coherent, IVHD "
                "bus attributes)",
                u, unit.driver.control_bits_added());
        }
    }
}

void test_forget_adoptions() {
    State& s = state();
    SpinlockGuard guard(s.lock);
    for (usize p = 0; p < s.pending_count; ++p) {
        s.pending[p].adopted = false;
    }
}

Status finish_adoption() {
    State& s = state();
    SpinlockGuard guard(s.lock);
    for (usize p = 0; p < s.pending_count; ++p) {
        PendingAssignment& pending = s.pending[p];
        if (pending.adopted) {
            continue;
        }
        PciFunctionText text = pci_function_text(
            PciFunction::from_bdf(s.units[pending.unit].ivrs.pci_segment, pending.bdf));
        if (pending.root.raw() != 0) {
            return make_error(ErrorCode::kCorrupt,
                              "IOMMU unit {}: the stream translates {} for domain {} through "
                              "the table at {}, but domain {} does not list {}",
                              pending.unit, text.text, pending.domid, pending.root, pending.domid,
                              text.text);
        }
        Route route =
            route_of(PciFunction::from_bdf(s.units[pending.unit].ivrs.pci_segment, pending.bdf));
        if (route.unit == pending.unit) {
            RELAY_TRY(s.units[route.unit].driver.block(route.requester));
        }
        pending.adopted = true;
    }
    return ok_status();
}

namespace {

PciFunction unit_function(const Unit& unit) {
    return PciFunction::from_bdf(unit.ivrs.pci_segment, unit.ivrs.device_id.raw);
}

// Whether the unit signalled an error since the last call (Signaled Target Abort in its
// PCI status register, PCI 3.0 §6.2.3), clearing the bit (write 1 to clear). Read before
// the event log is drained: a unit that logs a fault does so before it signals it.
bool take_signalled_error(const Unit& unit) {
    PciFunction function = unit_function(unit);
    if (function.segment != 0) {
        return false;  // configuration mechanism #1 reaches segment 0 only
    }
    u32 status = pci::config_read(function, pci::reg::kStatus, 2);
    if (status == 0xFFFF || (status & pci::status::kSignaledTargetAbort) == 0) {
        return false;
    }
    pci::config_write(function, pci::reg::kStatus, 2, pci::status::kSignaledTargetAbort);
    return true;
}

// The functions whose requests the unit translates through a domain's table: "00:04.0
// (domain 3, dma), ..." or "none".
FixedString<240> translated_functions(usize unit_index) {
    FixedString<240> text = FixedString<240>::formatted("none");
    usize written = 0;
    domain_for_each([&](Domain& domain) {
        for (usize i = 0; i < domain.assigned_count; ++i) {
            const AssignedFunction& assigned = domain.assigned[i];
            if (!assigned.translated ||
                route_of(assigned.function).unit != static_cast<int>(unit_index)) {
                continue;
            }
            text = written == 0
                       ? FixedString<240>::formatted("{} (domain {}, {})",
                                                     pci_function_text(assigned.function).view(),
                                                     domain.domid, domain.name_view())
                       : FixedString<240>::formatted("{}, {} (domain {}, {})", text.view(),
                                                     pci_function_text(assigned.function).view(),
                                                     domain.domid, domain.name_view());
            ++written;
        }
    });
    return text;
}

// Formats one unit's reports for the console (FaultReporter decides which).
class ConsoleFaultSink final : public iommu::FaultReportSink {
public:
    ConsoleFaultSink(usize index, const Unit& unit) : index_(index), unit_(unit) {}

    void event(const iommu::IommuEvent& e) override {
        if (e.kind == iommu::EventKind::kLogOverflow) {
            log_error("iommu: unit {} ({}): {}", index_, unit_text().view(), e.text.view());
            return;
        }
        const Domain* domain = e.domain_id != 0 ? domain_find(e.domain_id) : nullptr;
        log_error("iommu: {} device {} domain {} ({}) address {:#x} {}: {}",
                  iommu::event_kind_name(e.kind), e.device.text().view(), e.domain_id,
                  domain != nullptr ? domain->name_view() : std::string_view("none"), e.address,
                  e.write ? "write" : "read", e.text.view());
    }

    // The unit says nothing more: name the functions it walks domain tables for, which
    // are the ones that can fault (a blocked function's requests are refused at its
    // device table entry, with no walk).
    void unlogged_error() override {
        log_error(
            "iommu: unit {} ({}) signalled an error it did not log (PCI status: signalled "
            "target abort): a refused DMA or a table error, device and address not recorded; "
            "it translates {}",
            index_, unit_text().view(), translated_functions(index_).view());
    }

    void dropped(u64 count) override {
        log_error("iommu: unit {} ({}): {} more reports not shown (at most {} a second)", index_,
                  unit_text().view(), count, iommu::FaultReporter::kDefaultPerSecond);
    }

private:
    PciFunctionText unit_text() const { return pci_function_text(unit_function(unit_)); }

    usize index_;
    const Unit& unit_;
};

}  // namespace

void poll_events() {
    State& s = state();
    if (s.unit_count == 0) {
        return;
    }
    u64 now = x86::rdtsc();
    if (now < s.next_poll_tsc || !s.lock.try_lock()) {
        return;
    }
    s.next_poll_tsc = now + x86::microseconds_to_tsc(kPollIntervalMicroseconds);
    for (usize u = 0; u < s.unit_count; ++u) {
        Unit& unit = s.units[u];
        bool signalled = take_signalled_error(unit);
        iommu::IommuEvent events[kEventsPerPoll];
        usize count = 0;
        Status polled = unit.driver.poll_events(events, kEventsPerPoll, &count);
        // Said when it starts and when it ends, not every 5 ms; a signal still counts.
        if (polled.ok() != !unit.log_unreadable) {
            unit.log_unreadable = !polled.ok();
            if (unit.log_unreadable) {
                log_error("iommu: unit {}: cannot read the event log: {}", u,
                          polled.error().message());
            } else {
                log_info("iommu: unit {}: the event log is readable again", u);
            }
        }
        if (!polled.ok()) {
            count = 0;
        }
        ConsoleFaultSink sink(u, unit);
        unit.reporter.poll(x86::tsc_to_microseconds(now), events, count, signalled, sink);
    }
    s.lock.unlock();
}

Status describe_unit(usize index, UnitSnapshot* out) {
    State& s = state();
    if (index >= s.unit_count) {
        return make_error(ErrorCode::kOutOfRange, "IOMMU unit {} does not exist", index);
    }
    *out = UnitSnapshot();
    RELAY_TRY(s.units[index].driver.describe(&out->state));
    out->control = s.units[index].registers.read(amd_vi::mmio::kControl);
    out->translation_enabled = (out->control & amd_vi::control::kIommuEnable) != 0;
    return ok_status();
}

int unit_of(const PciFunction& function) {
    return route_of(function).unit;
}

usize table_frames(usize unit, HostPhysRange* out, usize capacity) {
    // Under the lock: a domain destroyed on another CPU frees its table (detach_domain).
    SpinlockGuard guard(state().lock);
    usize count = 0;
    HostPhysAddr run_base;
    u64 run_size = 0;
    auto flush = [&]() {
        if (run_size != 0) {
            if (count < capacity) {
                out[count] = HostPhysRange::unchecked(run_base, run_size);
            }
            ++count;
        }
    };
    for_each_unit_frame(unit, [&](HostPhysAddr frame) {
        if (run_size != 0 && run_base.raw() + run_size == frame.raw()) {
            run_size += kPageSize4K;
            return;
        }
        flush();
        run_base = frame;
        run_size = kPageSize4K;
    });
    flush();
    return count;
}

usize table_frame_bound() {
    State& s = state();
    usize bound = 0;
    for (usize u = 0; u < s.unit_count; ++u) {
        bound += table_frames(u, nullptr, 0);
    }
    return bound;
}

}  // namespace relay::iommu_host
