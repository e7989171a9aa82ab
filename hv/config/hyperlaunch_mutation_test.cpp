// Randomized mutations of the example blobs: the parser must never crash, hang or read
// outside the blob (this test runs under ASan+UBSan with --config=sanitize), and whatever
// it accepts must satisfy every rule. Seeded, bounded: the same run every time.
#include <libfdt.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hv/config/hyperlaunch_binding.hpp"
#include "hv/config/hyperlaunch_parser.hpp"
#include "hv/config/testing/test_tree.hpp"

namespace relay::hyperlaunch {
namespace {

using testing::read_runfile;

constexpr int kIterationsPerExample = 10000;

struct ByteRange {
    usize offset;
    usize length;
};

// Where the property values of a valid blob lie, so that some mutations change values only
// and keep the structure intact: they reach the semantic checks rather than the
// structural ones.
std::vector<ByteRange> property_values(const std::vector<u8>& bytes) {
    std::vector<ByteRange> ranges;
    const void* fdt = bytes.data();
    for (int node = 0; node >= 0; node = fdt_next_node(fdt, node, nullptr)) {
        int property = fdt_first_property_offset(fdt, node);
        for (; property >= 0; property = fdt_next_property_offset(fdt, property)) {
            int length = 0;
            auto value =
                static_cast<const u8*>(fdt_getprop_by_offset(fdt, property, nullptr, &length));
            if (value != nullptr && length > 0) {
                ranges.push_back(
                    {static_cast<usize>(value - bytes.data()), static_cast<usize>(length)});
            }
        }
    }
    return ranges;
}

class Mutator {
public:
    Mutator(u64 seed, std::vector<ByteRange> values) : random_(seed), values_(std::move(values)) {}

    // Half the time, 1 to 3 changes inside property values; otherwise anything anywhere.
    void mutate(std::vector<u8>& bytes) {
        if (below(2) == 0 && !values_.empty()) {
            mutate_values(bytes);
        } else {
            mutate_anything(bytes);
        }
    }

    u64 below(u64 bound) { return bound == 0 ? 0 : random_() % bound; }

    void mutate_values(std::vector<u8>& bytes) {
        usize count = 1 + below(3);
        for (usize i = 0; i < count; ++i) {
            const ByteRange& range = values_[below(values_.size())];
            switch (below(3)) {
                case 0:
                    bytes[range.offset + below(range.length)] = static_cast<u8>(below(256));
                    break;
                case 1:
                    write_cell(bytes, range.offset + below(range.length / 4 + 1) * 4,
                               interesting(bytes.size()));
                    break;
                case 2:
                    bytes[range.offset + below(range.length)] = below(2) == 0 ? 0 : ',';
                    break;
            }
        }
    }

    // Applies 1 to 4 random mutations anywhere in `bytes`.
    void mutate_anything(std::vector<u8>& bytes) {
        usize count = 1 + below(4);
        for (usize i = 0; i < count && !bytes.empty(); ++i) {
            switch (below(6)) {
                case 0:  // flip one bit
                    bytes[below(bytes.size())] ^= static_cast<u8>(1u << below(8));
                    break;
                case 1:  // one random byte
                    bytes[below(bytes.size())] = static_cast<u8>(below(256));
                    break;
                case 2:  // an interesting 32-bit value at a cell boundary (header, token,
                         // length, name offset, cell value)
                    write_cell(bytes, below(bytes.size() / 4) * 4, interesting(bytes.size()));
                    break;
                case 3:  // truncate
                    bytes.resize(below(bytes.size() + 1));
                    break;
                case 4: {  // copy one chunk over another
                    usize length = 1 + below(64);
                    usize from = below(bytes.size());
                    usize to = below(bytes.size());
                    for (usize k = 0;
                         k < length && from + k < bytes.size() && to + k < bytes.size(); ++k) {
                        bytes[to + k] = bytes[from + k];
                    }
                    break;
                }
                case 5:  // a NUL or a separator inside a string
                    bytes[below(bytes.size())] = below(2) == 0 ? 0 : ',';
                    break;
            }
        }
    }

    // Half the time the modules and limits the examples need, so that mutations that keep
    // a config valid are accepted; otherwise anything.
    std::vector<ModuleInfo> modules() {
        if (below(2) == 0) {
            return testing::present_modules(8);
        }
        std::vector<ModuleInfo> modules(below(10));
        for (ModuleInfo& module : modules) {
            switch (below(4)) {
                case 0:
                    module.size = 0;
                    break;
                case 1:
                    module.size_known = false;
                    break;
                default:
                    module.size = below(64 * MiB);
            }
            if (below(4) == 0) {
                module.command_line = below(2) == 0 ? "x relay.module=kernel" : "relay.module=";
            }
        }
        return modules;
    }

    HostLimits limits() {
        if (below(2) == 0) {
            return testing::roomy_limits();
        }
        return HostLimits{
            .guest_memory_bytes = below(2) == 0 ? ~u64{0} : below(4 * GiB),
            .physical_cpus = static_cast<u32>(below(8)),
            .max_vcpus_per_domain = static_cast<u32>(below(8)),
            .max_domains = static_cast<u32>(below(2) == 0 ? 1000 : below(8)),
        };
    }

private:
    u32 interesting(usize size) {
        const u32 values[] = {0,
                              1,
                              2,
                              3,
                              4,
                              9,
                              0x7F,
                              0x80,
                              0xFF,
                              0x7FEF,
                              0x7FF0,
                              0xFFFF,
                              0x7FFFFFFF,
                              0x80000000,
                              0xFFFFFFFC,
                              0xFFFFFFFF,
                              static_cast<u32>(size),
                              static_cast<u32>(size + 4),
                              static_cast<u32>(size - 4),
                              static_cast<u32>(below(size))};
        return values[below(sizeof(values) / sizeof(values[0]))];
    }

