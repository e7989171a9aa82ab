#include "hv/domain_builder.hpp"

#include <cstring>

#include "hv/abi/start_info.h"
#include "hv/arch/x86/cpu.hpp"
#include "hv/console.hpp"
#include "hv/domain_control.hpp"
#include "hv/elf_loader.hpp"
#include "hv/memory/layout.hpp"
#include "hv/memory/physical_memory.hpp"
#include "hv/msr_emulation.hpp"
#include "hv/passthrough.hpp"
#include "hv/scheduler.hpp"
#include "hv/vcpu.hpp"
#include "hv/virtual_lapic.hpp"
#include "lib/strings.hpp"

namespace relay {

namespace {

namespace fbs = relay::schema;

// Guest-physical layout (hv/abi/start_info.h): RAM from 0 up to 3 GiB, the rest above
// 4 GiB, leaving the usual 32-bit device hole (LAPIC, IOAPIC, PCI windows) unbacked.
constexpr u64 kLowRamLimit = 3 * GiB;
constexpr u64 kHighRamBase = 4 * GiB;
constexpr u64 kMinimumRam = 4 * MiB;
constexpr u64 kGdtCode64 = 0x00AF9A000000FFFFull;
constexpr u64 kGdtData = 0x00CF92000000FFFFull;

// Writes into a domain's RAM (the ELF loader's view of it).
class DomainMemoryWriter final : public GuestMemoryWriter {
public:
    explicit DomainMemoryWriter(Domain& domain) : domain_(domain) {}
    Status write(GuestPhysAddr destination, const u8* source, u64 length) override {
        return domain_.copy_to_guest(destination, source, length);
    }
    Status zero(GuestPhysAddr destination, u64 length) override {
        return domain_.zero_guest(destination, length);
    }

private:
    Domain& domain_;
};

struct RamRegion {
    GuestPhysAddr base;
    u64 size;
};

usize ram_regions(u64 bytes, RamRegion (&regions)[2]) {
    u64 low = bytes < kLowRamLimit ? bytes : kLowRamLimit;
    regions[0] = RamRegion{GuestPhysAddr(0), low};
    if (bytes > low) {
        regions[1] = RamRegion{GuestPhysAddr(kHighRamBase), bytes - low};
        return 2;
    }
    return 1;
}

void copy_text(std::string_view text, char* out, usize capacity) {
    copy_string(text, out, capacity);
}

std::string_view view(const flatbuffers::String* text) {
    return text != nullptr ? std::string_view(text->c_str(), text->size()) : std::string_view();
}

void fill_identity(Domain& domain, const fbs::Domain& state) {
    copy_text(view(state.name()), domain.name, sizeof(domain.name));
    if (state.uuid() != nullptr) {
        for (int i = 0; i < 16; ++i) {
            domain.uuid[i] = state.uuid()->bytes()->Get(i);
        }
    }
    domain.permissions = static_cast<u32>(state.permissions());
    domain.functions = static_cast<u32>(state.functions());
    domain.mode = static_cast<u32>(state.mode());
    copy_text(view(state.security_id()), domain.security_id, sizeof(domain.security_id));
    const fbs::BootConfig* boot = state.boot();
    domain.memory_kib = boot->memory_kib();
    domain.configured_cpus = boot->cpus();
    auto reference = [](const fbs::ModuleReference* module) {
        ModuleReference ref;
        if (module != nullptr) {
            ref.present = true;
            ref.multiboot_index = module->mb_index();
        }
        return ref;
    };
    domain.kernel = reference(boot->kernel());
    domain.ramdisk = reference(boot->ramdisk());
    domain.config_module = reference(boot->config());
    copy_text(view(boot->bootargs()), domain.bootargs, sizeof(domain.bootargs));
    domain.tsc_khz = state.tsc_frequency_khz();
}

// Appends [guest, guest + size) -> host to the extents, merging with the previous extent
// when both sides are contiguous.
Status append_extent(Domain& domain, GuestPhysAddr guest, HostPhysAddr host, u64 size,
                     u8 page_log2) {
    if (domain.extent_count > 0) {
        GuestMemoryExtent& last = domain.extents[domain.extent_count - 1];
        if (last.guest + last.size == guest && last.host + last.size == host &&
            last.page_size_log2 == page_log2) {
            last.size += size;
            return ok_status();
        }
    }
    if (domain.extent_count == domain.extent_capacity) {
        return make_error(ErrorCode::kOutOfMemory,
                          "domain {}: guest memory is too fragmented ({} extents)", domain.domid,
                          domain.extent_capacity);
    }
    domain.extents[domain.extent_count++] =
        GuestMemoryExtent{guest, host, size, extent::kRam, page_log2};
    return ok_status();
}

Status allocate_extent_storage(Domain& domain, u64 bytes) {
    // Worst case one extent per 2 MiB block plus a 4 KiB tail per region, doubled for
    // 4 KiB fallbacks that do not coalesce.
    u64 entries = 2 * (bytes / kPageSize2M + 2) + 64;
    u64 storage = entries * sizeof(GuestMemoryExtent);
    u32 order = 0;
    while ((kPageSize4K << order) < storage) {
        ++order;
    }
    RELAY_TRY_ASSIGN(frames, allocate_frames(order));
    domain.extent_storage = frames;
    domain.extent_storage_order = order;
    domain.extents = phys_to_virt<GuestMemoryExtent>(frames);
    domain.extent_capacity = (kPageSize4K << order) / sizeof(GuestMemoryExtent);
    domain.extent_count = 0;
    return ok_status();
}

// Backs one RAM region with zeroed frames: 2 MiB blocks where possible, 4 KiB otherwise.
Status allocate_region(Domain& domain, RamRegion region) {
    u64 offset = 0;
    while (offset < region.size) {
        GuestPhysAddr guest = region.base + offset;
        u64 remaining = region.size - offset;
        if (remaining >= kPageSize2M && guest.is_aligned(kPageSize2M)) {
            auto block = allocate_frames(9);
            if (block.ok()) {
                std::memset(phys_to_virt<void>(block.value()), 0, kPageSize2M);
                RELAY_TRY(append_extent(domain, guest, block.value(), kPageSize2M, 21));
                offset += kPageSize2M;
                continue;
            }
        }
        // A 4 KiB frame (tail, or no free 2 MiB block left).
        auto frame = allocate_frames(0);
        if (!frame.ok()) {
            return make_error(ErrorCode::kOutOfMemory,
                              "domain {}: out of memory after {} MiB of {} MiB", domain.domid,
                              (domain.ram_bytes + offset) / MiB, domain.memory_kib / 1024);
        }
        std::memset(phys_to_virt<void>(frame.value()), 0, kPageSize4K);
        RELAY_TRY(append_extent(domain, guest, frame.value(), kPageSize4K, 12));
        offset += kPageSize4K;
    }
    domain.ram_bytes += region.size;
    return ok_status();
}

Status map_nested(Domain& domain) {
    RELAY_TRY_ASSIGN(table, NestedPageTable::create(domain.table_memory));
    domain.npt = table;
    PageAttributes attributes;
    attributes.write = true;
    attributes.execute = true;
    attributes.user = true;  // nested walks are user accesses (APM §15.25.5)
    for (usize i = 0; i < domain.extent_count; ++i) {
        const GuestMemoryExtent& e = domain.extents[i];
        PageAttributes extent_attributes = attributes;
        if (e.is_mmio()) {
            extent_attributes.execute = false;
            extent_attributes.cache = CacheMode::kUncached;
        }
        Status mapped = domain.npt.map(e.guest, e.host, e.size, extent_attributes,
                                       e.page_size_log2 >= 21 ? kPageSize2M : kPageSize4K);
        if (!mapped.ok()) {
            return mapped.error().prefix("domain {}: nested page table: ", domain.domid);
        }
    }
    return ok_status();
}

struct ModuleData {
    const u8* bytes = nullptr;
    u64 size = 0;
};

Result<ModuleData> module_data(const stream::StreamReader& reader, const Domain& domain, u32 index,
                               const char* role) {
    for (const fbs::BootModule* module : reader.boot_modules()) {
        if (module->index() == index) {
            ModuleData data;
            data.bytes = phys_to_virt<const u8>(HostPhysAddr(module->range()->base()));
            data.size = module->range()->size();
            return data;
        }
    }
    return make_error(ErrorCode::kNotFound,
                      "domain {}: {} is multiboot module {}, which was not loaded", domain.domid,
                      role, index);
}

// Identity page tables for all RAM at RELAY_GUEST_PAGE_TABLES: PML4, one PDPT, a page
// directory per GiB, 2 MiB pages, and a page table for a RAM tail that is not a whole
// 2 MiB page.
Status build_guest_page_tables(Domain& domain, const RamRegion* regions, usize region_count) {
    constexpr u64 kPresentWrite = 0x3;
    constexpr u64 kLarge = 0x80;
    u64 next = RELAY_GUEST_PAGE_TABLES;
    auto take_page = [&]() -> Result<GuestPhysAddr> {
        if (next + kPageSize4K > RELAY_GUEST_PAGE_TABLES_END) {
            return make_error(ErrorCode::kOutOfRange,
                              "domain {}: guest page tables do not fit below {:#x}", domain.domid,
                              RELAY_GUEST_PAGE_TABLES_END);
        }
        GuestPhysAddr page(next);
        next += kPageSize4K;
        RELAY_TRY(domain.zero_guest(page, kPageSize4K));
        return page;
    };
    auto write_entry = [&](GuestPhysAddr table, u64 index, u64 value) {
        return domain.copy_to_guest(table + index * 8, &value, sizeof(value));
    };
    RELAY_TRY_ASSIGN(pml4, take_page());
    RELAY_TRY_ASSIGN(pdpt, take_page());
    RELAY_TRY(write_entry(pml4, 0, pdpt.raw() | kPresentWrite));
    GuestPhysAddr directories[512] = {};
    for (usize r = 0; r < region_count; ++r) {
        const RamRegion& region = regions[r];
        for (u64 offset = 0; offset < region.size; offset += kPageSize2M) {
            u64 address = region.base.raw() + offset;
            u64 gib = address / GiB;
            if (gib >= 512) {
                return make_error(ErrorCode::kOutOfRange, "domain {}: more than 512 GiB of RAM",
                                  domain.domid);
            }
            if (directories[gib].raw() == 0) {
                RELAY_TRY_ASSIGN(directory, take_page());
                directories[gib] = directory;
                RELAY_TRY(write_entry(pdpt, gib, directory.raw() | kPresentWrite));
            }
            u64 index = (address / kPageSize2M) % 512;
            if (region.size - offset >= kPageSize2M) {
                RELAY_TRY(write_entry(directories[gib], index, address | kPresentWrite | kLarge));
            } else {
                RELAY_TRY_ASSIGN(table, take_page());
                RELAY_TRY(write_entry(directories[gib], index, table.raw() | kPresentWrite));
                for (u64 page = 0; page < (region.size - offset) / kPageSize4K; ++page) {
                    RELAY_TRY(
                        write_entry(table, page, (address + page * kPageSize4K) | kPresentWrite));
                }
            }
        }
    }
    return ok_status();
}

Status write_start_info(Domain& domain, const RamRegion* regions, usize region_count,
                        const relay_start_module* modules, u32 module_count) {
    relay_start_info info;
    std::memset(&info, 0, sizeof(info));
    info.magic = RELAY_START_INFO_MAGIC;
    info.version = RELAY_START_INFO_VERSION;
    info.size = sizeof(info);
    info.domid = domain.domid;
    info.vcpus = static_cast<u16>(domain.vcpu_count);
    info.permissions = domain.permissions;
    info.functions = domain.functions;
    info.console_port = domain.uart.base();
    info.memory_size = domain.ram_bytes;
    info.tsc_frequency_khz = domain.tsc_khz;
    std::memcpy(info.uuid, domain.uuid, sizeof(info.uuid));
    copy_string(domain.name_view(), info.name, sizeof(info.name));

    // After the block: memory ranges, modules, then the command line.
    u64 cursor = RELAY_GUEST_START_INFO + align_up_unchecked(sizeof(info), 16);
    relay_memory_range ranges[3];
    u32 range_count = 0;
    ranges[range_count++] = relay_memory_range{0, RELAY_GUEST_KERNEL_MIN, RELAY_MEMORY_RESERVED, 0};
    for (usize r = 0; r < region_count; ++r) {
        u64 base = regions[r].base.raw();
        u64 end = base + regions[r].size;
        if (base < RELAY_GUEST_KERNEL_MIN) {
            base = RELAY_GUEST_KERNEL_MIN;
        }
        ranges[range_count++] = relay_memory_range{base, end - base, RELAY_MEMORY_RAM, 0};
    }
    info.memory_ranges = cursor;
    info.memory_range_count = range_count;
    RELAY_TRY(domain.copy_to_guest(GuestPhysAddr(cursor), ranges, range_count * sizeof(ranges[0])));
    cursor += range_count * sizeof(ranges[0]);
    info.modules = cursor;
    info.module_count = module_count;
    RELAY_TRY(
        domain.copy_to_guest(GuestPhysAddr(cursor), modules, module_count * sizeof(modules[0])));
    cursor += module_count * sizeof(modules[0]);
    usize command_line_length = strnlen(domain.bootargs, sizeof(domain.bootargs));
    info.command_line = cursor;
    info.command_line_length = static_cast<u32>(command_line_length);
    if (cursor + command_line_length + 1 > RELAY_GUEST_START_INFO + RELAY_GUEST_START_INFO_SIZE) {
        return make_error(ErrorCode::kOutOfRange, "domain {}: start info does not fit",
                          domain.domid);
    }
    RELAY_TRY(domain.copy_to_guest(GuestPhysAddr(cursor), domain.bootargs, command_line_length));
    RELAY_TRY(domain.zero_guest(GuestPhysAddr(cursor + command_line_length), 1));
    domain.start_info = GuestPhysAddr(RELAY_GUEST_START_INFO);
    return domain.copy_to_guest(domain.start_info, &info, sizeof(info));
}

Status create_vcpus(Domain& domain, u64 kernel_entry, u64 tsc_offset) {
    if (domain.configured_cpus == 0 || domain.configured_cpus > kMaxVcpusPerDomain) {
        return make_error(ErrorCode::kOutOfRange, "domain {}: {} vCPUs (Relay runs 1 to {})",
                          domain.domid, domain.configured_cpus, kMaxVcpusPerDomain);
    }
    for (u32 id = 0; id < domain.configured_cpus; ++id) {
        RELAY_TRY_ASSIGN(vcpu, vcpu_allocate(domain, id));
        domain.vcpus[domain.vcpu_count++] = vcpu;
        vcpu_init_vmcb(*vcpu);
        vcpu->vmcb->tsc_offset = tsc_offset;
        vcpu->apic_base = kApicBaseDefault | kApicBaseX2apic | (id == 0 ? kApicBaseBsp : 0);
        vcpu->lapic.reset(id, domain.tsc_khz);
        if (id == 0) {
            vcpu_set_long_mode_start(*vcpu, kernel_entry, RELAY_GUEST_BOOT_STACK_TOP,
                                     RELAY_GUEST_START_INFO, RELAY_GUEST_PAGE_TABLES);
            vcpu->set_run_state(VcpuRunState::kRunning);
        } else {
            vcpu->set_run_state(VcpuRunState::kReset);  // started by HC_VCPU_UP
        }
    }
    for (u32 id = 0; id < domain.vcpu_count; ++id) {
        RELAY_TRY(scheduler_add(*domain.vcpus[id]));
    }
    return ok_status();
}

// The PCI functions of the domain's boot config (relay,passthrough): attached afresh, or,
// for a domain that ran before, taken over as they are (hv/passthrough.hpp).
Status attach_devices(const fbs::Domain& state, Domain& domain, bool restore) {
    const auto* list = state.boot() != nullptr ? state.boot()->passthrough() : nullptr;
    if (list == nullptr || list->size() == 0) {
        return ok_status();
    }
    PciFunction functions[kMaxAssignedFunctions];
    usize count = 0;
    for (const fbs::PciFunction* function : *list) {
        if (count == kMaxAssignedFunctions) {
            return make_error(ErrorCode::kOutOfRange,
                              "domain {}: more than {} assigned PCI functions", domain.domid,
                              kMaxAssignedFunctions);
        }
        functions[count++] = PciFunction::from_bdf(function->segment(), function->bdf());
    }
    std::span<const PciFunction> span(functions, count);
    return restore ? passthrough_restore(domain, span) : passthrough_attach(domain, span);
}

// A Configured domain: nothing ran yet; build it from its boot configuration.
Status build_fresh(const stream::StreamReader& reader, Domain& domain) {
    u64 bytes = domain.memory_kib * KiB;
    if (bytes < kMinimumRam) {
        return make_error(ErrorCode::kOutOfRange,
                          "domain {}: memory {} KiB is below the {} KiB minimum", domain.domid,
                          domain.memory_kib, kMinimumRam / KiB);
    }
    if (!domain.kernel.present) {
        return make_error(ErrorCode::kInvalidArgument, "domain {}: no kernel", domain.domid);
    }
    RamRegion regions[2];
    usize region_count = ram_regions(bytes, regions);
    RELAY_TRY(allocate_extent_storage(domain, bytes));
    for (usize r = 0; r < region_count; ++r) {
        RELAY_TRY(allocate_region(domain, regions[r]));
    }
    RELAY_TRY(map_nested(domain));
    if (const fbs::Domain* state = reader.find_domain(domain.domid)) {
        RELAY_TRY(attach_devices(*state, domain, false));
    }

    // Kernel, then the ramdisk right after it.
    RELAY_TRY_ASSIGN(kernel, module_data(reader, domain, domain.kernel.multiboot_index, "kernel"));
    ElfLoadLimits limits{GuestPhysAddr(RELAY_GUEST_KERNEL_MIN), regions[0].base + regions[0].size,
                         32};
    DomainMemoryWriter writer(domain);
    auto image = load_elf(kernel.bytes, kernel.size, limits, writer);
    if (!image.ok()) {
        return image.error().prefix("domain {}: kernel (module {}): ", domain.domid,
                                    domain.kernel.multiboot_index);
    }
    relay_start_module modules[2];
    u32 module_count = 0;
    modules[module_count++] = relay_start_module{
        image->lowest.raw(), image->highest - image->lowest, RELAY_MODULE_KERNEL, 0};
    if (domain.ramdisk.present) {
        RELAY_TRY_ASSIGN(ramdisk,
                         module_data(reader, domain, domain.ramdisk.multiboot_index, "ramdisk"));
        GuestPhysAddr at = GuestPhysAddr(align_up_unchecked(image->highest.raw(), kPageSize4K));
        if (!domain.range_is_ram(at, ramdisk.size)) {
            return make_error(
                ErrorCode::kOutOfRange,
                "domain {}: ramdisk of {} bytes does not fit after the kernel at {:#x}",
                domain.domid, ramdisk.size, at.raw());
        }
        RELAY_TRY(domain.copy_to_guest(at, ramdisk.bytes, ramdisk.size));
        modules[module_count++] =
            relay_start_module{at.raw(), ramdisk.size, RELAY_MODULE_RAMDISK, 0};
    }

    u64 gdt[3] = {0, kGdtCode64, kGdtData};
    RELAY_TRY(domain.copy_to_guest(GuestPhysAddr(RELAY_GUEST_GDT), gdt, sizeof(gdt)));
    RELAY_TRY(build_guest_page_tables(domain, regions, region_count));
    // The guest TSC starts near zero at build time.
    u64 tsc_offset = 0 - x86::rdtsc();
    RELAY_TRY(create_vcpus(domain, image->entry.raw(), tsc_offset));
    RELAY_TRY(write_start_info(domain, regions, region_count, modules, module_count));
    char placement[64];
    FormatBuffer where(placement, sizeof(placement));
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        format(where, i == 0 ? "{}" : ",{}", domain.vcpus[i]->pcpu);
    }
    log_info(
        "domain {} ({}): {} vCPU{} on cpus {}, {} MiB in {} extents, kernel {:#x}..{:#x} entry "
        "{:#x}{}",
        domain.domid, domain.name_view(), domain.vcpu_count, domain.vcpu_count == 1 ? "" : "s",
        where.view(), domain.ram_bytes / MiB, domain.extent_count, image->lowest.raw(),
        image->highest.raw(), image->entry.raw(), domain.is_control() ? ", control" : "");
    return ok_status();
}

// ---- Restore: a domain that ran before (live update, rollback) ----

svm::VmcbSegment segment_of(const fbs::Segment* s) {
    if (s == nullptr) {
        return svm::VmcbSegment{0, 0, 0, 0};
    }
    return svm::VmcbSegment{s->selector(), s->attributes(), s->limit(), s->base()};
}

void restore_lapic(Vcpu& vcpu, const fbs::LocalApic* lapic, u64 tsc_khz) {
    if (lapic == nullptr) {
        vcpu.lapic.reset(vcpu.id, tsc_khz);
        return;
    }
    VirtualLocalApic::State state;
    state.apic_id = lapic->apic_id();
    state.svr = lapic->svr();
    auto bitmap = [](const fbs::ApicVectorBitmap* from, u32* to) {
        for (int i = 0; i < 8; ++i) {
            to[i] = from != nullptr ? from->words()->Get(i) : 0;
        }
    };
    bitmap(lapic->irr(), state.irr);
    bitmap(lapic->isr(), state.isr);
    bitmap(lapic->tmr(), state.tmr);
    state.esr = lapic->esr();
    state.icr = lapic->icr();
    state.lvt_timer = lapic->lvt_timer();
    state.lvt_thermal = lapic->lvt_thermal();
    state.lvt_performance = lapic->lvt_performance();
    state.lvt_lint0 = lapic->lvt_lint0();
    state.lvt_lint1 = lapic->lvt_lint1();
    state.lvt_error = lapic->lvt_error();
    state.lvt_cmci = lapic->lvt_cmci();
    state.timer_divide = lapic->timer_divide();
    state.timer_initial_count = lapic->timer_initial_count();
    state.timer_current_count = lapic->timer_current_count();
    state.sampled_at = lapic->timer_count_sampled_at_tsc();
    state.tsc_deadline = lapic->tsc_deadline();
    vcpu.lapic.restore(state, tsc_khz, 0);
}

Status restore_vcpu(Domain& domain, const fbs::Vcpu& state) {
    RELAY_TRY_ASSIGN(vcpu, vcpu_allocate(domain, state.id()));
    domain.vcpus[domain.vcpu_count++] = vcpu;
    vcpu_init_vmcb(*vcpu);
    svm::Vmcb& v = *vcpu->vmcb;
    const fbs::GeneralPurposeRegisters* gprs = state.gprs();
    if (gprs != nullptr) {
        v.rax = gprs->rax();
        v.rsp = gprs->rsp();
        vcpu->regs = GuestRegisters{gprs->rbx(), gprs->rcx(), gprs->rdx(), gprs->rsi(), gprs->rdi(),
                                    gprs->rbp(), gprs->r8(),  gprs->r9(),  gprs->r10(), gprs->r11(),
                                    gprs->r12(), gprs->r13(), gprs->r14(), gprs->r15()};
    }
    v.rip = state.rip();
    v.rflags = state.rflags();
    v.cs = segment_of(state.cs());
    v.ds = segment_of(state.ds());
    v.es = segment_of(state.es());
    v.fs = segment_of(state.fs());
    v.gs = segment_of(state.gs());
    v.ss = segment_of(state.ss());
    v.ldtr = segment_of(state.ldtr());
    v.tr = segment_of(state.tr());
    if (state.gdtr() != nullptr) {
        v.gdtr = svm::VmcbSegment{0, 0, state.gdtr()->limit(), state.gdtr()->base()};
    }
    if (state.idtr() != nullptr) {
        v.idtr = svm::VmcbSegment{0, 0, state.idtr()->limit(), state.idtr()->base()};
    }
    v.cpl = state.cpl();
    v.cr0 = state.cr0();
    v.cr2 = state.cr2();
    v.cr3 = state.cr3();
    v.cr4 = state.cr4();
    v.efer = state.efer() | x86::kEferSvme;  // SVME is Relay's (APM §15.5.1)
    v.dr6 = state.dr6();
    v.dr7 = state.dr7();
    vcpu->debug_address[0] = state.dr0();
    vcpu->debug_address[1] = state.dr1();
    vcpu->debug_address[2] = state.dr2();
    vcpu->debug_address[3] = state.dr3();
    vcpu->xcr0 = state.xcr0() != 0 ? state.xcr0() : 1;
    if (const fbs::ModelSpecificRegisters* msrs = state.msrs()) {
        v.star = msrs->star();
        v.lstar = msrs->lstar();
        v.cstar = msrs->cstar();
        v.sfmask = msrs->sfmask();
        v.kernel_gs_base = msrs->kernel_gs_base();
        v.sysenter_cs = msrs->sysenter_cs();
        v.sysenter_esp = msrs->sysenter_esp();
        v.sysenter_eip = msrs->sysenter_eip();
        v.guest_pat = msrs->pat();
        v.spec_ctrl = msrs->spec_ctrl();
        vcpu->tsc_aux = msrs->tsc_aux();
        vcpu->apic_base = msrs->apic_base();
        vcpu->mtrr_def_type = msrs->mtrr_def_type();
    }
    if (const auto* xsave = state.xsave(); xsave != nullptr && xsave->size() > 0) {
        if (xsave->size() > kPageSize4K) {
            return make_error(ErrorCode::kUnsupported, "vCPU {}: XSAVE area of {} bytes exceeds {}",
                              state.id(), xsave->size(), kPageSize4K);
        }
        std::memcpy(vcpu->xsave_area, xsave->data(), xsave->size());
    }
    if (const fbs::EventInjection* event = state.pending_event();
        event != nullptr && event->valid()) {
        v.event_injection =
            svm::event::kValid | (static_cast<u64>(event->type()) << 8) | event->vector() |
            (event->has_error_code()
                 ? svm::event::kErrorCodeValid | (static_cast<u64>(event->error_code()) << 32)
                 : 0);
    }
    v.interrupt_shadow = state.interrupt_shadow() ? 1 : 0;
    vcpu->nmi_masked = state.nmi_masked();
    vcpu->nmi_pending.store(state.nmi_pending(), std::memory_order_relaxed);
    if (vcpu->nmi_masked) {
        v.intercept_misc1 |= svm::intercept1::kIret;
    }
    u64 vintr = svm::vintr::kIntrMasking | (state.cr8() & 0xF);
    if (const fbs::VirtualInterrupt* pending = state.virtual_interrupt();
        pending != nullptr && pending->irq_pending()) {
        // A virtual interrupt window was open: re-open it (hv/virtual_lapic.cpp).
        vintr |= svm::vintr::kIrq | svm::vintr::kIgnoreTpr | (0xFull << svm::vintr::kPriorityShift);
        v.intercept_misc1 |= svm::intercept1::kVintr;
    }
    v.virtual_interrupt = vintr;
    v.tsc_offset = static_cast<u64>(state.tsc_offset());
    restore_lapic(*vcpu, state.lapic(), domain.tsc_khz);
    vcpu->set_run_state(static_cast<VcpuRunState>(state.run_state()));
    return ok_status();
}

// A domain that ran before: its RAM is where the stream says (the boot path claimed
// those frames before anything else was allocated); rebuild what is internal to a build
// (nested page tables, VMCBs) and load the recorded state.
Status restore_running(Domain& domain, const fbs::Domain& state) {
    const auto* memory = state.memory();
    usize extent_count = memory != nullptr ? memory->size() : 0;
    u64 bytes = 0;
    for (usize i = 0; i < extent_count; ++i) {
        bytes += memory->Get(static_cast<flatbuffers::uoffset_t>(i))->size();
    }
    RELAY_TRY(allocate_extent_storage(domain, bytes));
    if (extent_count > domain.extent_capacity) {
        return make_error(ErrorCode::kOutOfRange, "domain {}: {} extents exceed {}", domain.domid,
                          extent_count, domain.extent_capacity);
    }
    for (usize i = 0; i < extent_count; ++i) {
        const fbs::MemoryExtent* e = memory->Get(static_cast<flatbuffers::uoffset_t>(i));
        domain.extents[i] =
            GuestMemoryExtent{GuestPhysAddr(e->guest_phys()), HostPhysAddr(e->host_phys()),
                              e->size(), static_cast<u32>(e->attributes()), e->page_size_log2()};
        if (!domain.extents[i].is_mmio()) {
            domain.ram_bytes += e->size();
        }
    }
    domain.extent_count = extent_count;
    RELAY_TRY(map_nested(domain));
    RELAY_TRY(attach_devices(state, domain, true));
    domain.start_info = GuestPhysAddr(state.start_info_guest_phys());
    if (const fbs::ConsoleState* console = state.console()) {
        Uart16550::Registers registers;
        std::string_view pending;
        if (const fbs::Uart16550* uart = console->uart()) {
            registers.divisor_latch = uart->divisor_latch();
            registers.interrupt_enable = uart->interrupt_enable();
            registers.fifo_control = uart->fifo_control();
            registers.line_control = uart->line_control();
            registers.modem_control = uart->modem_control();
            registers.scratch = uart->scratch();
        }
        if (const auto* unsent = console->unsent_output()) {
            pending =
                std::string_view(reinterpret_cast<const char*>(unsent->data()), unsent->size());
        }
        domain.uart.restore(registers, pending);
    }
    const auto* vcpus = state.vcpus();
    for (usize i = 0; vcpus != nullptr && i < vcpus->size(); ++i) {
        Status restored = restore_vcpu(domain, *vcpus->Get(static_cast<flatbuffers::uoffset_t>(i)));
        if (!restored.ok()) {
            return restored.error().prefix("domain {}: ", domain.domid);
        }
    }
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        RELAY_TRY(scheduler_add(*domain.vcpus[i]));
    }
    domain.shutdown_reason = static_cast<u8>(state.shutdown_reason());
    char placement[64];
    FormatBuffer where(placement, sizeof(placement));
    for (u32 i = 0; i < domain.vcpu_count; ++i) {
        format(where, i == 0 ? "{}" : ",{}", domain.vcpus[i]->pcpu);
    }
    log_info("domain {} ({}): restored {}, {} vCPU{} on cpus {}, {} MiB in {} extents{}",
             domain.domid, domain.name_view(), fbs::EnumNameDomainLifecycle(state.lifecycle()),
             domain.vcpu_count, domain.vcpu_count == 1 ? "" : "s", where.view(),
             domain.ram_bytes / MiB, domain.extent_count, domain.is_control() ? ", control" : "");
    // The lifecycle is set when the domains resume (liveupdate/target_boot.cpp); a paused
    // domain stays paused with one pause reference.
    if (state.lifecycle() == fbs::DomainLifecycle::Paused) {
        domain.pause_count.store(1, std::memory_order_relaxed);
    }
    return ok_status();
}

}  // namespace

Result<Domain*> build_domain(const stream::StreamReader& reader, const fbs::Domain& state) {
    RELAY_TRY_ASSIGN(domain, domain_create_slot(state.domid()));
    fill_identity(*domain, state);
    Status status;
    if (state.lifecycle() == fbs::DomainLifecycle::Configured) {
        status = build_fresh(reader, *domain);
    } else {
        status = restore_running(*domain, state);
    }
    if (!status.ok()) {
        // A domain that ran before keeps its devices and RAM (a rollback resumes it).
        domain_release_resources(*domain, state.lifecycle() != fbs::DomainLifecycle::Configured);
        domain_release_slot(domain);
        return status.error();
    }
    return domain;
}

BuildReport build_domains(const stream::StreamReader& reader) {
    BuildReport report;
    for (const fbs::Domain* state : reader.domains()) {
        auto domain = build_domain(reader, *state);
        if (!domain.ok()) {
            log_error("domain {} ({}): not built: {}", state->domid(), view(state->name()),
                      domain.error().message());
            ++report.failed;
            continue;
        }
        ++report.built;
    }
    return report;
}

}  // namespace relay
