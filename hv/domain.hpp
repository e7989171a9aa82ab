// A domain: an isolated guest with its own RAM, nested page tables, vCPUs and console.
// Domains live in a fixed table (no heap); the domain builder (hv/domain_builder.hpp)
// fills one from a HostState domain, whether it comes from the Hyperlaunch configuration
// or from a live-update stream.
#pragma once

#include <atomic>
#include <string_view>

#include "hv/devices/uart16550.hpp"
#include "hv/lib/spinlock.hpp"
#include "hv/memory/address_space.hpp"
#include "hv/memory/page_table.hpp"
#include "hv/pci/function_config.hpp"
#include "lib/address.hpp"
#include "lib/pci_function.hpp"
#include "lib/result.hpp"

namespace relay {

struct Vcpu;

inline constexpr usize kMaxDomains = 64;
inline constexpr usize kMaxVcpusPerDomain = 16;
inline constexpr usize kMaxVcpus = 256;
// Extents live in frames the builder allocates per domain (sized for its RAM).
inline constexpr usize kDomainNameCapacity = 32;
inline constexpr usize kBootargsCapacity = 1024;

// Matches schema DomainLifecycle and the RELAY_DOMAIN_* ABI values.
enum class DomainLifecycle : u8 {
    kConfigured = 0,
    kRunning = 1,
    kPaused = 2,
    kCrashed = 3,
    kShutDown = 4,
};

const char* lifecycle_name(DomainLifecycle lifecycle);

// Matches schema ExtentAttributes bits.
namespace extent {
inline constexpr u32 kRead = 1u << 0;
inline constexpr u32 kWrite = 1u << 1;
inline constexpr u32 kExecute = 1u << 2;
inline constexpr u32 kUncached = 1u << 3;
inline constexpr u32 kMmio = 1u << 5;  // an assigned device's BAR, not RAM
inline constexpr u32 kRam = kRead | kWrite | kExecute;
inline constexpr u32 kDeviceMemory = kRead | kWrite | kUncached | kMmio;
}  // namespace extent

struct GuestMemoryExtent {
    GuestPhysAddr guest;
    HostPhysAddr host;
    u64 size = 0;
    u32 attributes = 0;
    u8 page_size_log2 = 12;

    bool is_mmio() const { return (attributes & extent::kMmio) != 0; }
};

struct ModuleReference {
    bool present = false;
    u32 multiboot_index = 0;
};

using NestedPageTable = PageTable<GuestPhysAddr, HypervisorTableMemory>;

inline constexpr usize kMaxAssignedFunctions = 8;

struct AssignedFunction {
    PciFunction function;
    pci::FunctionConfig config;  // the domain's view of its configuration space
    bool translated = false;     // its device table entry points at the domain's I/O table
};

class Domain final : public ConsoleLineSink {
public:
    // ---- Identity and configuration (schema Domain / BootConfig) ----
    u16 domid = 0;
    char name[kDomainNameCapacity] = {};
    u8 uuid[16] = {};
    u32 permissions = 0;
    u32 functions = 0;
    u32 mode = 0;
    char security_id[64] = {};
    u64 memory_kib = 0;
    u32 configured_cpus = 0;
    ModuleReference kernel;
    ModuleReference ramdisk;
    ModuleReference config_module;
    char bootargs[kBootargsCapacity] = {};

    // ---- Lifecycle ----
    std::atomic<DomainLifecycle> lifecycle{DomainLifecycle::kConfigured};
    u8 shutdown_reason = 0;
    // While either is non-zero no vCPU of the domain enters guest mode
    // (hv/domain_control.hpp). pause_count counts pauses the domain's lifecycle shows
    // (control hypercalls); system_pause_count counts the hypervisor's own (a live update
    // or a state export), which the recorded lifecycle must not show.
    std::atomic<u32> pause_count{0};
    std::atomic<u32> system_pause_count{0};

    bool paused() const {
        return pause_count.load(std::memory_order_seq_cst) != 0 ||
               system_pause_count.load(std::memory_order_seq_cst) != 0;
    }

    // ---- Memory ----
    // Sorted by guest address, non-overlapping; storage from the frame allocator.
    GuestMemoryExtent* extents = nullptr;
    usize extent_count = 0;
    usize extent_capacity = 0;
    HostPhysAddr extent_storage;
    u32 extent_storage_order = 0;
    u64 ram_bytes = 0;
    HypervisorTableMemory table_memory;
    NestedPageTable npt{table_memory, HostPhysAddr(0)};

    // ---- vCPUs ----
    u32 vcpu_count = 0;
    Vcpu* vcpus[kMaxVcpusPerDomain] = {};

    // ---- Devices ----
    Uart16550 uart;
    Spinlock uart_lock;
    // Assigned PCI functions (relay,passthrough; hv/passthrough.hpp) and the domain's
    // configuration-mechanism address latch (port 0xCF8).
    AssignedFunction assigned[kMaxAssignedFunctions];
    usize assigned_count = 0;
    u32 pci_address_latch = 0;
    Spinlock pci_lock;
    // The I/O page table the IOMMU walks for those functions (hv/iommu_host.hpp):
    // IOVA = guest-physical, the domain's RAM only. Zero when it has none.
    HostPhysAddr io_root;
    u8 io_levels = 0;

    GuestPhysAddr start_info;
    u64 tsc_khz = 0;

    // ---- Statistics ----
    std::atomic<u64> exits{0};

    bool is_control() const;
    std::string_view name_view() const;

    // Guest-physical access, checked against the domain's RAM: the whole range must be
    // guest RAM, or the access is refused (kOutOfRange) and nothing is copied.
    bool range_is_ram(GuestPhysAddr address, u64 length) const;
    Status copy_from_guest(void* destination, GuestPhysAddr source, u64 length) const;
    Status copy_to_guest(GuestPhysAddr destination, const void* source, u64 length);
    Status zero_guest(GuestPhysAddr destination, u64 length);

    // ConsoleLineSink: a complete line from the domain's UART, prefixed "(dN) ".
    void write_line(std::string_view line) override;

private:
    const GuestMemoryExtent* extent_for(GuestPhysAddr address) const;
    template <typename Visit>
    Status for_each_piece(GuestPhysAddr address, u64 length, Visit&& visit) const;
};

// The domain table.
Domain* domain_find(u16 domid);
// Reserves a free slot for `domid`; kAlreadyExists if that domid is in use.
Result<Domain*> domain_create_slot(u16 domid);
// Returns a slot whose resources have been released (hv/domain_control.hpp).
void domain_release_slot(Domain* domain);
usize domain_count();
// Calls visit(Domain&) for every domain in use, in domid order.
template <typename Visit>
void domain_for_each(Visit&& visit);

// Implementation detail of domain_for_each.
Domain* domain_slot(usize index);
bool domain_slot_used(usize index);

template <typename Visit>
void domain_for_each(Visit&& visit) {
    // Visit in domid order (slots are reused, so slot order is arbitrary).
    Domain* sorted[kMaxDomains];
    usize count = 0;
    for (usize i = 0; i < kMaxDomains; ++i) {
        if (!domain_slot_used(i)) {
            continue;
        }
        Domain* domain = domain_slot(i);
        usize position = count++;
        while (position > 0 && sorted[position - 1]->domid > domain->domid) {
            sorted[position] = sorted[position - 1];
            --position;
        }
        sorted[position] = domain;
    }
    for (usize i = 0; i < count; ++i) {
        visit(*sorted[i]);
    }
}

}  // namespace relay
