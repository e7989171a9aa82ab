// Semantic checks of a HostState that passed the FlatBuffers Verifier (step 6 in
// stream_verifier.hpp). The Verifier proves every offset is inside the payload; these
// checks prove the content makes sense before a single value is used to map memory or
// resume a vCPU. Every message names the object (domain by domid and name, vCPU by id,
// extent by index) and the offending value.
#include "lib/heap_sort.hpp"
#include "lib/utf8.hpp"
#include "migration_stream/features.hpp"
#include "migration_stream/stream_verifier.hpp"

namespace relay::stream {

// One host-physical range in the verifier's work memory.
struct HostRangeEntry {
    u64 base;
    u64 last;   // inclusive
    u32 tag;    // preserved range: kind | owner domid << 8; extent: domain position
    u32 index;  // position in its vector
};

usize verify_work_bytes(usize total_extents, usize preserved_ranges) {
    return (total_extents + preserved_ranges) * sizeof(HostRangeEntry);
}

namespace {

using schema::Domain;
using schema::HostState;
using schema::Vcpu;

constexpr u64 kPage = kPageSize4K;

template <typename E>
bool known_enum(E value, const char* (*name)(E)) {
    const char* text = name(value);
    return text != nullptr && text[0] != '\0';
}

template <typename E>
u64 unknown_flag_bits(E value) {
    using U = std::underlying_type_t<E>;
    return static_cast<U>(value) & ~static_cast<U>(E::ANY);
}

// [base, base + size) lies below the physical address limit without wrapping.
bool fits_physical(u64 base, u64 size) {
    return size > 0 && base < kPhysicalAddressLimit && size <= kPhysicalAddressLimit - base;
}

// In-place heapsort by (base, last): no heap, no recursion, O(n log n) worst case.
// Ties broken by owner and index so that messages are deterministic.
bool entry_less(const HostRangeEntry& a, const HostRangeEntry& b) {
    if (a.base != b.base) {
        return a.base < b.base;
    }
    if (a.last != b.last) {
        return a.last < b.last;
    }
    return a.tag < b.tag || (a.tag == b.tag && a.index < b.index);
}

void sort_entries(HostRangeEntry* entries, usize count) {
    heap_sort(entries, count, entry_less);
}

// "domain 7 (\"web\")" for messages; the name is cut at 32 bytes.
FixedString<64> label(const Domain& domain) {
    // No substr(): it may throw, and the hypervisor has no exception runtime.
    std::string_view name;
    if (domain.name() != nullptr) {
        usize size = domain.name()->size();
        name = std::string_view(domain.name()->c_str(), size > 32 ? 32 : size);
    }
    return FixedString<64>::formatted("domain {} (\"{}\")", domain.domid(), name);
}

usize length(const flatbuffers::String* text) {
    return text != nullptr ? text->size() : 0;
}

// FlatBuffers strings are UTF-8 by definition (lib/utf8.hpp).
bool is_utf8(const flatbuffers::String* text) {
    return text == nullptr ||
           relay::is_utf8(reinterpret_cast<const u8*>(text->data()), text->size());
}

template <typename T>
usize length(const flatbuffers::Vector<T>* vector) {
    return vector != nullptr ? vector->size() : 0;
}

class HostStateChecker {
public:
    HostStateChecker(const HostState& state, const StreamHeader& header,
                     const VerifyOptions& options)
        : state_(state), header_(header), limits_(options.limits), options_(options) {}

    Status run() {
        RELAY_TRY(check_counts());
        RELAY_TRY(check_producer());
        RELAY_TRY(check_tsc_frequency("host", state_.host_tsc_frequency_khz()));
        RELAY_TRY(check_handover());
        RELAY_TRY(check_domain_order());
        RELAY_TRY(check_preserved_ranges());
        RELAY_TRY(check_boot_modules());
        RELAY_TRY(check_domains());
        RELAY_TRY(check_extent_overlaps());
        RELAY_TRY(check_passthrough());
        RELAY_TRY(check_iommu());
        RELAY_TRY(check_update_history());
        return ok_status();
    }

    // Assigned PCI functions: counted, named with the feature bit, and each assigned to
    // one domain only (a device's DMA can go to one I/O address space).
    Status check_passthrough() {
        usize total = 0;
        const auto* domains = state_.domains();
        for (flatbuffers::uoffset_t d = 0; domains != nullptr && d < domains->size(); ++d) {
            const Domain& domain = *domains->Get(d);
            const auto* functions =
                domain.boot() != nullptr ? domain.boot()->passthrough() : nullptr;
            if (functions == nullptr || functions->size() == 0) {
                continue;
            }
            if (!has_required(Feature::kDeviceAssignment)) {
                auto what = FixedString<64>::formatted("domain {} has assigned PCI functions",
                                                       domain.domid());
                return missing_feature(what.c_str(), Feature::kDeviceAssignment);
            }
            total += functions->size();
            RELAY_TRY(check_limit("assigned PCI functions", total, limits_.max_assigned_functions));
            for (const schema::PciFunction* function : *functions) {
                // Every earlier assignment, in this domain and the ones before it.
                for (flatbuffers::uoffset_t e = 0; e <= d; ++e) {
                    const Domain& other = *domains->Get(e);
                    const auto* others =
                        other.boot() != nullptr ? other.boot()->passthrough() : nullptr;
                    for (flatbuffers::uoffset_t i = 0; others != nullptr && i < others->size();
                         ++i) {
                        const schema::PciFunction* earlier = others->Get(i);
                        if (earlier == function) {
                            break;  // reached this entry itself
                        }
                        if (earlier->segment() == function->segment() &&
                            earlier->bdf() == function->bdf()) {
                            return Error(ErrorCode::kCorrupt,
                                         "PCI function {:04x}:{:02x}:{:02x}.{} is assigned to "
                                         "domain {} and to "
                                         "domain {}",
                                         function->segment(), function->bdf() >> 8,
                                         (function->bdf() >> 3) & 0x1F, function->bdf() & 7,
                                         other.domid(), domain.domid());
                        }
                    }
                }
            }
        }
        return ok_status();
    }

private:
    bool has_required(Feature feature) const {
        return (header_.required_features & feature_mask(feature)) != 0;
    }

