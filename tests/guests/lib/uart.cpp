#include "tests/guests/lib/uart.hpp"

#include "tests/guests/lib/cpu.hpp"

namespace relay::guest {

namespace {

// 16550 registers (offsets from the base port) and the line-status bit that says the
// transmit holding register can take a byte (PC16550D datasheet, "Line Status Register").
constexpr u16 kTransmitHolding = 0;
constexpr u16 kLineStatus = 5;
constexpr u8 kTransmitHoldingEmpty = 1 << 5;

// An emulated UART is always ready; the bound only keeps a broken one from hanging the
// guest (each poll is a VM exit, so the bound is small).
constexpr u32 kMaxPolls = 10000;

}  // namespace

void Uart16550::write_byte(u8 byte) const {
    for (u32 poll = 0; poll < kMaxPolls; ++poll) {
        if ((port_read8(port_ + kLineStatus) & kTransmitHoldingEmpty) != 0) {
            break;
        }
        cpu_relax();
    }
    port_write8(port_ + kTransmitHolding, byte);
}

void Uart16550::write(std::string_view bytes) const {
    for (char c : bytes) {
        write_byte(static_cast<u8>(c));
    }
}

}  // namespace relay::guest