    // Writes the cell's bytes that lie inside `bytes`.
    static void write_cell(std::vector<u8>& bytes, usize offset, u32 value) {
        for (usize i = 0; i < 4 && offset + i < bytes.size(); ++i) {
            bytes[offset + i] = static_cast<u8>(value >> (24 - 8 * i));
        }
    }

    std::mt19937_64 random_;
    std::vector<ByteRange> values_;
};

bool inside(std::string_view text, std::span<const u8> blob) {
    if (text.empty()) {
        return true;
    }
    auto begin = reinterpret_cast<const char*>(blob.data());
    return text.data() >= begin && text.data() + text.size() <= begin + blob.size();
}

bool printable(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// What every accepted config satisfies, whatever blob it came from.
void check_invariants(const HyperlaunchConfig& config, std::span<const u8> blob,
                      const std::vector<ModuleInfo>& modules, const HostLimits& limits) {
    ASSERT_GE(config.domain_count, 1u);
    ASSERT_LE(config.domain_count, std::min<usize>(kMaxDomains, limits.max_domains));
    std::set<u16> domids;
    u64 total = 0;
    int control = 0;
    for (const DomainConfig& domain : config.domain_list()) {
        EXPECT_TRUE(domain.domid >= 1 && domain.domid < kDomidFirstReserved);
        EXPECT_TRUE(domids.insert(domain.domid).second);
        EXPECT_TRUE(inside(domain.name, blob) && printable(domain.name));
        EXPECT_FALSE(domain.name.empty());
        EXPECT_TRUE(inside(domain.security_id, blob) && printable(domain.security_id));
        EXPECT_GE(domain.cpus, 1u);
        EXPECT_LE(domain.cpus, std::min(limits.physical_cpus, limits.max_vcpus_per_domain));
        EXPECT_GT(domain.memory_kib, 0u);
        EXPECT_EQ(domain.memory_kib % 4, 0u);
        EXPECT_EQ(domain.mode, kModeLong);
        EXPECT_EQ(domain.permissions & ~(kPermissionControl | kPermissionHardware), 0u);
        EXPECT_EQ(domain.functions & ~kFunctionBoot, 0u);
        control += domain.has_permission(kPermissionControl) ? 1 : 0;
        total += domain.memory_kib;
        EXPECT_TRUE(domain.kernel.present);
        for (ModuleRole role : {ModuleRole::kKernel, ModuleRole::kRamdisk, ModuleRole::kConfig}) {
            const DomainModule& module = domain.module(role);
            if (!module.present) {
                continue;
            }
            EXPECT_GE(module.multiboot_index, 1u);
            EXPECT_LT(module.multiboot_index, modules.size());
            EXPECT_EQ(config.modules[module.multiboot_index].role, role);
            EXPECT_TRUE(inside(module.bootargs, blob) && printable(module.bootargs));
            EXPECT_TRUE(inside(module.host_file, blob) && printable(module.host_file));
        }
    }
    EXPECT_LE(control, 1);
    EXPECT_EQ(total, config.total_memory_kib);
    EXPECT_LE(total * KiB, limits.guest_memory_bytes);
}

void run_mutations(const std::string& example, u64 seed) {
    const std::vector<u8> original = read_runfile(example);
    ASSERT_FALSE(original.empty());
    Mutator mutator(seed, property_values(original));
    auto config = std::make_unique<HyperlaunchConfig>();
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < kIterationsPerExample; ++i) {
        std::vector<u8> bytes = original;
        mutator.mutate(bytes);
        // Exact-size heap storage (new[] aligns to 16), so that ASan sees any read past
        // the blob.
        std::unique_ptr<u8[]> storage(new u8[bytes.size()]);
        std::copy(bytes.begin(), bytes.end(), storage.get());
        std::span<const u8> blob(storage.get(), bytes.size());
        std::vector<ModuleInfo> modules = mutator.modules();
        HostLimits limits = mutator.limits();
        Status status = parse_hyperlaunch_config(blob, ModuleList(modules), limits, config.get());
        if (status.ok()) {
            ++accepted;
            check_invariants(*config, blob, modules, limits);
        } else {
            ++refused;
            EXPECT_NE(status.error().message()[0], '\0');
            EXPECT_EQ(config->domain_count, 0u);
        }
        if (::testing::Test::HasFailure()) {
            FAIL() << "iteration " << i << " of " << example;
        }
    }
    // Both outcomes must occur, or the mutations exercise only one path.
    EXPECT_GT(accepted, 0);
    EXPECT_GT(refused, 0);
    std::printf("%s: %d accepted, %d refused\n", example.c_str(), accepted, refused);
}

TEST(HyperlaunchMutation, DefaultExampleNeverBreaksTheParser) {
    run_mutations("examples/default.dtb", 0x52454c4159);
}

TEST(HyperlaunchMutation, RogueExampleNeverBreaksTheParser) {
    run_mutations("examples/rogue.dtb", 0x524f475545);
}

}  // namespace
}  // namespace relay::hyperlaunch