    Error missing_feature(const char* what, Feature feature) const {
        const FeatureInfo& info = feature_info(feature);
        return Error(ErrorCode::kCorrupt, "{} but required feature bit {} (\"{}\") is not set",
                     what, info.bit, info.name);
    }

    Status check_limit(const char* what, usize count, u32 limit) const {
        if (count > limit) {
            return Error(ErrorCode::kOutOfRange, "{}: {} exceeds the limit of {}", what, count,
                         limit);
        }
        return ok_status();
    }

    // A string within `limit` bytes and valid UTF-8; `what` names it in the message.
    Status check_text(const char* what, const flatbuffers::String* text, u32 limit) const {
        if (length(text) > limit) {
            return Error(ErrorCode::kOutOfRange, "{} is {} bytes, limit {}", what, length(text),
                         limit);
        }
        if (!is_utf8(text)) {
            return Error(ErrorCode::kCorrupt, "{} is not valid UTF-8", what);
        }
        return ok_status();
    }

    // FlatBuffers 2.0.8's Verifier aligns vectors only to their 4-byte length, not to
    // their elements: a vector of 8-byte structs or u64 could sit 4 bytes off, and reading
    // it would be undefined behaviour. The payload is 8-byte aligned (verify_stream checks
    // the stream base; the header is 128 bytes), so the absolute address tells.
    template <typename T>
    Status check_element_alignment(const char* what, const flatbuffers::Vector<T>* vector) const {
        // An empty vector has no elements to misread (and builders do not align it).
        if (vector == nullptr || vector->size() == 0) {
            return ok_status();
        }
        uptr address = reinterpret_cast<uptr>(vector->Data());
        if ((address & 7) != 0) {
            return Error(ErrorCode::kCorrupt, "{} vector is not 8-byte aligned in the payload",
                         what);
        }
        return ok_status();
    }

    // The reading hypervisor's range that [base, last] overlaps, or nullptr.
    const HypervisorRange* hypervisor_overlap(u64 base, u64 last) const {
        for (usize i = 0; i < options_.hypervisor_range_count; ++i) {
            const HypervisorRange& range = options_.hypervisor_ranges[i];
            if (range.size != 0 && base <= range.base + (range.size - 1) && range.base <= last) {
                return &range;
            }
        }
        return nullptr;
    }

    Status check_counts() {
        RELAY_TRY(check_limit("domains", length(state_.domains()), limits_.max_domains));
        RELAY_TRY(check_limit("preserved ranges", length(state_.preserved_ranges()),
                              limits_.max_preserved_ranges));
        RELAY_TRY(
            check_limit("boot modules", length(state_.boot_modules()), limits_.max_boot_modules));
        RELAY_TRY(check_limit("update records", length(state_.update_history()),
                              limits_.max_update_records));
        if (state_.iommu() != nullptr) {
            RELAY_TRY(check_limit("IOMMU units", length(state_.iommu()->units()),
                                  limits_.max_iommu_units));
        }
        usize extents = 0;
        if (state_.domains() != nullptr) {
            for (const Domain* domain : *state_.domains()) {
                usize count = length(domain->memory());
                if (count > limits_.max_extents_per_domain) {
                    return Error(ErrorCode::kOutOfRange,
                                 "{}: {} memory extents exceed the limit of {} per domain",
                                 label(*domain).c_str(), count, limits_.max_extents_per_domain);
                }
                extents += count;
            }
        }
        RELAY_TRY(check_limit("memory extents (all domains)", extents, limits_.max_total_extents));
        total_extents_ = extents;
        preserved_count_ = length(state_.preserved_ranges());
        usize needed = verify_work_bytes(total_extents_, preserved_count_);
        if (needed > 0 && (options_.work_memory == nullptr || options_.work_memory_size < needed ||
                           (reinterpret_cast<uptr>(options_.work_memory) & 7) != 0)) {
            return Error(ErrorCode::kOutOfMemory,
                         "verifier work memory too small: {} extents and {} preserved ranges need "
                         "{} bytes (8-byte aligned), {} given",
                         total_extents_, preserved_count_, needed, options_.work_memory_size);
        }
        preserved_ = static_cast<HostRangeEntry*>(options_.work_memory);
        extents_ = preserved_ + preserved_count_;
        return ok_status();
    }

    // The target times everything with it: its scheduler tick, its guests' APIC timers.
    static Status check_tsc_frequency(const char* whose, u64 khz) {
        if (khz != 0 && (khz < kMinTscKhz || khz > kMaxTscKhz)) {
            return Error(ErrorCode::kCorrupt,
                         "{} TSC frequency {} kHz is outside {} kHz to {} kHz (0: not recorded)",
                         whose, khz, kMinTscKhz, kMaxTscKhz);
        }
        return ok_status();
    }

    Status check_producer() {
        const schema::BuildInfo* producer = state_.producer();
        if (producer == nullptr || producer->build_id() == nullptr) {
            return Error(ErrorCode::kCorrupt, "payload names no producer build");
        }
        const auto& id = *producer->build_id()->bytes();
        for (usize i = 0; i < kBuildIdBytes; ++i) {
            if (id[static_cast<flatbuffers::uoffset_t>(i)] != header_.producer_build.bytes[i]) {
                return Error(ErrorCode::kCorrupt,
                             "payload producer build id differs from the header's at byte {} "
                             "({:#04x} vs {:#04x})",
                             i, id[static_cast<flatbuffers::uoffset_t>(i)],
                             header_.producer_build.bytes[i]);
            }
        }
        return check_text("producer version", producer->version(), limits_.max_version_bytes);
    }

