#include "tests/guests/lib/pci.hpp"

namespace relay::guest::pci {

namespace {

constexpr u32 kBarIoFlag = 1u << 0;
constexpr u32 kBarMemoryTypeMask = 3u << 1;
constexpr u32 kBarMemoryType64 = 2u << 1;
constexpr u32 kBarPrefetchable = 1u << 3;
constexpr u32 kBarMemoryAddressMask = ~0xFu;
constexpr u32 kBarIoAddressMask = ~0x3u;

// A hexadecimal digit's value, or -1.
int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// The value of `count` hexadecimal digits at text[position..], or -1.
int hex_field(std::string_view text, usize position, usize count) {
    int value = 0;
    for (usize i = 0; i < count; ++i) {
        int digit = hex_digit(text[position + i]);
        if (digit < 0) {
            return -1;
        }
        value = value * 16 + digit;
    }
    return value;
}

u16 bar_offset(u8 index) {
    return static_cast<u16>(kBar0Offset + 4 * index);
}

}  // namespace

FixedString<7> format_bdf(Bdf bdf) {
    return FixedString<7>::formatted("{:02x}:{:02x}.{:x}", bdf.bus, bdf.device, bdf.function);
}

Result<Bdf> parse_bdf(std::string_view text) {
    // "BB:DD.F": positions 2 and 5 hold the separators.
    if (text.size() == 7 && text[2] == ':' && text[5] == '.') {
        int bus = hex_field(text, 0, 2);
        int device = hex_field(text, 3, 2);
        int function = hex_field(text, 6, 1);
        if (bus >= 0 && device >= 0 && device < kDevicesPerBus && function >= 0 &&
            function < kFunctionsPerDevice) {
            return Bdf{static_cast<u8>(bus), static_cast<u8>(device), static_cast<u8>(function)};
        }
    }
    return make_error(ErrorCode::kInvalidArgument,
                      "\"{}\" is not a PCI address BB:DD.F (hexadecimal bus, device 00-1f, "
                      "function 0-7)",
                      text);
}

bool read_identity(ConfigSpace& config, Bdf bdf, DeviceIdentity* identity) {
    u32 ids = config.read32(bdf, kVendorIdOffset);
    if ((ids & 0xFFFF) == kNoVendor) {
        return false;
    }
    u32 revision_class = config.read32(bdf, kRevisionClassOffset);
    identity->vendor = static_cast<u16>(ids);
    identity->device = static_cast<u16>(ids >> 16);
    identity->revision = static_cast<u8>(revision_class);
    identity->class_code = revision_class >> 8;
    identity->header_type = static_cast<u8>(config.read32(bdf, kHeaderTypeDwordOffset) >> 16);
    return true;
}

bool find_device(ConfigSpace& config, u8 bus, u16 vendor, u16 device, Bdf* found) {
    for (u8 slot = 0; slot < kDevicesPerBus; ++slot) {
        DeviceIdentity identity;
        if (!read_identity(config, Bdf{bus, slot, 0}, &identity)) {
            continue;  // no function 0: no device (PCI 3.0 §3.2.2.3.4)
        }
        u8 functions =
            (identity.header_type & kHeaderTypeMultiFunction) != 0 ? kFunctionsPerDevice : 1;
        for (u8 function = 0; function < functions; ++function) {
            Bdf bdf{bus, slot, function};
            if (function != 0 && !read_identity(config, bdf, &identity)) {
                continue;
            }
            if (identity.vendor == vendor && identity.device == device) {
                *found = bdf;
                return true;
            }
        }
    }
    return false;
}

const char* bar_kind_name(BarKind kind) {
    switch (kind) {
        case BarKind::kUnimplemented:
            return "unimplemented";
        case BarKind::kIo:
            return "I/O";
        case BarKind::kMemory32:
            return "memory 32-bit";
        case BarKind::kMemory64:
            return "memory 64-bit";
    }
    return "?";
}

BarKind bar_kind(u32 value) {
    if ((value & kBarIoFlag) != 0) {
        return BarKind::kIo;
    }
    // Type 01b (below 1 MiB, PCI 2.x) is reserved since PCI 3.0; it decodes as 32 bits.
    return (value & kBarMemoryTypeMask) == kBarMemoryType64 ? BarKind::kMemory64
                                                            : BarKind::kMemory32;
}

u64 bar_address(u32 value, u32 upper) {
    switch (bar_kind(value)) {
        case BarKind::kIo:
            return value & kBarIoAddressMask;
        case BarKind::kMemory64:
            return static_cast<u64>(upper) << 32 | (value & kBarMemoryAddressMask);
        default:
            return value & kBarMemoryAddressMask;
    }
}

u64 bar_size(BarKind kind, u32 sized, u32 sized_upper) {
    switch (kind) {
        case BarKind::kUnimplemented:
            return 0;
        case BarKind::kIo: {
            u32 mask = sized & kBarIoAddressMask;
            if (mask == 0) {
                return 0;
            }
            // I/O BARs may implement only the low 16 address bits (§6.2.5.1).
            if ((mask & 0xFFFF'0000u) == 0) {
                mask |= 0xFFFF'0000u;
            }
            return static_cast<u32>(~mask + 1);
        }
        case BarKind::kMemory32: {
            u32 mask = sized & kBarMemoryAddressMask;
            return mask == 0 ? 0 : static_cast<u32>(~mask + 1);
        }
        case BarKind::kMemory64: {
            u64 mask = static_cast<u64>(sized_upper) << 32 | (sized & kBarMemoryAddressMask);
            return mask == 0 ? 0 : ~mask + 1;
        }
    }
    return 0;
}

Result<Bar> read_bar(ConfigSpace& config, Bdf bdf, u8 index) {
    u8 header_type = static_cast<u8>(config.read32(bdf, kHeaderTypeDwordOffset) >> 16);
    if ((header_type & kHeaderLayoutMask) != 0) {
        return make_error(ErrorCode::kUnsupported, "{}: header type {:#x} is not a type-0 header",
                          format_bdf(bdf).view(), header_type);
    }
    if (index >= kBarCount) {
        return make_error(ErrorCode::kOutOfRange, "{}: there is no BAR{}", format_bdf(bdf).view(),
                          index);
    }
    u16 offset = bar_offset(index);
    u32 value = config.read32(bdf, offset);
    Bar bar;
    bar.kind = bar_kind(value);
    bool wide = bar.kind == BarKind::kMemory64;
    if (wide && index + 1 >= kBarCount) {
        return make_error(ErrorCode::kCorrupt, "{}: BAR{} is 64-bit but the last one",
                          format_bdf(bdf).view(), index);
    }
    u32 upper = wide ? config.read32(bdf, offset + 4) : 0;
    bar.prefetchable = bar.kind != BarKind::kIo && (value & kBarPrefetchable) != 0;
    bar.address = bar_address(value, upper);

    // Sizing with decoding off, so that the all-ones value never decodes anything.
    u16 command = config.read16(bdf, kCommandOffset);
    config.write16(bdf, kCommandOffset,
                   static_cast<u16>(command & ~(kCommandIoSpace | kCommandMemorySpace)));
    config.write32(bdf, offset, ~0u);
    u32 sized = config.read32(bdf, offset);
    u32 sized_upper = 0;
    if (wide) {
        config.write32(bdf, offset + 4, ~0u);
        sized_upper = config.read32(bdf, offset + 4);
        config.write32(bdf, offset + 4, upper);
    }
    config.write32(bdf, offset, value);
    config.write16(bdf, kCommandOffset, command);

    bar.size = bar_size(bar.kind, sized, sized_upper);
    if (bar.size == 0) {
        bar = Bar{};  // a BAR that implements no address bits does not exist
    }
    return bar;
}

u16 enable_command_bits(ConfigSpace& config, Bdf bdf, u16 bits) {
    u16 command = config.read16(bdf, kCommandOffset);
    config.write16(bdf, kCommandOffset, static_cast<u16>(command | bits));
    return config.read16(bdf, kCommandOffset);
}

}  // namespace relay::guest::pci
