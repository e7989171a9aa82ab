#include "hv/passthrough.hpp"

#include "hv/arch/x86/pci_config.hpp"
#include "hv/console.hpp"
#include "hv/iommu_host.hpp"

namespace relay {

namespace {

// One host function's configuration registers, for hv/pci/function_config.
class HostFunction final : public pci::ConfigAccess {
public:
    explicit HostFunction(const PciFunction& function) : function_(function) {}
    u32 read(u16 offset, u8 width) override { return pci::config_read(function_, offset, width); }
    void write(u16 offset, u8 width, u32 value) override {
        pci::config_write(function_, offset, width, value);
    }

private:
    PciFunction function_;
};

Result<pci::FunctionBars> probe(const PciFunction& function) {
    if (function.segment != 0) {
        return make_error(ErrorCode::kUnsupported, "{}: only PCI segment 0 is supported",
                          pci_function_text(function).view());
    }
    HostFunction host(function);
    auto bars = pci::probe_bars(host);
    if (!bars.ok()) {
        return bars.error().prefix("{}: ", pci_function_text(function).view());
    }
    // The domain gets whole pages: a memory BAR smaller than a page, or not starting on
    // one, would give it the rest of that page, where another device's registers may lie.
    for (usize i = 0; i < pci::FunctionBars::kCount; ++i) {
        const pci::Bar& bar = bars.value().bars[i];
        if (bar.is_memory() && (bar.size < kPageSize4K || bar.base % kPageSize4K != 0)) {
            return make_error(ErrorCode::kUnsupported,
                              "{} BAR{} ({:#x} bytes at {:#x}) is not a page of its own: the "
                              "domain would get the rest of the page",
                              pci_function_text(function).view(), i, bar.size, bar.base);
        }
    }
    return bars;
}

// Inserts a device-memory extent where it belongs among the domain's extents (sorted by
// guest address) and maps it uncached. It must not overlap the domain's RAM.
Status add_bar_extent(Domain& domain, const PciFunction& function, usize index,
                      const pci::Bar& bar) {
    if (domain.extent_count == domain.extent_capacity) {
        return make_error(ErrorCode::kOutOfRange, "domain {}: no room for another memory extent",
                          domain.domid);
    }
    u64 size = bar.size;  // at least a page, page-aligned (probe())
    GuestMemoryExtent extent{GuestPhysAddr(bar.base), HostPhysAddr(bar.base), size,
                             extent::kDeviceMemory, 12};
    usize position = 0;
    while (position < domain.extent_count && domain.extents[position].guest < extent.guest) {
        ++position;
    }
    auto overlaps = [&](const GuestMemoryExtent& other) {
        return other.guest.raw() < bar.base + size && bar.base < other.guest.raw() + other.size;
    };
    if ((position > 0 && overlaps(domain.extents[position - 1])) ||
        (position < domain.extent_count && overlaps(domain.extents[position]))) {
        return make_error(
            ErrorCode::kOutOfRange,
            "{} BAR{} at {:#x} ({:#x} bytes) overlaps the domain's memory map; give the "
            "domain less memory or move the BAR",
            pci_function_text(function).view(), index, bar.base, size);
    }
    PageAttributes attributes;
    attributes.write = true;
    attributes.user = true;
    attributes.cache = CacheMode::kUncached;
    RELAY_TRY(domain.npt.map(extent.guest, extent.host, extent.size, attributes, kPageSize4K));
    for (usize i = domain.extent_count; i > position; --i) {
        domain.extents[i] = domain.extents[i - 1];
    }
    domain.extents[position] = extent;
    ++domain.extent_count;
    return ok_status();
}

AssignedFunction* assigned_at(Domain& domain, u32 address) {
    if ((address & 0x8000'0000u) == 0) {
        return nullptr;
    }
    u8 bus = static_cast<u8>(address >> 16);
    u8 device = static_cast<u8>((address >> 11) & 0x1F);
    u8 function = static_cast<u8>((address >> 8) & 7);
    for (usize i = 0; i < domain.assigned_count; ++i) {
        const PciFunction& f = domain.assigned[i].function;
        if (f.bus == bus && f.device == device && f.function == function) {
            return &domain.assigned[i];
        }
    }
    return nullptr;
}

}  // namespace

Status passthrough_check(const PciFunction& function) {
    RELAY_TRY_ASSIGN(bars, probe(function));
    (void)bars;
    return ok_status();
}

Status passthrough_attach(Domain& domain, std::span<const PciFunction> functions) {
    if (functions.size() > kMaxAssignedFunctions) {
        return make_error(ErrorCode::kOutOfRange, "domain {}: {} assigned functions, at most {}",
                          domain.domid, functions.size(), kMaxAssignedFunctions);
    }
    for (const PciFunction& function : functions) {
        RELAY_TRY_ASSIGN(bars, probe(function));
        HostFunction host(function);
        // DMA starts when the guest enables bus mastering, through the IOMMU.
        u32 command = host.read(pci::reg::kCommand, 2);
        host.write(pci::reg::kCommand, 2, command & ~static_cast<u32>(pci::command::kBusMaster));
        for (usize i = 0; i < pci::FunctionBars::kCount; ++i) {
            const pci::Bar& bar = bars.bars[i];
            if (bar.is_memory()) {
                RELAY_TRY(add_bar_extent(domain, function, i, bar));
            } else if (bar.kind == pci::Bar::Kind::kIo) {
                log_warning(
                    "domain {}: {} BAR{} is an I/O BAR ({:#x}, {} bytes): not given to the domain",
                    domain.domid, pci_function_text(function).view(), i, bar.base, bar.size);
            }
        }
        domain.assigned[domain.assigned_count++] =
            AssignedFunction{function, pci::FunctionConfig(bars)};
        log_info("domain {}: {} assigned", domain.domid, pci_function_text(function).view());
    }
    return iommu_host::attach_domain(domain);
}

Status passthrough_restore(Domain& domain, std::span<const PciFunction> functions) {
    if (functions.size() > kMaxAssignedFunctions) {
        return make_error(ErrorCode::kOutOfRange, "domain {}: {} assigned functions, at most {}",
                          domain.domid, functions.size(), kMaxAssignedFunctions);
    }
    for (const PciFunction& function : functions) {
        HostFunction host(function);
        if ((host.read(pci::reg::kVendorId, 2) & 0xFFFF) == 0xFFFF) {
            return make_error(ErrorCode::kNotFound, "domain {}: assigned {} does not answer",
                              domain.domid, pci_function_text(function).view());
        }
        // The BARs as programmed; their sizes are those of the domain's device-memory
        // extents at those addresses (sizing would disturb a running device).
        pci::FunctionBars bars;
        for (usize i = 0; i < pci::FunctionBars::kCount; ++i) {
            u32 value = host.read(static_cast<u16>(pci::reg::kBar0 + i * 4), 4);
            if ((value & 1) != 0) {
                continue;  // I/O BARs are not given to domains
            }
            u64 base = value & ~0xFu;
            bool wide = (value & 0x6) == 0x4;
            if (wide && i + 1 < pci::FunctionBars::kCount) {
                // The upper half first: a BAR at 32 GiB has no address bits in the lower.
                base |=
                    static_cast<u64>(host.read(static_cast<u16>(pci::reg::kBar0 + (i + 1) * 4), 4))
                    << 32;
            }
            for (usize e = 0; e < domain.extent_count; ++e) {
                const GuestMemoryExtent& extent = domain.extents[e];
                if (extent.is_mmio() && extent.host.raw() == base) {
                    bars.bars[i] =
                        pci::Bar{wide ? pci::Bar::Kind::kMemory64 : pci::Bar::Kind::kMemory32, base,
                                 extent.size, (value & 8) != 0};
                }
            }
            if (wide) {
                ++i;
            }
        }
        domain.assigned[domain.assigned_count++] =
            AssignedFunction{function, pci::FunctionConfig(bars)};
    }
    return iommu_host::adopt_domain(domain);
}

bool passthrough_port_in(Domain& domain, u16 port, u8 size, u32* value) {
    // A domain without assigned functions has no PCI at all (ports read as all ones).
    if (port < 0xCF8 || port > 0xCFF || domain.assigned_count == 0) {
        return false;
    }
    SpinlockGuard guard(domain.pci_lock);
    if (port == 0xCF8 && size == 4) {
        *value = domain.pci_address_latch;
        return true;
    }
    u32 all_ones = size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFF'FFFFu;
    *value = all_ones;
    if (port < 0xCFC) {
        return true;  // 0xCF9 (reset control) and friends: nothing
    }
    u16 offset = static_cast<u16>((domain.pci_address_latch & 0xFC) + (port - 0xCFC));
    AssignedFunction* assigned = assigned_at(domain, domain.pci_address_latch);
    if (assigned == nullptr || (offset & (size - 1)) != 0) {
        return true;  // no device: all ones
    }
    HostFunction host(assigned->function);
    *value = assigned->config.read(host, offset, size);
    return true;
}

bool passthrough_port_out(Domain& domain, u16 port, u8 size, u32 value) {
    if (port < 0xCF8 || port > 0xCFF || domain.assigned_count == 0) {
        return false;
    }
    SpinlockGuard guard(domain.pci_lock);
    if (port == 0xCF8 && size == 4) {
        domain.pci_address_latch = value & 0x80FF'FFFCu;
        return true;
    }
    if (port < 0xCFC) {
        return true;
    }
    u16 offset = static_cast<u16>((domain.pci_address_latch & 0xFC) + (port - 0xCFC));
    AssignedFunction* assigned = assigned_at(domain, domain.pci_address_latch);
    if (assigned == nullptr || (offset & (size - 1)) != 0) {
        return true;
    }
    HostFunction host(assigned->function);
    assigned->config.write(host, offset, size, value);
    return true;
}

bool passthrough_stop(Domain& domain) {
    for (usize i = 0; i < domain.assigned_count; ++i) {
        HostFunction host(domain.assigned[i].function);
        u32 command = host.read(pci::reg::kCommand, 2);
        host.write(
            pci::reg::kCommand, 2,
            command & ~static_cast<u32>(pci::command::kBusMaster | pci::command::kMemorySpace |
                                        pci::command::kIoSpace));
    }
    return iommu_host::detach_domain(domain);
}

bool passthrough_release(Domain& domain) {
    bool stopped = passthrough_stop(domain);
    domain.assigned_count = 0;
    return stopped;
}

}  // namespace relay
