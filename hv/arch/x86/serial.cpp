#include "hv/arch/x86/serial.hpp"

#include "hv/arch/x86/cpu.hpp"

namespace relay::x86 {

namespace {
// 16550 register offsets (National Semiconductor PC16550D datasheet, table 2).
constexpr u16 kData = 0;
constexpr u16 kInterruptEnable = 1;
constexpr u16 kFifoControl = 2;
constexpr u16 kLineControl = 3;
constexpr u16 kModemControl = 4;
constexpr u16 kLineStatus = 5;
constexpr u16 kScratch = 7;
constexpr u8 kLineStatusTransmitEmpty = 1 << 5;
}  // namespace

bool SerialPort::init(u16 base) {
    base_ = base;
    outb(base_ + kScratch, 0xA5);
    if (inb(base_ + kScratch) != 0xA5) {
        present_ = false;
        return false;
    }
    outb(base_ + kInterruptEnable, 0x00);
    outb(base_ + kLineControl, 0x80);  // DLAB: divisor latch access
    outb(base_ + 0, 1);                // divisor 1 = 115200 baud
    outb(base_ + 1, 0);
    outb(base_ + kLineControl, 0x03);   // 8 data bits, no parity, 1 stop bit
    outb(base_ + kFifoControl, 0xC7);   // FIFOs on, cleared, 14-byte threshold
    outb(base_ + kModemControl, 0x03);  // DTR, RTS
    present_ = true;
    return true;
}

void SerialPort::put(char c) {
    // Bounded wait: a wedged UART must not hang the hypervisor.
    for (u32 spins = 0; spins < 100000; ++spins) {
        if ((inb(base_ + kLineStatus) & kLineStatusTransmitEmpty) != 0) {
            break;
        }
        cpu_relax();
    }
    outb(base_ + kData, static_cast<u8>(c));
}

void SerialPort::write(const char* data, usize length) {
    if (!present_) {
        return;
    }
    for (usize i = 0; i < length; ++i) {
        if (data[i] == '\n') {
            put('\r');
        }
        put(data[i]);
    }
}

}  // namespace relay::x86
