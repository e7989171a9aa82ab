#include "tests/fuzz/acpi_fuzz_target.hpp"

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "hv/arch/x86/acpi/acpi.hpp"
#include "tests/fuzz/fuzz_contract.hpp"
#include "tests/fuzz/strict_physical_memory.hpp"

namespace relay::tests {
namespace {

constexpr u64 kTableHeaderSize = 36;

u32 load_u32(const u8* p) {
    u32 value;
    std::memcpy(&value, p, sizeof(value));
    return value;
}

u64 load_u64(const u8* p) {
    u64 value;
    std::memcpy(&value, p, sizeof(value));
    return value;
}

// Sets data[index] so that the bytes of [data, data + length) sum to zero.
void fix_checksum(u8* data, u64 length, u64 index) {
    data[index] = 0;
    u8 sum = 0;
    for (u64 i = 0; i < length; ++i) {
        sum = static_cast<u8>(sum + data[i]);
    }
    data[index] = static_cast<u8>(-sum);
}

// The fuzz input as memory the harness may edit before the parser sees it.
class EditableMemory {
public:
    EditableMemory(std::vector<u8>& bytes) : bytes_(bytes) {}

    // The table at physical `address` when its whole declared length is inside the memory.
    u8* table(u64 address) {
        if (address < kAcpiFuzzMemoryBase || address - kAcpiFuzzMemoryBase > bytes_.size() ||
            bytes_.size() - (address - kAcpiFuzzMemoryBase) < kTableHeaderSize) {
            return nullptr;
        }
        u8* table = bytes_.data() + (address - kAcpiFuzzMemoryBase);
        u32 length = load_u32(table + 4);
        if (length < kTableHeaderSize || length > bytes_.size() - (address - kAcpiFuzzMemoryBase)) {
            return nullptr;
        }
        return table;
    }

    // ACPI 6.4 §5.2.6: byte 9 makes a system description table sum to zero. The tables a
    // root table lists first, then the root table (whose entries do not change).
    void fix_root_and_tables(u64 root_address, u64 entry_size) {
        u8* root = table(root_address);
        if (root == nullptr) {
            return;
        }
        u32 length = load_u32(root + 4);
        u64 entries = (length - kTableHeaderSize) / entry_size;
        for (u64 i = 0; i < entries && i < 256; ++i) {
            const u8* slot = root + kTableHeaderSize + i * entry_size;
            u8* listed = table(entry_size == 8 ? load_u64(slot) : load_u32(slot));
            if (listed != nullptr && listed != root) {
                fix_checksum(listed, load_u32(listed + 4), 9);
            }
        }
        fix_checksum(root, length, 9);
    }

    // ACPI 6.4 §5.2.5.3: byte 8 covers the first 20 bytes, byte 32 the whole length.
    void fix_rsdp(u64 offset) {
        u8* rsdp = bytes_.data() + offset;
        u64 available = bytes_.size() - offset;
        fix_checksum(rsdp, 20, 8);
        if (rsdp[15] >= 2 && available >= 36) {
            u32 length = load_u32(rsdp + 20);
            if (length >= 36 && length <= available) {
                fix_checksum(rsdp, length, 32);
            }
        }
    }

