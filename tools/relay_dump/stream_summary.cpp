#include "tools/relay_dump/stream_summary.hpp"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "migration_stream/features.hpp"
#include "migration_stream/stream_reader.hpp"

namespace relay::tools {
namespace {

namespace fbs = relay::schema;

class Text {
public:
    __attribute__((format(printf, 2, 3))) void line(const char* format, ...) {
        char buffer[1024];
        va_list arguments;
        va_start(arguments, format);
        std::vsnprintf(buffer, sizeof(buffer), format, arguments);
        va_end(arguments);
        text_ += buffer;
        text_ += '\n';
    }
    std::string take() { return std::move(text_); }

private:
    std::string text_;
};

std::string hex(const uint8_t* bytes, size_t size) {
    std::string text;
    char byte[4];
    for (size_t i = 0; i < size; ++i) {
        std::snprintf(byte, sizeof(byte), "%02x", bytes[i]);
        text += byte;
    }
    return text;
}

std::string features(stream::FeatureClass feature_class, uint64_t bits) {
    std::string text;
    for (uint8_t bit = 0; bit < 64; ++bit) {
        if ((bits & (uint64_t{1} << bit)) == 0) {
            continue;
        }
        const stream::FeatureInfo* info = stream::find_feature(feature_class, bit);
        text += text.empty() ? "" : ", ";
        text += info ? std::string(info->name) + " (bit " + std::to_string(bit) + ")"
                     : "bit " + std::to_string(bit) + " (unknown to this build)";
    }
    return text.empty() ? "none" : text;
}

std::string printable(const flatbuffers::String* text) {
    if (text == nullptr) {
        return "";
    }
    std::string out;
    for (char c : text->str()) {
        out += (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    return out;
}

std::string size_text(uint64_t bytes) {
    char text[32];
    if (bytes >= GiB && bytes % GiB == 0) {
        std::snprintf(text, sizeof(text), "%" PRIu64 " GiB", bytes / GiB);
    } else if (bytes >= MiB && bytes % MiB == 0) {
        std::snprintf(text, sizeof(text), "%" PRIu64 " MiB", bytes / MiB);
    } else if (bytes >= KiB && bytes % KiB == 0) {
        std::snprintf(text, sizeof(text), "%" PRIu64 " KiB", bytes / KiB);
    } else {
        std::snprintf(text, sizeof(text), "%" PRIu64 " bytes", bytes);
    }
    return text;
}

std::string flags(fbs::ExtentAttributes attributes) {
    std::string text;
    text += (attributes & fbs::ExtentAttributes::Read) == fbs::ExtentAttributes::Read ? 'r' : '-';
    text += (attributes & fbs::ExtentAttributes::Write) == fbs::ExtentAttributes::Write ? 'w' : '-';
    text +=
        (attributes & fbs::ExtentAttributes::Execute) == fbs::ExtentAttributes::Execute ? 'x' : '-';
    if ((attributes & fbs::ExtentAttributes::Uncached) == fbs::ExtentAttributes::Uncached) {
        text += " uc";
    }
    if ((attributes & fbs::ExtentAttributes::WriteCombining) ==
        fbs::ExtentAttributes::WriteCombining) {
        text += " wc";
    }
    if ((attributes & fbs::ExtentAttributes::Mmio) == fbs::ExtentAttributes::Mmio) {
        text += " mmio";
    }
    return text;
}

template <typename E>
std::string flag_names(E value, const char* const* names, const E* values, size_t count) {
    std::string text;
    for (size_t i = 0; i < count; ++i) {
        if ((value & values[i]) == values[i]) {
            text += (text.empty() ? "" : "|") + std::string(names[i]);
        }
    }
    return text.empty() ? "none" : text;
}

std::string permissions(fbs::DomainPermissions value) {
    const char* names[] = {"control", "hardware"};
    const fbs::DomainPermissions values[] = {fbs::DomainPermissions::Control,
                                             fbs::DomainPermissions::Hardware};
    return flag_names(value, names, values, 2);
}

std::string functions(fbs::DomainFunctions value) {
    const char* names[] = {"boot", "crash", "console", "xenstore", "legacy-dom0"};
    const fbs::DomainFunctions values[] = {
        fbs::DomainFunctions::Boot, fbs::DomainFunctions::Crash, fbs::DomainFunctions::Console,
        fbs::DomainFunctions::Xenstore, fbs::DomainFunctions::LegacyDom0};
    return flag_names(value, names, values, 5);
}

std::string mode(fbs::DomainMode value) {
    const char* names[] = {"pv", "device-model", "64-bit"};
    const fbs::DomainMode values[] = {fbs::DomainMode::Paravirtualized,
                                      fbs::DomainMode::EnableDeviceModel, fbs::DomainMode::Long};
    return flag_names(value, names, values, 3);
}

std::string bdf(uint16_t value) {
    char text[16];
    std::snprintf(text, sizeof(text), "%02x:%02x.%u", value >> 8, (value >> 3) & 0x1F, value & 7);
    return text;
}

std::string module_text(const fbs::ModuleReference* module) {
    if (module == nullptr) {
        return "none";
    }
    std::string text = "module " + std::to_string(module->mb_index());
    if (module->size() != 0) {
        text += " (" + std::to_string(module->size()) + " bytes)";
    }
    if (module->digest() != nullptr) {
        text += " sha256:" + hex(module->digest()->bytes()->data(), 8) + "...";
    }
    return text;
}

void vcpu_lines(Text& out, const fbs::Vcpu& vcpu) {
    out.line("    vCPU %u: %s, rip 0x%" PRIx64 ", rflags 0x%" PRIx64
             ", cpl %u, tsc offset %" PRId64,
             vcpu.id(), fbs::EnumNameVcpuRunState(vcpu.run_state()), vcpu.rip(), vcpu.rflags(),
             vcpu.cpl(), vcpu.tsc_offset());
    if (const fbs::GeneralPurposeRegisters* r = vcpu.gprs()) {
        out.line("      rax 0x%" PRIx64 " rbx 0x%" PRIx64 " rcx 0x%" PRIx64 " rdx 0x%" PRIx64
                 " rsi 0x%" PRIx64 " rdi 0x%" PRIx64 " rbp 0x%" PRIx64 " rsp 0x%" PRIx64,
                 r->rax(), r->rbx(), r->rcx(), r->rdx(), r->rsi(), r->rdi(), r->rbp(), r->rsp());
    }
    out.line("      cr0 0x%" PRIx64 " cr2 0x%" PRIx64 " cr3 0x%" PRIx64 " cr4 0x%" PRIx64
             " cr8 0x%" PRIx64 " efer 0x%" PRIx64 " xcr0 0x%" PRIx64,
             vcpu.cr0(), vcpu.cr2(), vcpu.cr3(), vcpu.cr4(), vcpu.cr8(), vcpu.efer(), vcpu.xcr0());
    if (const fbs::Segment* cs = vcpu.cs()) {
        out.line("      cs %04x base 0x%" PRIx64 " attr 0x%x, ss %04x, tr %04x, gdtr 0x%" PRIx64
                 "/0x%x, idtr 0x%" PRIx64 "/0x%x",
                 cs->selector(), cs->base(), cs->attributes(),
                 vcpu.ss() ? vcpu.ss()->selector() : 0, vcpu.tr() ? vcpu.tr()->selector() : 0,
                 vcpu.gdtr() ? vcpu.gdtr()->base() : 0, vcpu.gdtr() ? vcpu.gdtr()->limit() : 0,
                 vcpu.idtr() ? vcpu.idtr()->base() : 0, vcpu.idtr() ? vcpu.idtr()->limit() : 0);
    }
    if (const fbs::EventInjection* event = vcpu.pending_event(); event && event->valid()) {
        out.line(
            "      pending %s vector %u%s", fbs::EnumNameEventType(event->type()), event->vector(),
            event->has_error_code() ? (" error code " + std::to_string(event->error_code())).c_str()
                                    : "");
    }
    if (vcpu.interrupt_shadow() || vcpu.nmi_masked() || vcpu.nmi_pending()) {
        out.line("      interrupt shadow %s, NMI masked %s, NMI pending %s",
                 vcpu.interrupt_shadow() ? "yes" : "no", vcpu.nmi_masked() ? "yes" : "no",
                 vcpu.nmi_pending() ? "yes" : "no");
    }
    if (const fbs::LocalApic* lapic = vcpu.lapic()) {
        out.line("      lapic id %u, timer %s, initial %u current %u deadline 0x%" PRIx64
                 ", IRR[1] 0x%08x",
                 lapic->apic_id(), fbs::EnumNameApicTimerMode(lapic->timer_mode()),
                 lapic->timer_initial_count(), lapic->timer_current_count(), lapic->tsc_deadline(),
                 lapic->irr() ? lapic->irr()->words()->Get(1) : 0);
    }
    if (vcpu.xsave() != nullptr && vcpu.xsave()->size() > 0) {
        out.line("      XSAVE area %u bytes", vcpu.xsave()->size());
    }
    if (vcpu.cet() != nullptr) {
        out.line("      CET: s_cet 0x%" PRIx64 " ssp 0x%" PRIx64, vcpu.cet()->s_cet(),
                 vcpu.cet()->ssp());
    }
}

void domain_lines(Text& out, const fbs::Domain& domain) {
    std::string uuid = domain.uuid() ? hex(domain.uuid()->bytes()->data(), 16) : "none";
    out.line("  domain %u \"%s\": %s%s, uuid %s", domain.domid(), printable(domain.name()).c_str(),
             fbs::EnumNameDomainLifecycle(domain.lifecycle()),
             domain.lifecycle() == fbs::DomainLifecycle::ShutDown
                 ? (std::string(" (") + fbs::EnumNameShutdownReason(domain.shutdown_reason()) + ")")
                       .c_str()
                 : "",
             uuid.c_str());
    out.line("    permissions %s, functions %s, mode %s, security id \"%s\"",
             permissions(domain.permissions()).c_str(), functions(domain.functions()).c_str(),
             mode(domain.mode()).c_str(), printable(domain.security_id()).c_str());
    if (const fbs::BootConfig* boot = domain.boot()) {
        out.line("    boot: %s memory, %u cpus, kernel %s, ramdisk %s",
                 size_text(boot->memory_kib() * KiB).c_str(), boot->cpus(),
                 module_text(boot->kernel()).c_str(), module_text(boot->ramdisk()).c_str());
        if (boot->bootargs() != nullptr) {
            out.line("    bootargs \"%s\"", printable(boot->bootargs()).c_str());
        }
    }
    if (domain.start_info_guest_phys() != 0) {
        out.line("    start info at guest 0x%" PRIx64 ", TSC %" PRIu64 " kHz",
                 domain.start_info_guest_phys(), domain.tsc_frequency_khz());
    }
    if (domain.vcpus() != nullptr) {
        for (const fbs::Vcpu* vcpu : *domain.vcpus()) {
            vcpu_lines(out, *vcpu);
        }
    }
    uint64_t ram = 0;
    size_t count = domain.memory() ? domain.memory()->size() : 0;
    if (domain.memory() != nullptr) {
        for (const fbs::MemoryExtent* extent : *domain.memory()) {
            ram += extent->size();
        }
    }
    out.line("    memory: %zu extents, %s", count, size_text(ram).c_str());
    if (domain.memory() != nullptr) {
        for (const fbs::MemoryExtent* extent : *domain.memory()) {
            out.line("      guest [0x%" PRIx64 ", 0x%" PRIx64 "] -> host 0x%" PRIx64 " %s %s pages",
                     extent->guest_phys(), extent->guest_phys() + extent->size() - 1,
                     extent->host_phys(), flags(extent->attributes()).c_str(),
                     size_text(uint64_t{1} << extent->page_size_log2()).c_str());
        }
    }
    if (const fbs::ConsoleState* console = domain.console()) {
        out.line("    console: %u unsent bytes, %u received bytes pending",
                 console->unsent_output() ? console->unsent_output()->size() : 0,
                 console->uart() && console->uart()->receive_fifo()
                     ? console->uart()->receive_fifo()->size()
                     : 0);
    }
}

}  // namespace

std::string summarize_header(const stream::StreamHeader& header) {
    Text out;
    out.line("header:");
    out.line("  format %u, schema %u.%u, kind %s", header.format_version, header.schema_major,
             header.schema_minor, stream::stream_kind_name(header.kind));
    out.line("  producer build %s",
             hex(header.producer_build.bytes, stream::kBuildIdBytes).c_str());
    out.line("  payload %" PRIu64 " bytes, sha256 %s", header.payload_size,
             hex(header.digest.bytes, stream::kSha256Bytes).c_str());
    out.line("  required features: %s",
             features(stream::FeatureClass::kRequired, header.required_features).c_str());
    out.line("  optional features: %s",
             features(stream::FeatureClass::kOptional, header.optional_features).c_str());
    return out.take();
}

std::string summarize_stream(const stream::VerifiedStream& verified) {
    stream::StreamReader reader(verified);
    Text out;
    std::string header = summarize_header(reader.header());
    const fbs::HostState& state = reader.host_state();
    out.line("producer: \"%s\"", printable(reader.producer().version()).c_str());
    if (const fbs::HandoverRegion* handover = state.handover()) {
        out.line("handover region [0x%" PRIx64 ", +0x%" PRIx64 "), producer in half %u",
                 handover->base(), handover->size(), handover->producer_half());
    }
    out.line("preserved ranges: %zu", reader.preserved_ranges().size());
    for (const fbs::PreservedRange* range : reader.preserved_ranges()) {
        std::string owner = range->owner_domid() == 0xFFFF
                                ? ""
                                : " of domain " + std::to_string(range->owner_domid());
        out.line("  [0x%" PRIx64 ", 0x%" PRIx64 "] %s%s", range->base(),
                 range->base() + range->size() - 1, fbs::EnumNamePreservedRangeKind(range->kind()),
                 owner.c_str());
    }
    out.line("boot modules: %zu", reader.boot_modules().size());
    for (const fbs::BootModule* module : reader.boot_modules()) {
        out.line("  %u: [0x%" PRIx64 ", +0x%" PRIx64 ") \"%s\"", module->index(),
                 module->range()->base(), module->range()->size(),
                 printable(module->command_line()).c_str());
    }
    out.line("domains: %zu", reader.domains().size());
    for (const fbs::Domain* domain : reader.domains()) {
        domain_lines(out, *domain);
    }
    out.line("iommu: %zu units", reader.iommu_units().size());
    size_t unit_index = 0;
    for (const fbs::IommuUnit* unit : reader.iommu_units()) {
        out.line("  unit %zu: %s segment %u %s, registers 0x%" PRIx64
                 ", translation %s, root table 0x%" PRIx64 ", %u table frames",
                 unit_index++, fbs::EnumNameIommuKind(unit->kind()), unit->segment(),
                 bdf(unit->bdf()).c_str(), unit->register_base(),
                 unit->translation_enabled() ? "on" : "off",
                 unit->root_table() ? unit->root_table()->base() : 0,
                 unit->table_frames() ? unit->table_frames()->size() : 0);
        if (unit->assignments() != nullptr) {
            for (const fbs::IommuDeviceAssignment* assignment : *unit->assignments()) {
                out.line("    %s -> domain %u, tag %u, page table 0x%" PRIx64 " (%u levels)",
                         bdf(assignment->bdf()).c_str(), assignment->domid(),
                         assignment->hardware_domain_tag(), assignment->page_table_root(),
                         assignment->page_table_levels());
            }
        }
    }
    out.line("update history: %zu records", reader.update_history().size());
    for (const fbs::UpdateRecord* record : reader.update_history()) {
        out.line("  #%u %s -> %s, blackout %.3f ms, %s, started %" PRIu64 " ns after the epoch",
                 record->sequence(), printable(record->source_version()).c_str(),
                 printable(record->target_version()).c_str(),
                 static_cast<double>(record->blackout_ns()) / 1e6,
                 fbs::EnumNameUpdateOutcome(record->outcome()), record->started_at_unix_ns());
        if (record->phases() != nullptr) {
            for (const fbs::UpdatePhase* phase : *record->phases()) {
                out.line("      %-10s %.3f ms", printable(phase->name()).c_str(),
                         static_cast<double>(phase->duration_ns()) / 1e6);
            }
        }
    }
    return header + out.take();
}

}  // namespace relay::tools
