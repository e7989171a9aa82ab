#include "hv/arch/x86/pci_config.hpp"

#include "hv/arch/x86/cpu.hpp"
#include "hv/lib/spinlock.hpp"

namespace relay::pci {

namespace {

Spinlock config_lock;

constexpr u16 kAddressPort = 0xCF8;
constexpr u16 kDataPort = 0xCFC;

u32 address_of(const PciFunction& function, u16 offset) {
    return 0x8000'0000u | (static_cast<u32>(function.bus) << 16) |
           (static_cast<u32>(function.device) << 11) | (static_cast<u32>(function.function) << 8) |
           (offset & 0xFC);
}

}  // namespace

u32 config_read(const PciFunction& function, u16 offset, u8 width) {
    if (function.segment != 0 || offset > 0xFF) {
        return 0xFFFF'FFFFu;
    }
    SpinlockGuard guard(config_lock);
    x86::outl(kAddressPort, address_of(function, offset));
    u16 port = static_cast<u16>(kDataPort + (offset & 3));
    switch (width) {
        case 1:
            return x86::inb(port);
        case 2:
            return x86::inw(port);
        default:
            return x86::inl(kDataPort);
    }
}

void config_write(const PciFunction& function, u16 offset, u8 width, u32 value) {
    if (function.segment != 0 || offset > 0xFF) {
        return;
    }
    SpinlockGuard guard(config_lock);
    x86::outl(kAddressPort, address_of(function, offset));
    u16 port = static_cast<u16>(kDataPort + (offset & 3));
    switch (width) {
        case 1:
            x86::outb(port, static_cast<u8>(value));
            break;
        case 2:
            x86::outw(port, static_cast<u16>(value));
            break;
        default:
            x86::outl(kDataPort, value);
            break;
    }
}

bool function_present(const PciFunction& function) {
    return (config_read(function, reg::kVendorId, 2) & 0xFFFF) != 0xFFFF;
}

}  // namespace relay::pci