    void fix_everything() {
        for (u64 offset = 0; offset + 20 <= bytes_.size(); offset += 16) {
            u8* candidate = bytes_.data() + offset;
            if (std::memcmp(candidate, "RSD PTR ", 8) != 0) {
                continue;
            }
            fix_root_and_tables(load_u32(candidate + 16), 4);
            if (candidate[15] >= 2 && offset + 36 <= bytes_.size()) {
                fix_root_and_tables(load_u64(candidate + 24), 8);
            }
            fix_rsdp(offset);
        }
    }

private:
    std::vector<u8>& bytes_;
};

void check_accepted(const acpi::AcpiInfo& info, const StrictPhysicalMemory& memory, const u8* rsdp,
                    usize rsdp_length) {
    FUZZ_CHECK(rsdp_length == 20 || rsdp_length == 36, "RSDP of {} bytes", rsdp_length);
    FUZZ_CHECK(info.revision == rsdp[15], "revision {} of an RSDP saying {}", info.revision,
               rsdp[15]);
    FUZZ_CHECK(info.oem_id[6] == '\0', "OEM id not terminated");
    // The boot log prints it (hv/main.cpp).
    FUZZ_CHECK(is_printable_text(info.oem_id), "OEM id \"{}\" is not printable", info.oem_id);
    FUZZ_CHECK(!info.uses_xsdt || info.revision >= 2, "XSDT with RSDP revision {}", info.revision);
    FUZZ_CHECK(info.table_count <= acpi::AcpiInfo::kMaxTables, "{} tables", info.table_count);
    for (usize i = 0; i < info.table_count; ++i) {
        const acpi::TableLocation& location = info.tables[i];
        FUZZ_CHECK(location.length >= kTableHeaderSize, "table {} of {} bytes", i, location.length);
        const u8* bytes = memory.map(location.address, location.length);
        FUZZ_CHECK(bytes != nullptr, "table {} at {} not inside the memory", i, location.address);
        FUZZ_CHECK(std::memcmp(bytes, location.signature, 4) == 0 && location.signature[4] == '\0',
                   "table {}: signature", i);
        FUZZ_CHECK(load_u32(bytes + 4) == location.length, "table {}: length", i);
    }
    FUZZ_CHECK(info.find("APIC") != nullptr, "accepted without a MADT");
    FUZZ_CHECK(info.cpu_count <= acpi::AcpiInfo::kMaxCpus, "{} CPUs", info.cpu_count);
    for (usize i = 0; i < info.cpu_count; ++i) {
        for (usize j = 0; j < i; ++j) {
            FUZZ_CHECK(info.cpus[i].apic_id != info.cpus[j].apic_id, "APIC ID {} twice",
                       info.cpus[i].apic_id);
        }
    }
}

}  // namespace

AcpiFuzzOutcome fuzz_acpi_once(const uint8_t* data, std::size_t size) {
    AcpiFuzzOutcome outcome;
    if (size < 1) {
        return outcome;
    }
    bool rsdp_from_loader = (data[0] & 1) != 0;
    bool keep_checksums = (data[0] & 2) != 0;
    std::vector<u8> bytes(data + 1, data + size);
    if (!keep_checksums) {
        EditableMemory(bytes).fix_everything();
    }
    StrictPhysicalMemory memory(kAcpiFuzzMemoryBase, bytes.data(), bytes.size());

    auto boot = std::make_unique<BootInfo>();
    if (rsdp_from_loader) {
        // Multiboot2 copies the RSDP tag's bytes (20 for the old tag, 36 for the new one).
        boot->rsdp_length = bytes.size() >= 36 && bytes[15] >= 2 ? 36 : 20;
        if (bytes.size() < boot->rsdp_length) {
            boot->rsdp_length = 0;
        }
        if (boot->rsdp_length > 0) {  // an empty vector's data() may be null
            std::memcpy(boot->rsdp, bytes.data(), boot->rsdp_length);
        }
    }
    u8 rsdp[BootInfo::kRsdpMaxLength] = {};
    usize rsdp_length = 0;
    HostPhysAddr found_at;
    Status status = acpi::find_rsdp(memory, *boot, rsdp, &rsdp_length, &found_at);
    auto info = std::make_unique<acpi::AcpiInfo>();
    if (status.ok()) {
        status = acpi::parse_acpi(memory, rsdp, rsdp_length, info.get());
    }
    if (!status.ok()) {
        std::string_view message = status.error().message();
        FUZZ_CHECK(status.error().code() != ErrorCode::kOk, "a refusal has an error code");
        FUZZ_CHECK(!message.empty() && message.size() < Error::kMessageCapacity &&
                       is_printable_text(message),
                   "the refusal is printed on the console: \"{}\"", message);
        outcome.message = message;
        return outcome;
    }
    memory.release();
    check_accepted(*info, memory, rsdp, rsdp_length);
    outcome.accepted = true;
    outcome.cpus = info->cpu_count;
    outcome.tables = info->table_count;
    return outcome;
}

}  // namespace relay::tests