    Status check_handover() {
        const schema::HandoverRegion* handover = state_.handover();
        if (handover == nullptr) {
            return ok_status();
        }
        u64 base = handover->base();
        u64 size = handover->size();
        if (!fits_physical(base, size) || !is_aligned(base, kPage) ||
            !is_aligned(size, 2 * kPage)) {
            return Error(ErrorCode::kCorrupt,
                         "handover region [{:#x}, +{:#x}) must be non-empty, page aligned, two "
                         "equal page-aligned halves, below 2^52",
                         base, size);
        }
        if (handover->producer_half() > 1) {
            return Error(ErrorCode::kCorrupt, "handover region producer half is {}, must be 0 or 1",
                         handover->producer_half());
        }
        u64 half = size / 2;
        target_half_base_ = handover->producer_half() == 0 ? base + half : base;
        target_half_size_ = half;
        return ok_status();
    }

    Status check_domain_order() {
        const auto* domains = state_.domains();
        if (domains == nullptr) {
            return ok_status();
        }
        for (flatbuffers::uoffset_t i = 0; i < domains->size(); ++i) {
            const Domain& domain = *domains->Get(i);
            u16 domid = domain.domid();
            if (domid >= kFirstReservedDomid && domid != kHyperlaunchBootDomid) {
                return Error(ErrorCode::kCorrupt,
                             "{}: domid {:#x} is reserved (>= {:#x}, other than the Hyperlaunch "
                             "boot domain {:#x})",
                             label(domain).c_str(), domid, kFirstReservedDomid,
                             kHyperlaunchBootDomid);
            }
            if (i > 0) {
                u16 previous = domains->Get(i - 1)->domid();
                if (previous == domid) {
                    return Error(ErrorCode::kCorrupt,
                                 "domid {} is not unique: domains {} and {} both use it", domid,
                                 i - 1, i);
                }
                if (previous > domid) {
                    return Error(ErrorCode::kCorrupt,
                                 "domains are not sorted by domid: domid {} (domain {}) follows "
                                 "domid {}",
                                 domid, i, previous);
                }
            }
        }
        return ok_status();
    }

