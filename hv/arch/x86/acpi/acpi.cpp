#include "hv/arch/x86/acpi/acpi.hpp"
#include "lib/little_endian.hpp"

#include <cstring>

namespace relay::acpi {

namespace {

constexpr u64 kHeaderSize = 36;  // ACPI 6.4 §5.2.6, system description table header
constexpr u32 kMaxTableLength = 16 * 1024 * 1024;

// Firmware bytes that reach the console (a table's signature in an error, the OEM ID in
// the boot log) are copied with everything outside printable ASCII made '?', so a hostile
// or broken table cannot write control characters or escape sequences to the console.
// The OEM ID is often padded with NULs: a NUL ends the text when `nul_ends` is set.
void copy_printable(char* out, const u8* bytes, usize count, bool nul_ends) {
    usize i = 0;
    for (; i < count; ++i) {
        if (bytes[i] == 0 && nul_ends) {
            break;
        }
        out[i] = bytes[i] >= 0x20 && bytes[i] <= 0x7E ? static_cast<char>(bytes[i]) : '?';
    }
    for (; i <= count; ++i) {
        out[i] = '\0';
    }
}

u8 checksum(const u8* data, u64 length) {
    u8 sum = 0;
    for (u64 i = 0; i < length; ++i) {
        sum = static_cast<u8>(sum + data[i]);
    }
    return sum;
}

// Validates the RSDP's signature and checksums (ACPI 6.4 §5.2.5.3).
Status check_rsdp(const u8* rsdp, usize available) {
    if (available < 20) {
        return make_error(ErrorCode::kTruncated, "RSDP: {} bytes, need at least 20", available);
    }
    if (std::memcmp(rsdp, "RSD PTR ", 8) != 0) {
        return make_error(ErrorCode::kBadMagic, "RSDP: signature is not 'RSD PTR '");
    }
    if (checksum(rsdp, 20) != 0) {
        return make_error(ErrorCode::kCorrupt, "RSDP: checksum over the first 20 bytes fails");
    }
    if (rsdp[15] >= 2) {
        if (available < 36) {
            return make_error(ErrorCode::kTruncated, "RSDP revision {}: {} bytes, need 36",
                              rsdp[15], available);
        }
        u32 length = load_le32(rsdp + 20);
        if (length < 36 || length > available) {
            return make_error(ErrorCode::kCorrupt, "RSDP: length {} is invalid", length);
        }
        if (checksum(rsdp, length) != 0) {
            return make_error(ErrorCode::kCorrupt, "RSDP: extended checksum fails");
        }
    }
    return ok_status();
}

// Maps a whole table after checking its header; returns nullptr with an error otherwise.
Result<const u8*> map_table(const PhysicalMemoryReader& memory, HostPhysAddr address,
                            const char* expected_signature) {
    const u8* header = memory.map(address, kHeaderSize);
    if (header == nullptr) {
        return make_error(ErrorCode::kOutOfRange, "ACPI table at {} is not accessible", address);
    }
    char signature[5];
    copy_printable(signature, header, 4, false);
    if (expected_signature != nullptr && std::memcmp(header, expected_signature, 4) != 0) {
        return make_error(ErrorCode::kBadMagic, "ACPI table at {}: signature '{}', expected '{}'",
                          address, signature, expected_signature);
    }
    u32 length = load_le32(header + 4);
    if (length < kHeaderSize || length > kMaxTableLength) {
        return make_error(ErrorCode::kCorrupt, "ACPI table '{}' at {}: length {} is invalid",
                          signature, address, length);
    }
    const u8* table = memory.map(address, length);
    if (table == nullptr) {
        return make_error(ErrorCode::kTruncated,
                          "ACPI table '{}' at {}: {} bytes are not accessible (truncated)",
                          signature, address, length);
    }
    if (checksum(table, length) != 0) {
        return make_error(ErrorCode::kCorrupt, "ACPI table '{}' at {}: checksum fails", signature,
                          address);
    }
    return table;
}

Status parse_madt(const u8* madt, AcpiInfo* out) {
    u32 length = load_le32(madt + 4);
    if (length < kHeaderSize + 8) {
        return make_error(ErrorCode::kTruncated, "MADT: length {} cannot hold its fixed fields",
                          length);
    }
    out->local_apic_address = HostPhysAddr(load_le32(madt + 36));
    out->has_8259_pics = (load_le32(madt + 40) & 1) != 0;
    u64 offset = kHeaderSize + 8;
    usize index = 0;
    while (offset < length) {
        if (length - offset < 2) {
            return make_error(ErrorCode::kTruncated, "MADT entry {} at offset {}: header truncated",
                              index, offset);
        }
        u8 type = madt[offset];
        u8 entry_length = madt[offset + 1];
        if (entry_length < 2 || entry_length > length - offset) {
            return make_error(ErrorCode::kCorrupt,
                              "MADT entry {} (type {}) at offset {}: length {} is invalid", index,
                              type, offset, entry_length);
        }
        const u8* entry = madt + offset;
        Cpu cpu;
        bool is_cpu = false;
        switch (type) {
            case 0:  // Processor Local APIC (ACPI 6.4 §5.2.12.2)
                if (entry_length < 8) {
                    return make_error(ErrorCode::kTruncated, "MADT local APIC entry {} too short",
                                      index);
                }
                cpu.processor_uid = entry[2];
                cpu.apic_id = entry[3];
                cpu.enabled = (load_le32(entry + 4) & 1) != 0;
                cpu.online_capable = (load_le32(entry + 4) & 2) != 0;
                is_cpu = true;
                break;
            case 5:  // Local APIC Address Override (§5.2.12.8)
                if (entry_length < 12) {
                    return make_error(ErrorCode::kTruncated,
                                      "MADT APIC address override entry {} too short", index);
                }
                out->local_apic_address = HostPhysAddr(load_le64(entry + 4));
                break;
            case 9:  // Processor Local x2APIC (§5.2.12.12)
                if (entry_length < 16) {
                    return make_error(ErrorCode::kTruncated, "MADT x2APIC entry {} too short",
                                      index);
                }
                cpu.apic_id = load_le32(entry + 4);
                cpu.enabled = (load_le32(entry + 8) & 1) != 0;
                cpu.online_capable = (load_le32(entry + 8) & 2) != 0;
                cpu.processor_uid = load_le32(entry + 12);
                is_cpu = true;
                break;
            default:
                break;  // I/O APICs, overrides, NMI sources: not used yet
        }
        if (is_cpu) {
            for (usize i = 0; i < out->cpu_count; ++i) {
                if (out->cpus[i].apic_id == cpu.apic_id) {
                    return make_error(ErrorCode::kCorrupt, "MADT entry {}: APIC ID {} listed twice",
                                      index, cpu.apic_id);
                }
            }
            if (out->cpu_count == AcpiInfo::kMaxCpus) {
                return make_error(ErrorCode::kOutOfRange, "MADT lists more than {} CPUs",
                                  AcpiInfo::kMaxCpus);
            }
            out->cpus[out->cpu_count++] = cpu;
        }
        offset += entry_length;
        ++index;
    }
    return ok_status();
}

}  // namespace

const TableLocation* AcpiInfo::find(const char* signature) const {
    for (usize i = 0; i < table_count; ++i) {
        if (std::memcmp(tables[i].signature, signature, 4) == 0) {
            return &tables[i];
        }
    }
    return nullptr;
}

Status find_rsdp(const PhysicalMemoryReader& memory, const BootInfo& boot, u8* rsdp_out,
                 usize* rsdp_length, HostPhysAddr* found_at) {
    if (boot.rsdp_length != 0) {
        Status status = check_rsdp(boot.rsdp, boot.rsdp_length);
        if (!status.ok()) {
            return status.error().prefix("boot loader's ");
        }
        std::memcpy(rsdp_out, boot.rsdp, boot.rsdp_length);
        *rsdp_length = boot.rsdp_length;
        *found_at = HostPhysAddr(0);
        return ok_status();
    }
    auto search = [&](u64 start, u64 length) -> bool {
        for (u64 address = start; address + 20 <= start + length; address += 16) {
            const u8* candidate = memory.map(HostPhysAddr(address), 20);
            if (candidate == nullptr || std::memcmp(candidate, "RSD PTR ", 8) != 0) {
                continue;
            }
            usize available = candidate[15] >= 2 ? 36 : 20;
            const u8* full = memory.map(HostPhysAddr(address), available);
            if (full == nullptr || !check_rsdp(full, available).ok()) {
                continue;
            }
            std::memcpy(rsdp_out, full, available);
            *rsdp_length = available;
            *found_at = HostPhysAddr(address);
            return true;
        }
        return false;
    };
    // The EBDA segment is at 0x40E in the BIOS data area.
    const u8* bda = memory.map(HostPhysAddr(0x40E), 2);
    if (bda != nullptr) {
        u64 ebda = static_cast<u64>(load_le16(bda)) << 4;
        if (ebda >= 0x80000 && ebda < 0xA0000 && search(ebda, 1024)) {
            return ok_status();
        }
    }
    if (search(0xE0000, 0x20000)) {
        return ok_status();
    }
    return make_error(ErrorCode::kNotFound,
                      "no ACPI RSDP: none from the boot loader and none in the BIOS areas");
}

Status parse_acpi(const PhysicalMemoryReader& memory, const u8* rsdp, usize rsdp_length,
                  AcpiInfo* out) {
    RELAY_TRY(check_rsdp(rsdp, rsdp_length));
    out->revision = rsdp[15];
    copy_printable(out->oem_id, rsdp + 9, 6, true);

    HostPhysAddr root;
    u64 entry_size;
    const char* root_signature;
    if (out->revision >= 2 && load_le64(rsdp + 24) != 0) {
        root = HostPhysAddr(load_le64(rsdp + 24));
        entry_size = 8;
        root_signature = "XSDT";
        out->uses_xsdt = true;
    } else {
        root = HostPhysAddr(load_le32(rsdp + 16));
        entry_size = 4;
        root_signature = "RSDT";
        out->uses_xsdt = false;
    }
    RELAY_TRY_ASSIGN(root_table, map_table(memory, root, root_signature));
    u32 root_length = load_le32(root_table + 4);
    u64 entries = (root_length - kHeaderSize) / entry_size;

    const u8* madt = nullptr;
    for (u64 i = 0; i < entries; ++i) {
        const u8* slot = root_table + kHeaderSize + i * entry_size;
        HostPhysAddr address(entry_size == 8 ? load_le64(slot) : load_le32(slot));
        auto table = map_table(memory, address, nullptr);
        if (!table.ok()) {
            return table.error().prefix("{} entry {}: ", root_signature, i);
        }
        if (out->table_count == AcpiInfo::kMaxTables) {
            return make_error(ErrorCode::kOutOfRange, "{} lists more than {} tables",
                              root_signature, AcpiInfo::kMaxTables);
        }
        TableLocation& location = out->tables[out->table_count++];
        std::memcpy(location.signature, table.value(), 4);
        location.address = address;
        location.length = load_le32(table.value() + 4);
        if (std::memcmp(location.signature, "APIC", 4) == 0 && madt == nullptr) {
            madt = table.value();
        }
    }
    if (madt == nullptr) {
        return make_error(ErrorCode::kNotFound, "no MADT ('APIC') in the {}: cannot find CPUs",
                          root_signature);
    }
    return parse_madt(madt, out);
}

}  // namespace relay::acpi
