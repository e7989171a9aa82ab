#include "tests/fuzz/hyperlaunch_fuzz_target.hpp"

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "hv/config/boot_stream.hpp"
#include "hv/config/domain_node.hpp"
#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/hyperlaunch_parser.hpp"
#include "hv/config/module_node.hpp"
#include "migration_stream/stream_reader.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "tests/fuzz/fuzz_contract.hpp"

namespace relay::tests {
namespace {

using hyperlaunch::DomainConfig;
using hyperlaunch::DomainModule;
using hyperlaunch::HostLimits;
using hyperlaunch::HyperlaunchConfig;
using hyperlaunch::ModuleInfo;
using hyperlaunch::ModuleRole;
using hyperlaunch::ModuleUse;

constexpr usize kDeviceTreeHeaderSize = 40;
constexpr ModuleRole kRoles[] = {ModuleRole::kKernel, ModuleRole::kRamdisk, ModuleRole::kConfig};

// Reads parameter bytes; once they run out, every read returns its fallback.
class ParameterReader {
public:
    ParameterReader(const u8* data, usize size) : data_(data), size_(size) {}

    bool exhausted() const { return offset_ >= size_; }
    u8 byte(u8 fallback) { return exhausted() ? fallback : data_[offset_++]; }
    u64 u64_le(u64 fallback) {
        if (size_ - offset_ < 8 || exhausted()) {
            offset_ = size_;
            return fallback;
        }
        u64 value = 0;
        for (int i = 7; i >= 0; --i) {
            value = (value << 8) | data_[offset_ + static_cast<usize>(i)];
        }
        offset_ += 8;
        return value;
    }

private:
    const u8* data_;
    usize size_;
    usize offset_ = 0;
};

u32 load_be32(const u8* p) {
    return (static_cast<u32>(p[0]) << 24) | (static_cast<u32>(p[1]) << 16) |
           (static_cast<u32>(p[2]) << 8) | p[3];
}

// Command lines a boot loader (or a hostile one) may give a module. Only relay.module=
// words matter to the parser; the long one tests the boot stream's size bound, since the
// hypervisor copies every module's command line into the stream (BootInfo keeps up to
// 4096 bytes of each).
std::string module_command_line(u8 selector) {
    switch (selector % 8) {
        case 0:
            return "";
        case 1:
            return "memtest.elf relay.module=kernel";
        case 2:
            return "relay.module=ramdisk";
        case 3:
            return "relay.module=config";
        case 4:
            return "file.elf relay.module=kernal";
        case 5:
            return std::string(4096 - 20, 'x') + " relay.module=kernel";
        case 6:
            return "relay.module=";
        default:
            return std::string("\x01\xff relay.module=\x7f\x1b[2J", 21);
    }
}

u64 module_size(u8 selector) {
    switch (selector) {
        case 0:
            return 0;
        case 253:
            return ~u64{0};
        case 254:
            return u64{1} << 63;
        default:
            return static_cast<u64>(selector) * selector * 4096;
    }
}

struct FuzzSetup {
    std::vector<std::string> command_lines;
    std::vector<ModuleInfo> modules;
    HostLimits limits;
};

// The parameters follow the blob's declared totalsize (when it is sane and leaves room).
FuzzSetup setup_from(const u8* data, usize size) {
    usize parameters_at = size;
    if (size >= kDeviceTreeHeaderSize) {
        u32 total = load_be32(data + 4);
        if (total >= kDeviceTreeHeaderSize && total < size) {
            parameters_at = total;
        }
    }
    ParameterReader parameters(data + parameters_at, size - parameters_at);
    FuzzSetup setup;
    usize count = 1 + parameters.byte(7) % 70;  // up to 70: more than the parser keeps (64)
    setup.limits.guest_memory_bytes = parameters.u64_le(1 * GiB);
    setup.limits.physical_cpus = parameters.byte(4);
    // The hypervisor's own limit is 16 (kMaxVcpusPerDomainInStream); 0 refuses every domain.
    setup.limits.max_vcpus_per_domain = parameters.byte(16) % 17;
    setup.limits.max_domains = parameters.byte(64);
    setup.command_lines.resize(count);
    setup.modules.resize(count);
    setup.command_lines[0] = "relay.hyperlaunch";
    setup.modules[0].size = size;
    for (usize i = 1; i < count; ++i) {
        u8 size_selector = parameters.byte(16);  // 16 * 16 * 4 KiB = 1 MiB
        setup.modules[i].size_known = size_selector != 255;
        setup.modules[i].size = setup.modules[i].size_known ? module_size(size_selector) : 0;
        setup.command_lines[i] = module_command_line(parameters.byte(0));
    }
    for (usize i = 0; i < count; ++i) {
        setup.modules[i].command_line = setup.command_lines[i];
    }
    return setup;
}

bool is_node_name_character(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ',' ||
           c == '.' || c == '_' || c == '+' || c == '-';
}

// Devicetree Specification v0.4 §2.2.1 as docs/hyperlaunch.md restricts it: 1 to 63
// characters, at most one '@' with text on both sides.
bool is_valid_node_name(std::string_view name) {
    if (name.empty() || name.size() > hyperlaunch::kMaxNodeNameLength) {
        return false;
    }
    usize at = name.find('@');
    if (at != std::string_view::npos &&
        (at == 0 || at + 1 == name.size() || name.find('@', at + 1) != std::string_view::npos)) {
        return false;
    }
    for (char c : name) {
        if (c != '@' && !is_node_name_character(c)) {
            return false;
        }
    }
    return true;
}

bool is_valid_host_file(std::string_view path) {
    if (path.empty() || path.front() == '/' || path.size() > hyperlaunch::kMaxHostFileLength ||
        !is_printable_text(path) || path.find(' ') != std::string_view::npos ||
        path.find(',') != std::string_view::npos) {
        return false;
    }
    usize start = 0;
    while (start <= path.size()) {
        usize end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        if (path.substr(start, end - start) == "..") {
            return false;
        }
        start = end + 1;
    }
    return true;
}

// The relay.module=<role> words of a module's command line all name `role`.
bool tags_agree(std::string_view command_line, ModuleRole role) {
    std::string_view expected = hyperlaunch::module_role_name(role);
    usize start = 0;
    while (start <= command_line.size()) {
        usize end = command_line.find(' ', start);
        if (end == std::string_view::npos) {
            end = command_line.size();
        }
        std::string_view word = command_line.substr(start, end - start);
        if (word.substr(0, hyperlaunch::kModuleTagPrefix.size()) == hyperlaunch::kModuleTagPrefix &&
            word.substr(hyperlaunch::kModuleTagPrefix.size()) != expected) {
            return false;
        }
        start = end + 1;
    }
    return true;
}

void check_refusal(const Status& status, const HyperlaunchConfig& config) {
    const Error& error = status.error();
    std::string_view message = error.message();
    FUZZ_CHECK(error.code() != ErrorCode::kOk, "a refusal has an error code");
    FUZZ_CHECK(!message.empty(), "a refusal says why");
    FUZZ_CHECK(message.size() < Error::kMessageCapacity, "message of {} bytes", message.size());
    FUZZ_CHECK(is_printable_text(message), "the message is printed on the console: \"{}\"",
               message);
    // Nothing half-parsed is left for the caller to use.
    FUZZ_CHECK(config.domain_count == 0 && config.module_count == 0 &&
                   config.total_memory_kib == 0 && !config.compatible_xen &&
                   !config.compatible_relay && config.host.node_count == 0,
               "refused configuration not empty ({} domains)", config.domain_count);
    for (const DomainConfig& domain : config.domains) {
        FUZZ_CHECK(domain.name.empty() && domain.domid == 0 && !domain.kernel.present,
                   "refused configuration keeps domain {}", domain.domid);
    }
    for (const ModuleUse& use : config.modules) {
        FUZZ_CHECK(use.user_count == 0 && use.role == ModuleRole::kNone && use.host_file.empty(),
                   "refused configuration keeps a module use");
    }
}

void check_module(const DomainConfig& domain, ModuleRole role, const DomainModule& module,
                  const FuzzSetup& setup, const HyperlaunchConfig& config, const u8* blob,
                  usize blob_size) {
    if (!module.present) {
        FUZZ_CHECK(role != ModuleRole::kKernel, "domain {} has no kernel", domain.domid);
        return;
    }
    FUZZ_CHECK(module.multiboot_index >= 1 && module.multiboot_index < config.module_count,
               "domain {}: mb-index {} of {} modules", domain.domid, module.multiboot_index,
               config.module_count);
    const ModuleInfo& info = setup.modules[module.multiboot_index];
    FUZZ_CHECK(!info.size_known || info.size > 0, "domain {}: empty module {}", domain.domid,
               module.multiboot_index);
    FUZZ_CHECK(tags_agree(info.command_line, role), "domain {}: module {} is tagged otherwise",
               domain.domid, module.multiboot_index);
    FUZZ_CHECK(
        is_valid_node_name(module.node_name) && view_inside(module.node_name, blob, blob_size),
        "domain {}: module node name", domain.domid);
    FUZZ_CHECK(role == ModuleRole::kKernel || module.bootargs.empty(),
               "domain {}: bootargs on a {} module", domain.domid,
               hyperlaunch::module_role_name(role));
    FUZZ_CHECK(module.bootargs.size() <= hyperlaunch::kMaxBootargsLength &&
                   is_printable_text(module.bootargs) &&
                   view_inside(module.bootargs, blob, blob_size),
               "domain {}: bootargs", domain.domid);
    FUZZ_CHECK(module.host_file.empty() || (is_valid_host_file(module.host_file) &&
                                            view_inside(module.host_file, blob, blob_size)),
               "domain {}: relay,file \"{}\"", domain.domid, module.host_file);
}

void check_domain(const DomainConfig& domain, const FuzzSetup& setup,
                  const HyperlaunchConfig& config, const u8* blob, usize blob_size) {
    const HostLimits& limits = setup.limits;
    FUZZ_CHECK(is_valid_node_name(domain.name) && view_inside(domain.name, blob, blob_size),
               "domain name \"{}\"", domain.name);
    FUZZ_CHECK(domain.domid >= 1 && domain.domid < hyperlaunch::kDomidFirstReserved, "domid {}",
               domain.domid);
    FUZZ_CHECK((domain.permissions &
                ~(hyperlaunch::kPermissionControl | hyperlaunch::kPermissionHardware)) == 0,
               "domain {}: permissions {:#x}", domain.domid, domain.permissions);
    FUZZ_CHECK((domain.functions & ~hyperlaunch::kFunctionBoot) == 0, "domain {}: functions {:#x}",
               domain.domid, domain.functions);
    FUZZ_CHECK(domain.mode == hyperlaunch::kModeRelayGuest, "domain {}: mode {:#x}", domain.domid,
               domain.mode);
    FUZZ_CHECK(domain.cpus >= 1 && domain.cpus <= limits.physical_cpus &&
                   domain.cpus <= limits.max_vcpus_per_domain,
               "domain {}: {} vCPUs, host {} pCPUs, at most {} per domain", domain.domid,
               domain.cpus, limits.physical_cpus, limits.max_vcpus_per_domain);
    FUZZ_CHECK(domain.memory_kib > 0 && domain.memory_kib % 4 == 0 &&
                   domain.memory_kib <= limits.guest_memory_bytes / KiB,
               "domain {}: {} KiB", domain.domid, domain.memory_kib);
    FUZZ_CHECK(domain.security_id.size() <= hyperlaunch::kMaxSecurityIdLength &&
                   is_printable_text(domain.security_id) &&
                   view_inside(domain.security_id, blob, blob_size),
               "domain {}: security-id", domain.domid);
    FUZZ_CHECK(domain.passthrough_count <= hyperlaunch::kMaxPassthrough,
               "domain {}: {} assigned functions", domain.domid, domain.passthrough_count);
    for (usize i = 0; i < domain.passthrough_count; ++i) {
        const PciFunction& function = domain.passthrough[i];
        FUZZ_CHECK(function.device <= 31 && function.function <= 7, "domain {}: PCI function",
                   domain.domid);
    }
    u64 copied = 0;
    for (ModuleRole role : kRoles) {
        const DomainModule& module = domain.module(role);
        check_module(domain, role, module, setup, config, blob, blob_size);
        if (module.present && setup.modules[module.multiboot_index].size_known) {
            if (__builtin_add_overflow(copied, setup.modules[module.multiboot_index].size,
                                       &copied)) {
                copied = ~u64{0};
            }
        }
        for (ModuleRole other : kRoles) {
            const DomainModule& second = domain.module(other);
            FUZZ_CHECK(other == role || !module.present || !second.present ||
                           module.multiboot_index != second.multiboot_index,
                       "domain {} uses module {} twice", domain.domid, module.multiboot_index);
        }
    }
    FUZZ_CHECK(copied <= domain.memory_bytes(), "domain {}: {} bytes of modules in {} KiB",
               domain.domid, copied, domain.memory_kib);
}

// Rules across domains (docs/hyperlaunch.md, "Rules across domains").
void check_across_domains(const FuzzSetup& setup, const HyperlaunchConfig& config) {
    std::span<const DomainConfig> domains = config.domain_list();
    u64 total = 0;
    usize control = 0;
    usize hardware = 0;
    usize boot = 0;
    for (usize i = 0; i < domains.size(); ++i) {
        const DomainConfig& domain = domains[i];
        total += domain.memory_kib;
        control += domain.has_permission(hyperlaunch::kPermissionControl) ? 1 : 0;
        hardware += domain.has_permission(hyperlaunch::kPermissionHardware) ? 1 : 0;
        boot += domain.has_function(hyperlaunch::kFunctionBoot) ? 1 : 0;
        for (usize j = 0; j < i; ++j) {
            const DomainConfig& earlier = domains[j];
            FUZZ_CHECK(earlier.domid != domain.domid, "domid {} twice", domain.domid);
            FUZZ_CHECK(earlier.name != domain.name, "name \"{}\" twice", domain.name);
            FUZZ_CHECK(domain.uuid.is_nil() || !(earlier.uuid == domain.uuid),
                       "domains {} and {} share a UUID", earlier.domid, domain.domid);
            for (usize a = 0; a < domain.passthrough_count; ++a) {
                for (usize b = 0; b < earlier.passthrough_count; ++b) {
                    FUZZ_CHECK(!(domain.passthrough[a] == earlier.passthrough[b]),
                               "a PCI function assigned to domains {} and {}", earlier.domid,
                               domain.domid);
                }
            }
        }
    }
    FUZZ_CHECK(control <= 1 && hardware <= 1 && boot <= 1,
               "{} control, {} hardware, {} boot domains", control, hardware, boot);
    FUZZ_CHECK(total == config.total_memory_kib, "total {} KiB, domains add up to {} KiB",
               config.total_memory_kib, total);
    FUZZ_CHECK(total <= setup.limits.guest_memory_bytes / KiB, "total {} KiB over the host's",
               total);

    // How each multiboot module is used, recomputed from the domains.
    for (usize index = 0; index < config.module_count; ++index) {
        const ModuleUse& use = config.modules[index];
        u32 users = 0;
        std::string_view file;
        for (usize d = 0; d < domains.size(); ++d) {
            for (ModuleRole role : kRoles) {
                const DomainModule& module = domains[d].module(role);
                if (!module.present || module.multiboot_index != index) {
                    continue;
                }
                FUZZ_CHECK(use.role == role, "module {} used as {} and {}", index,
                           hyperlaunch::module_role_name(use.role),
                           hyperlaunch::module_role_name(role));
                if (users == 0) {
                    FUZZ_CHECK(use.first_domain == d, "module {}: first user {}, recorded {}",
                               index, d, use.first_domain);
                }
                ++users;
                if (!module.host_file.empty()) {
                    FUZZ_CHECK(file.empty() || file == module.host_file,
                               "module {} has two relay,file", index);
                    if (file.empty()) {
                        file = module.host_file;
                    }
                }
            }
        }
        FUZZ_CHECK(index != 0 || users == 0, "the tree itself is a domain module");
        FUZZ_CHECK(use.user_count == users, "module {}: {} users, recorded {}", index, users,
                   use.user_count);
        FUZZ_CHECK(users > 0 || use.role == ModuleRole::kNone, "unused module {} has a role",
                   index);
        FUZZ_CHECK(use.host_file == file, "module {}: relay,file \"{}\", recorded \"{}\"", index,
                   file, use.host_file);
    }
}

// "Anything that can be booted can be restored": the accepted configuration becomes a boot
// stream the way the hypervisor makes it (hv/hyperlaunch_boot.cpp), within the size bound
// it computes, and the stream verifier accepts it and reads back the same domains.
void check_boot_stream(const FuzzSetup& setup, const HyperlaunchConfig& config) {
    usize module_count = setup.modules.size() < hyperlaunch::kMaxBootModules
                             ? setup.modules.size()
                             : hyperlaunch::kMaxBootModules;
    std::vector<hyperlaunch::BootStreamModule> modules(module_count);
    for (usize i = 0; i < module_count; ++i) {
        modules[i] = hyperlaunch::BootStreamModule{
            static_cast<u32>(i), 0x1000000 + i * 0x100000ull,
            setup.modules[i].size_known ? setup.modules[i].size : 0, setup.modules[i].command_line};
    }
    hyperlaunch::BootStreamInputs inputs;
    inputs.config = &config;
    inputs.modules = modules;
    inputs.handover_base = 0x1be00000;
    inputs.handover_size = 64 * MiB;
    inputs.producer_build.bytes[0] = 0xF2;
    inputs.producer_version = "relay fuzz";
    inputs.tsc_khz = 2'000'000;
    usize bound = hyperlaunch::boot_stream_bound(config, module_count);
    std::vector<u64> scratch(bound / 8 + 1);
    std::vector<u64> output(bound / 8 + 1);
    auto written =
        hyperlaunch::write_boot_stream(inputs, scratch.data(), bound, output.data(), bound);
    FUZZ_CHECK(written.ok(), "an accepted configuration must make a boot stream: {}",
               written.ok() ? "" : written.error().message());
    auto verified = stream::verify_stream(output.data(), written.value());
    FUZZ_CHECK(verified.ok(), "the boot stream must verify: {}",
               verified.ok() ? "" : verified.error().message());
    stream::StreamReader reader(verified.value());
    FUZZ_CHECK(reader.domains().size() == config.domain_count, "stream has {} domains of {}",
               reader.domains().size(), config.domain_count);
    for (const DomainConfig& domain : config.domain_list()) {
        const schema::Domain* read = reader.find_domain(domain.domid);
        FUZZ_CHECK(read != nullptr, "domain {} missing from the stream", domain.domid);
        FUZZ_CHECK(read->name() != nullptr && read->name()->string_view() == domain.name,
                   "domain {}: name", domain.domid);
        FUZZ_CHECK(read->boot() != nullptr && read->boot()->memory_kib() == domain.memory_kib &&
                       read->boot()->cpus() == domain.cpus,
                   "domain {}: memory or cpus", domain.domid);
        FUZZ_CHECK(read->vcpus() != nullptr && read->vcpus()->size() == domain.cpus,
                   "domain {}: {} vCPUs in the stream for cpus = {}", domain.domid,
                   read->vcpus() != nullptr ? read->vcpus()->size() : 0, domain.cpus);
        FUZZ_CHECK(read->boot()->kernel() != nullptr &&
                       read->boot()->kernel()->mb_index() == domain.kernel.multiboot_index,
                   "domain {}: kernel", domain.domid);
        FUZZ_CHECK(read->boot()->bootargs() != nullptr &&
                       read->boot()->bootargs()->string_view() == domain.kernel.bootargs,
                   "domain {}: bootargs", domain.domid);
    }
}

}  // namespace

HyperlaunchFuzzOutcome fuzz_hyperlaunch_once(const uint8_t* data, std::size_t size) {
    FuzzSetup setup = setup_from(data, size);
    // An exactly sized copy (new[] is 16-byte aligned): AddressSanitizer reports any read
    // past the blob's end.
    std::unique_ptr<u8[]> blob(new u8[size]);
    if (size > 0) {
        std::memcpy(blob.get(), data, size);
    }
    auto config = std::make_unique<HyperlaunchConfig>();
    // Left over from an earlier parse: whatever the outcome, none of it may survive.
    config->domain_count = 3;
    config->domains[0].domid = 7;
    config->modules[5].user_count = 2;
    Status status = hyperlaunch::parse_hyperlaunch_config(
        std::span<const u8>(blob.get(), size),
        hyperlaunch::ModuleList(setup.modules.data(), setup.modules.size()), setup.limits,
        config.get());
    HyperlaunchFuzzOutcome outcome;
    if (!status.ok()) {
        check_refusal(status, *config);
        outcome.message = status.error().message();
        return outcome;
    }
    const usize max_domains = setup.limits.max_domains < hyperlaunch::kMaxDomains
                                  ? setup.limits.max_domains
                                  : hyperlaunch::kMaxDomains;
    FUZZ_CHECK(config->domain_count >= 1 && config->domain_count <= max_domains,
               "{} domains, host allows {}", config->domain_count, max_domains);
    FUZZ_CHECK(config->compatible_xen || config->compatible_relay, "no hypervisor compatible");
    FUZZ_CHECK(config->module_count == (setup.modules.size() < hyperlaunch::kMaxBootModules
                                            ? setup.modules.size()
                                            : hyperlaunch::kMaxBootModules),
               "module_count {} for {} modules", config->module_count, setup.modules.size());
    for (const DomainConfig& domain : config->domain_list()) {
        check_domain(domain, setup, *config, blob.get(), size);
    }
    check_across_domains(setup, *config);
    check_boot_stream(setup, *config);
    outcome.accepted = true;
    outcome.domains = config->domain_count;
    return outcome;
}

}  // namespace relay::tests