    const Domain* find_domain(u16 domid) const {
        const auto* domains = state_.domains();
        if (domains == nullptr) {
            return nullptr;
        }
        usize low = 0;
        usize high = domains->size();
        while (low < high) {
            usize middle = low + (high - low) / 2;
            const Domain* candidate = domains->Get(static_cast<flatbuffers::uoffset_t>(middle));
            if (candidate->domid() == domid) {
                return candidate;
            }
            if (candidate->domid() < domid) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        return nullptr;
    }

    Status check_preserved_ranges() {
        const auto* ranges = state_.preserved_ranges();
        if (ranges == nullptr) {
            return ok_status();
        }
        RELAY_TRY(check_element_alignment("preserved ranges", ranges));
        for (flatbuffers::uoffset_t i = 0; i < ranges->size(); ++i) {
            const schema::PreservedRange& range = *ranges->Get(i);
            if (!fits_physical(range.base(), range.size()) || !is_aligned(range.base(), kPage) ||
                !is_aligned(range.size(), kPage)) {
                return Error(ErrorCode::kCorrupt,
                             "preserved range {} [{:#x}, +{:#x}) must be non-empty, 4 KiB aligned "
                             "and below 2^52",
                             i, range.base(), range.size());
            }
            if (!known_enum(range.kind(), schema::EnumNamePreservedRangeKind)) {
                return Error(ErrorCode::kCorrupt, "preserved range {} has unknown kind {}", i,
                             static_cast<u8>(range.kind()));
            }
            bool owned = range.kind() == schema::PreservedRangeKind::GuestRam ||
                         range.kind() == schema::PreservedRangeKind::NestedPageTables;
            if (owned && find_domain(range.owner_domid()) == nullptr) {
                return Error(ErrorCode::kCorrupt,
                             "preserved range {} ({}) belongs to domid {}, which is not in the "
                             "stream",
                             i, schema::EnumNamePreservedRangeKind(range.kind()),
                             range.owner_domid());
            }
            if (!owned && range.owner_domid() != kNoOwnerDomid) {
                return Error(ErrorCode::kCorrupt,
                             "preserved range {} ({}) names owner domid {}; only guest-owned "
                             "kinds have an owner ({:#x} = none)",
                             i, schema::EnumNamePreservedRangeKind(range.kind()),
                             range.owner_domid(), kNoOwnerDomid);
            }
            u64 last = range.base() + (range.size() - 1);
            if (const HypervisorRange* hypervisor = hypervisor_overlap(range.base(), last);
                owned && hypervisor != nullptr) {
                return Error(ErrorCode::kCorrupt,
                             "preserved range {} ({} of domid {}) [{:#x}, {:#x}] overlaps "
                             "hypervisor memory: {} [{:#x}, +{:#x})",
                             i, schema::EnumNamePreservedRangeKind(range.kind()),
                             range.owner_domid(), range.base(), last, hypervisor->what,
                             hypervisor->base, hypervisor->size);
            }
            if (target_half_size_ > 0 &&
                range.base() <= target_half_base_ + (target_half_size_ - 1) &&
                target_half_base_ <= last) {
                return Error(ErrorCode::kCorrupt,
                             "preserved range {} [{:#x}, {:#x}] lies in the target's half of the "
                             "handover region [{:#x}, +{:#x})",
                             i, range.base(), last, target_half_base_, target_half_size_);
            }
            preserved_[i] = HostRangeEntry{
                range.base(), last,
                static_cast<u32>(static_cast<u8>(range.kind())) | (u32{range.owner_domid()} << 8),
                i};
        }
        sort_entries(preserved_, preserved_count_);
        for (usize i = 1; i < preserved_count_; ++i) {
            if (preserved_[i].base <= preserved_[i - 1].last) {
                return Error(ErrorCode::kCorrupt,
                             "preserved ranges {} [{:#x}, {:#x}] and {} [{:#x}, {:#x}] overlap",
                             preserved_[i - 1].index, preserved_[i - 1].base,
                             preserved_[i - 1].last, preserved_[i].index, preserved_[i].base,
                             preserved_[i].last);
            }
        }
        return ok_status();
    }

    // The preserved range with the greatest base <= address, or nullptr.
    const HostRangeEntry* preserved_at_or_below(u64 address) const {
        usize low = 0;
        usize high = preserved_count_;
        while (low < high) {
            usize middle = low + (high - low) / 2;
            if (preserved_[middle].base <= address) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        return low == 0 ? nullptr : &preserved_[low - 1];
    }

    // True when [base, last] lies inside one preserved range of `kind` (and `owner`, if
    // not kNoOwnerDomid).
    bool inside_preserved(u64 base, u64 last, schema::PreservedRangeKind kind,
                          u16 owner = kNoOwnerDomid) const {
        const HostRangeEntry* range = preserved_at_or_below(base);
        if (range == nullptr || range->last < last) {
            return false;
        }
        if ((range->tag & 0xFF) != static_cast<u8>(kind)) {
            return false;
        }
        return owner == kNoOwnerDomid || (range->tag >> 8) == owner;
    }

    bool overlaps_preserved(u64 base, u64 last) const {
        const HostRangeEntry* range = preserved_at_or_below(last);
        return range != nullptr && range->last >= base;
    }

    Status check_boot_modules() {
        const auto* modules = state_.boot_modules();
        if (modules == nullptr) {
            return ok_status();
        }
        bool must_be_preserved =
            header_.kind == StreamKind::kLiveUpdate || header_.kind == StreamKind::kRestore;
        for (flatbuffers::uoffset_t i = 0; i < modules->size(); ++i) {
            const schema::BootModule& module = *modules->Get(i);
            if (i > 0 && modules->Get(i - 1)->index() >= module.index()) {
                return Error(ErrorCode::kCorrupt,
                             "boot modules are not sorted by unique index: index {} follows {}",
                             module.index(), modules->Get(i - 1)->index());
            }
            const schema::HostRange* range = module.range();
            if (range == nullptr || !fits_physical(range->base(), range->size())) {
                return Error(ErrorCode::kCorrupt,
                             "boot module {} has no host range or one that is empty or beyond "
                             "2^52",
                             module.index());
            }
            auto what = FixedString<48>::formatted("boot module {} command line", module.index());
            RELAY_TRY(
                check_text(what.c_str(), module.command_line(), limits_.max_command_line_bytes));
            u64 last = range->base() + (range->size() - 1);
            if (must_be_preserved && !inside_preserved(align_down(range->base(), kPage), last,
                                                       schema::PreservedRangeKind::BootModule)) {
                return Error(ErrorCode::kCorrupt,
                             "boot module {} [{:#x}, {:#x}] is not inside a boot-module preserved "
                             "range; the target would overwrite it",
                             module.index(), range->base(), last);
            }
        }
        return ok_status();
    }

    bool boot_module_exists(u32 index) const {
        const auto* modules = state_.boot_modules();
        if (modules == nullptr) {
            return false;
        }
        for (const schema::BootModule* module : *modules) {
            if (module->index() == index) {
                return true;
            }
        }
        return false;
    }

    Status check_domains() {
        const auto* domains = state_.domains();
        if (domains == nullptr) {
            return ok_status();
        }
        for (flatbuffers::uoffset_t i = 0; i < domains->size(); ++i) {
            RELAY_TRY(check_domain(i, *domains->Get(i)));
        }
        return ok_status();
    }

    Status check_domain(u32 position, const Domain& domain) {
        auto name = label(domain);
        auto name_what = FixedString<48>::formatted("domain {}: name", domain.domid());
        RELAY_TRY(check_text(name_what.c_str(), domain.name(), limits_.max_name_bytes));
        auto security_what = FixedString<96>::formatted("{}: security id", name.c_str());
        RELAY_TRY(
            check_text(security_what.c_str(), domain.security_id(), limits_.max_security_id_bytes));
        if (u64 bits = unknown_flag_bits(domain.permissions())) {
            return Error(ErrorCode::kCorrupt, "{}: unknown permission bits {:#x}", name.c_str(),
                         bits);
        }
        if (u64 bits = unknown_flag_bits(domain.functions())) {
            return Error(ErrorCode::kCorrupt, "{}: unknown function bits {:#x}", name.c_str(),
                         bits);
        }
        if (u64 bits = unknown_flag_bits(domain.mode())) {
            return Error(ErrorCode::kCorrupt, "{}: unknown mode bits {:#x}", name.c_str(), bits);
        }
        if (!known_enum(domain.lifecycle(), schema::EnumNameDomainLifecycle)) {
            return Error(ErrorCode::kCorrupt, "{}: unknown lifecycle state {}", name.c_str(),
                         static_cast<u8>(domain.lifecycle()));
        }
        if (!known_enum(domain.shutdown_reason(), schema::EnumNameShutdownReason)) {
            return Error(ErrorCode::kCorrupt, "{}: unknown shutdown reason {}", name.c_str(),
                         static_cast<u8>(domain.shutdown_reason()));
        }
        const schema::BootConfig* boot = domain.boot();
        if (boot == nullptr) {
            return Error(ErrorCode::kCorrupt, "{}: has no boot config", name.c_str());
        }
        if (boot->cpus() == 0 || boot->cpus() > limits_.max_vcpus_per_domain) {
            return Error(ErrorCode::kOutOfRange,
                         "{}: boot config declares {} vCPUs; must be 1 to {}", name.c_str(),
                         boot->cpus(), limits_.max_vcpus_per_domain);
        }
        if (boot->memory_kib() == 0 || boot->memory_kib() > kPhysicalAddressLimit / KiB) {
            return Error(ErrorCode::kOutOfRange,
                         "{}: boot config declares {} KiB of memory; must be 1 KiB to 2^52 bytes",
                         name.c_str(), boot->memory_kib());
        }
        auto tsc_what = FixedString<96>::formatted("{}: guest", name.c_str());
        RELAY_TRY(check_tsc_frequency(tsc_what.c_str(), domain.tsc_frequency_khz()));
        auto bootargs_what = FixedString<96>::formatted("{}: bootargs", name.c_str());
        RELAY_TRY(
            check_text(bootargs_what.c_str(), boot->bootargs(), limits_.max_command_line_bytes));
        bool configured = domain.lifecycle() == schema::DomainLifecycle::Configured;
        if (configured && boot->kernel() != nullptr && length(state_.boot_modules()) > 0 &&
            !boot_module_exists(boot->kernel()->mb_index())) {
            return Error(ErrorCode::kCorrupt,
                         "{}: kernel is multiboot module {}, which is not among the boot modules",
                         name.c_str(), boot->kernel()->mb_index());
        }
        usize vcpu_count = length(domain.vcpus());
        if (vcpu_count != boot->cpus()) {
            return Error(ErrorCode::kCorrupt, "{}: has {} vCPUs but its boot config declares {}",
                         name.c_str(), vcpu_count, boot->cpus());
        }
        for (flatbuffers::uoffset_t i = 0; i < vcpu_count; ++i) {
            const Vcpu& vcpu = *domain.vcpus()->Get(i);
            Status status = check_vcpu(i, vcpu, configured);
            if (!status.ok()) {
                return status.error().prefix("{}: vCPU {}: ", name.c_str(), i);
            }
        }
        RELAY_TRY(check_apic_ids(domain));
        if (const schema::ConsoleState* console = domain.console()) {
            usize output = length(console->unsent_output());
            usize input = console->uart() != nullptr ? length(console->uart()->receive_fifo()) : 0;
            if (output > limits_.max_console_bytes || input > limits_.max_console_bytes) {
                return Error(ErrorCode::kOutOfRange,
                             "{}: console holds {} unsent and {} received bytes, limit {}",
                             name.c_str(), output, input, limits_.max_console_bytes);
            }
        }
        return check_extents(position, domain);
    }

    Status check_vcpu(u32 index, const Vcpu& vcpu, bool domain_configured) {
        if (vcpu.id() != index) {
            return Error(ErrorCode::kCorrupt, "id is {}, must equal its position {}", vcpu.id(),
                         index);
        }
        if (!known_enum(vcpu.run_state(), schema::EnumNameVcpuRunState)) {
            return Error(ErrorCode::kCorrupt, "unknown run state {}",
                         static_cast<u8>(vcpu.run_state()));
        }
        if (domain_configured && vcpu.run_state() != schema::VcpuRunState::Reset) {
            return Error(ErrorCode::kCorrupt,
                         "run state is {} but the domain is configured (never started): vCPUs "
                         "must be in reset",
                         schema::EnumNameVcpuRunState(vcpu.run_state()));
        }
        if (vcpu.cpl() > 3) {
            return Error(ErrorCode::kCorrupt, "CPL {} is not 0-3", vcpu.cpl());
        }
        if (vcpu.cr8() > 15) {
            return Error(ErrorCode::kCorrupt, "CR8 {:#x} has bits above the 4-bit TPR", vcpu.cr8());
        }
        // XCR0: x87 must be set; AVX needs SSE (Intel SDM vol. 1 §13.3, XSETBV #GP rules).
        if ((vcpu.xcr0() & 1) == 0 || ((vcpu.xcr0() & 4) != 0 && (vcpu.xcr0() & 2) == 0)) {
            return Error(ErrorCode::kCorrupt, "XCR0 {:#x} is not a value XSETBV accepts",
                         vcpu.xcr0());
        }
        usize xsave = length(vcpu.xsave());
        if (xsave > 0) {
            // Legacy region (512) + XSAVE header (64) at least (Intel SDM vol. 1 §13.4).
            if (xsave < 576 || xsave > limits_.max_xsave_bytes) {
                return Error(ErrorCode::kOutOfRange,
                             "XSAVE area is {} bytes; must be 576 to {} bytes", xsave,
                             limits_.max_xsave_bytes);
            }
            if (!has_required(Feature::kXsaveState)) {
                return missing_feature("carries an XSAVE area", Feature::kXsaveState);
            }
        }
        if (vcpu.cet() != nullptr && !has_required(Feature::kCetState)) {
            return missing_feature("carries CET state", Feature::kCetState);
        }
        if (const schema::EventInjection* event = vcpu.pending_event(); event && event->valid()) {
            RELAY_TRY(check_event(*event));
        }
        if (const schema::VirtualInterrupt* interrupt = vcpu.virtual_interrupt()) {
            if (interrupt->tpr() > 15 || interrupt->priority() > 15) {
                return Error(ErrorCode::kCorrupt,
                             "virtual interrupt TPR {} / priority {} exceed 15", interrupt->tpr(),
                             interrupt->priority());
            }
        }
        if (const schema::ModelSpecificRegisters* msrs = vcpu.msrs()) {
            RELAY_TRY(check_element_alignment("fixed-range MTRR", msrs->mtrr_fixed()));
            RELAY_TRY(check_element_alignment("variable-range MTRR", msrs->mtrr_variable()));
            usize fixed = length(msrs->mtrr_fixed());
            if (fixed != 0 && fixed != 11) {
                return Error(ErrorCode::kCorrupt, "{} fixed-range MTRRs; there are 0 or 11", fixed);
            }
            if (length(msrs->mtrr_variable()) > limits_.max_mtrr_variable_ranges) {
                return Error(ErrorCode::kOutOfRange, "{} variable-range MTRRs, limit {}",
                             length(msrs->mtrr_variable()), limits_.max_mtrr_variable_ranges);
            }
        }
        if (const schema::LocalApic* lapic = vcpu.lapic()) {
            RELAY_TRY(check_lapic(*lapic));
        }
        return ok_status();
    }

    // EVENTINJ (AMD APM vol. 2 §15.20): exceptions use vectors 0-31 except 2 (NMI has its
    // own type); only exceptions push an error code.
    Status check_event(const schema::EventInjection& event) {
        if (!known_enum(event.type(), schema::EnumNameEventType)) {
            return Error(ErrorCode::kCorrupt, "pending event has unknown type {}",
                         static_cast<u8>(event.type()));
        }
        if (event.type() == schema::EventType::Exception &&
            (event.vector() >= 32 || event.vector() == 2)) {
            return Error(ErrorCode::kCorrupt, "pending exception has vector {}, not an exception",
                         event.vector());
        }
        if (event.has_error_code() && event.type() != schema::EventType::Exception) {
            return Error(ErrorCode::kCorrupt, "pending {} event has an error code",
                         schema::EnumNameEventType(event.type()));
        }
        return ok_status();
    }

    Status check_lapic(const schema::LocalApic& lapic) {
        if (!known_enum(lapic.timer_mode(), schema::EnumNameApicTimerMode)) {
            return Error(ErrorCode::kCorrupt, "local APIC timer mode {} is unknown",
                         static_cast<u8>(lapic.timer_mode()));
        }
        // LVT timer bits 18:17 select the mode (Intel SDM vol. 3 §10.5.1).
        u32 lvt_mode = (lapic.lvt_timer() >> 17) & 3;
        if (lvt_mode != static_cast<u8>(lapic.timer_mode())) {
            return Error(ErrorCode::kCorrupt,
                         "local APIC timer mode is {} but LVT timer {:#x} selects mode {}",
                         schema::EnumNameApicTimerMode(lapic.timer_mode()), lapic.lvt_timer(),
                         lvt_mode);
        }
        // TDCR uses bits 0, 1 and 3 (Intel SDM vol. 3 §10.5.4).
        if ((lapic.timer_divide() & ~0xBu) != 0) {
            return Error(ErrorCode::kCorrupt, "local APIC timer divide {:#x} has reserved bits",
                         lapic.timer_divide());
        }
        return ok_status();
    }

    Status check_apic_ids(const Domain& domain) {
        const auto* vcpus = domain.vcpus();
        if (vcpus == nullptr) {
            return ok_status();
        }
        // At most max_vcpus_per_domain (256) vCPUs: quadratic is cheap and needs no memory.
        for (flatbuffers::uoffset_t i = 0; i < vcpus->size(); ++i) {
            const schema::LocalApic* a = vcpus->Get(i)->lapic();
            if (a == nullptr) {
                continue;
            }
            for (flatbuffers::uoffset_t j = 0; j < i; ++j) {
                const schema::LocalApic* b = vcpus->Get(j)->lapic();
                if (b != nullptr && a->apic_id() == b->apic_id()) {
                    return Error(ErrorCode::kCorrupt, "{}: vCPUs {} and {} share APIC id {}",
                                 label(domain).c_str(), j, i, a->apic_id());
                }
            }
        }
        return ok_status();
    }

    Status check_extents(u32 position, const Domain& domain) {
        const auto* memory = domain.memory();
        if (memory == nullptr) {
            return ok_status();
        }
        auto name = label(domain);
        auto what = FixedString<96>::formatted("{}: memory", name.c_str());
        RELAY_TRY(check_element_alignment(what.c_str(), memory));
        u64 ram_bytes = 0;
        u64 declared = domain.boot()->memory_kib() * KiB;
        for (flatbuffers::uoffset_t i = 0; i < memory->size(); ++i) {
            const schema::MemoryExtent& extent = *memory->Get(i);
            u8 shift = extent.page_size_log2();
            if (shift != 12 && shift != 21 && shift != 30) {
                return Error(ErrorCode::kCorrupt,
                             "{}: extent {}: page size 2^{} is not 4 KiB, 2 MiB or 1 GiB",
                             name.c_str(), i, shift);
            }
            u64 page = u64{1} << shift;
            if (!fits_physical(extent.guest_phys(), extent.size()) ||
                !fits_physical(extent.host_phys(), extent.size())) {
                return Error(ErrorCode::kCorrupt,
                             "{}: extent {}: guest {:#x} / host {:#x} + size {:#x} is empty or "
                             "reaches beyond 2^52",
                             name.c_str(), i, extent.guest_phys(), extent.host_phys(),
                             extent.size());
            }
            if (!is_aligned(extent.guest_phys(), page) || !is_aligned(extent.host_phys(), page) ||
                !is_aligned(extent.size(), page)) {
                return Error(ErrorCode::kCorrupt,
                             "{}: extent {}: guest {:#x}, host {:#x}, size {:#x} are not all "
                             "aligned to its {:#x}-byte pages",
                             name.c_str(), i, extent.guest_phys(), extent.host_phys(),
                             extent.size(), page);
            }
            if (u64 bits = unknown_flag_bits(extent.attributes())) {
                return Error(ErrorCode::kCorrupt, "{}: extent {}: unknown attribute bits {:#x}",
                             name.c_str(), i, bits);
            }
            if (shift > 12 && !has_required(Feature::kLargePages)) {
                auto what = FixedString<128>::formatted("{}: extent {} uses 2^{}-byte pages",
                                                        name.c_str(), i, shift);
                return missing_feature(what.c_str(), Feature::kLargePages);
            }
            if (i > 0) {
                const schema::MemoryExtent& previous = *memory->Get(i - 1);
                u64 previous_last = previous.guest_phys() + (previous.size() - 1);
                if (extent.guest_phys() <= previous_last) {
                    return Error(ErrorCode::kCorrupt,
                                 "{}: extent {} at guest {:#x} overlaps or precedes extent {} "
                                 "[{:#x}, {:#x}] (extents are sorted by guest address, disjoint)",
                                 name.c_str(), i, extent.guest_phys(), i - 1, previous.guest_phys(),
                                 previous_last);
                }
            }
            u64 host_last = extent.host_phys() + (extent.size() - 1);
            bool mmio = (extent.attributes() & schema::ExtentAttributes::Mmio) ==
                        schema::ExtentAttributes::Mmio;
            // Guest RAM or a device's registers, both mapped into the guest: never the
            // reader's own memory. Checked first: a stream that also lists the hypervisor's
            // memory as this domain's preserved RAM still names the real problem.
            if (const HypervisorRange* hypervisor =
                    hypervisor_overlap(extent.host_phys(), host_last)) {
                return Error(ErrorCode::kCorrupt,
                             "{}: {}extent {} host [{:#x}, {:#x}] overlaps hypervisor memory: {} "
                             "[{:#x}, +{:#x})",
                             name.c_str(), mmio ? "MMIO " : "", i, extent.host_phys(), host_last,
                             hypervisor->what, hypervisor->base, hypervisor->size);
            }
            if (mmio) {
                if (overlaps_preserved(extent.host_phys(), host_last)) {
                    return Error(ErrorCode::kCorrupt,
                                 "{}: MMIO extent {} host [{:#x}, {:#x}] overlaps a preserved "
                                 "range (RAM or tables)",
                                 name.c_str(), i, extent.host_phys(), host_last);
                }
            } else {
                ram_bytes += extent.size();
                if (ram_bytes > declared) {
                    return Error(ErrorCode::kCorrupt,
                                 "{}: RAM extents up to extent {} add up to {:#x} bytes, more than "
                                 "the declared {} KiB",
                                 name.c_str(), i, ram_bytes, domain.boot()->memory_kib());
                }
                if (!inside_preserved(extent.host_phys(), host_last,
                                      schema::PreservedRangeKind::GuestRam, domain.domid())) {
                    return Error(ErrorCode::kCorrupt,
                                 "{}: extent {} host [{:#x}, {:#x}] is not inside a guest-RAM "
                                 "preserved range of domid {}",
                                 name.c_str(), i, extent.host_phys(), host_last, domain.domid());
                }
            }
            extents_[extents_filled_++] =
                HostRangeEntry{extent.host_phys(), host_last, position, i};
        }
        return ok_status();
    }

    Status check_extent_overlaps() {
        sort_entries(extents_, extents_filled_);
        for (usize i = 1; i < extents_filled_; ++i) {
            const HostRangeEntry& a = extents_[i - 1];
            const HostRangeEntry& b = extents_[i];
            if (b.base <= a.last) {
                const Domain& first = *state_.domains()->Get(a.tag);
                const Domain& second = *state_.domains()->Get(b.tag);
                return Error(ErrorCode::kCorrupt,
                             "host memory mapped twice: {} extent {} [{:#x}, {:#x}] overlaps "
                             "domain {} extent {} [{:#x}, {:#x}]",
                             label(first).c_str(), a.index, a.base, a.last, second.domid(), b.index,
                             b.base, b.last);
            }
        }
        return ok_status();
    }

    Status check_table_range(u32 unit, const char* what, u64 base, u64 size) const {
        if (size == 0) {
            return ok_status();
        }
        if (!fits_physical(base, size) ||
            !inside_preserved(base, base + (size - 1), schema::PreservedRangeKind::IommuTables)) {
            return Error(ErrorCode::kCorrupt,
                         "IOMMU unit {}: {} [{:#x}, +{:#x}) is not inside an IOMMU-tables "
                         "preserved range",
                         unit, what, base, size);
        }
        return ok_status();
    }

    Status check_iommu() {
        if (state_.iommu() == nullptr || state_.iommu()->units() == nullptr) {
            return ok_status();
        }
        const auto& units = *state_.iommu()->units();
        if (units.size() > 0 && !has_required(Feature::kIommuState)) {
            return missing_feature("the stream carries IOMMU units", Feature::kIommuState);
        }
        for (flatbuffers::uoffset_t u = 0; u < units.size(); ++u) {
            const schema::IommuUnit& unit = *units.Get(u);
            if (!known_enum(unit.kind(), schema::EnumNameIommuKind)) {
                return Error(ErrorCode::kCorrupt, "IOMMU unit {}: unknown kind {}", u,
                             static_cast<u8>(unit.kind()));
            }
            if (const schema::HostRange* root = unit.root_table()) {
                RELAY_TRY(check_table_range(u, "root table", root->base(), root->size()));
            } else if (unit.translation_enabled()) {
                return Error(ErrorCode::kCorrupt,
                             "IOMMU unit {}: translation is enabled but no root table is given", u);
            }
            if (const schema::HostRange* buffer = unit.command_buffer()) {
                RELAY_TRY(check_table_range(u, "command buffer", buffer->base(), buffer->size()));
            }
            if (const schema::HostRange* log = unit.event_log()) {
                RELAY_TRY(check_table_range(u, "event log", log->base(), log->size()));
            }
            auto frames_what = FixedString<48>::formatted("IOMMU unit {}: table frames", u);
            RELAY_TRY(check_element_alignment(frames_what.c_str(), unit.table_frames()));
            usize frames = length(unit.table_frames());
            if (frames > limits_.max_table_frames_per_iommu) {
                return Error(ErrorCode::kOutOfRange, "IOMMU unit {}: {} table frames, limit {}", u,
                             frames, limits_.max_table_frames_per_iommu);
            }
            for (flatbuffers::uoffset_t f = 0; f < frames; ++f) {
                const schema::HostRange& frame = *unit.table_frames()->Get(f);
                if (!is_aligned(frame.base(), kPage) || !is_aligned(frame.size(), kPage)) {
                    return Error(ErrorCode::kCorrupt,
                                 "IOMMU unit {}: table frame {} [{:#x}, +{:#x}) is not 4 KiB "
                                 "aligned",
                                 u, f, frame.base(), frame.size());
                }
                auto what = FixedString<32>::formatted("table frame {}", f);
                if (frame.size() == 0) {
                    return Error(ErrorCode::kCorrupt, "IOMMU unit {}: table frame {} is empty", u,
                                 f);
                }
                RELAY_TRY(check_table_range(u, what.c_str(), frame.base(), frame.size()));
            }
            RELAY_TRY(check_assignments(u, unit));
        }
        return ok_status();
    }

    Status check_assignments(u32 u, const schema::IommuUnit& unit) {
        usize count = length(unit.assignments());
        if (count > limits_.max_assignments_per_iommu) {
            return Error(ErrorCode::kOutOfRange, "IOMMU unit {}: {} device assignments, limit {}",
                         u, count, limits_.max_assignments_per_iommu);
        }
        for (flatbuffers::uoffset_t a = 0; a < count; ++a) {
            const schema::IommuDeviceAssignment& assignment = *unit.assignments()->Get(a);
            u16 bdf = assignment.bdf();
            if (a > 0 && unit.assignments()->Get(a - 1)->bdf() >= bdf) {
                return Error(ErrorCode::kCorrupt,
                             "IOMMU unit {}: assignments are not sorted by unique BDF: "
                             "{:02x}:{:02x}.{} follows {:#06x}",
                             u, bdf >> 8, (bdf >> 3) & 0x1F, bdf & 7,
                             unit.assignments()->Get(a - 1)->bdf());
            }
            if (find_domain(assignment.domid()) == nullptr) {
                return Error(ErrorCode::kCorrupt,
                             "IOMMU unit {}: device {:02x}:{:02x}.{} is assigned to domid {}, "
                             "which is not in the stream",
                             u, bdf >> 8, (bdf >> 3) & 0x1F, bdf & 7, assignment.domid());
            }
            if (assignment.page_table_root() != 0) {
                if (!is_aligned(assignment.page_table_root(), kPage) ||
                    !inside_preserved(assignment.page_table_root(),
                                      assignment.page_table_root() + (kPage - 1),
                                      schema::PreservedRangeKind::IommuTables)) {
                    return Error(ErrorCode::kCorrupt,
                                 "IOMMU unit {}: device {:02x}:{:02x}.{}: page table root {:#x} "
                                 "is not a page inside an IOMMU-tables preserved range",
                                 u, bdf >> 8, (bdf >> 3) & 0x1F, bdf & 7,
                                 assignment.page_table_root());
                }
                if (assignment.page_table_levels() < 1 || assignment.page_table_levels() > 6) {
                    return Error(ErrorCode::kCorrupt,
                                 "IOMMU unit {}: device {:02x}:{:02x}.{}: {} page-table levels "
                                 "(1 to 6)",
                                 u, bdf >> 8, (bdf >> 3) & 0x1F, bdf & 7,
                                 assignment.page_table_levels());
                }
            }
            u64 remap = assignment.interrupt_remapping_table();
            if (remap != 0 &&
                !inside_preserved(remap, remap, schema::PreservedRangeKind::IommuTables)) {
                return Error(ErrorCode::kCorrupt,
                             "IOMMU unit {}: device {:02x}:{:02x}.{}: interrupt remapping table "
                             "{:#x} is not inside an IOMMU-tables preserved range",
                             u, bdf >> 8, (bdf >> 3) & 0x1F, bdf & 7, remap);
            }
        }
        return ok_status();
    }

    Status check_update_history() {
        const auto* history = state_.update_history();
        if (history == nullptr) {
            return ok_status();
        }
        for (flatbuffers::uoffset_t i = 0; i < history->size(); ++i) {
            const schema::UpdateRecord& record = *history->Get(i);
            if (i > 0 && history->Get(i - 1)->sequence() >= record.sequence()) {
                return Error(ErrorCode::kCorrupt,
                             "update history: record {} has sequence {}, not after {}", i,
                             record.sequence(), history->Get(i - 1)->sequence());
            }
            if (!known_enum(record.outcome(), schema::EnumNameUpdateOutcome)) {
                return Error(ErrorCode::kCorrupt,
                             "update history: record {} has unknown outcome {}", i,
                             static_cast<u8>(record.outcome()));
            }
            auto source = FixedString<64>::formatted("update record {} source version", i);
            RELAY_TRY(
                check_text(source.c_str(), record.source_version(), limits_.max_version_bytes));
            auto target = FixedString<64>::formatted("update record {} target version", i);
            RELAY_TRY(
                check_text(target.c_str(), record.target_version(), limits_.max_version_bytes));
            usize phases = length(record.phases());
            if (phases > limits_.max_update_phases) {
                return Error(ErrorCode::kOutOfRange,
                             "update history: record {} has {} phases, limit {}", i, phases,
                             limits_.max_update_phases);
            }
            for (flatbuffers::uoffset_t p = 0; p < phases; ++p) {
                auto what = FixedString<64>::formatted("update record {} phase {} name", i, p);
                RELAY_TRY(check_text(what.c_str(), record.phases()->Get(p)->name(),
                                     limits_.max_name_bytes));
            }
        }
        return ok_status();
    }

    const HostState& state_;
    const StreamHeader& header_;
    const StreamLimits& limits_;
    const VerifyOptions& options_;
    usize total_extents_ = 0;
    usize preserved_count_ = 0;
    HostRangeEntry* preserved_ = nullptr;
    HostRangeEntry* extents_ = nullptr;
    usize extents_filled_ = 0;
    u64 target_half_base_ = 0;
    u64 target_half_size_ = 0;
};

}  // namespace

Status check_host_state(const HostState& state, const StreamHeader& header,
                        const VerifyOptions& options) {
    return HostStateChecker(state, header, options).run();
}

}  // namespace relay::stream
