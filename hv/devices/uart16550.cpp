#include "hv/devices/uart16550.hpp"

namespace relay {

namespace {
// Register offsets (PC16550D datasheet table 2).
constexpr u16 kData = 0;             // RBR (read) / THR (write) / DLL (DLAB)
constexpr u16 kInterruptEnable = 1;  // IER / DLM (DLAB)
constexpr u16 kInterruptId = 2;      // IIR (read) / FCR (write)
constexpr u16 kLineControl = 3;
constexpr u16 kModemControl = 4;
constexpr u16 kLineStatus = 5;
constexpr u16 kModemStatus = 6;
constexpr u16 kScratch = 7;

constexpr u8 kLineStatusTransmitHoldingEmpty = 0x20;
constexpr u8 kLineStatusTransmitterEmpty = 0x40;
constexpr u8 kInterruptIdNone = 0x01;
constexpr u8 kInterruptIdFifosEnabled = 0xC0;
// Modem status with loopback (MCR bit 4): outputs reflect into inputs; otherwise report
// CTS, DSR and DCD asserted so guests that check for a "connected" port write.
constexpr u8 kModemStatusConnected = 0xB0;
}  // namespace

u32 Uart16550::read(u16 port, u8 size) {
    u16 offset = static_cast<u16>(port - base_);
    u32 value = 0xFF;
    switch (offset) {
        case kData:
            value = divisor_access() ? (registers_.divisor_latch & 0xFF) : 0;  // no input
            break;
        case kInterruptEnable:
            value =
                divisor_access() ? (registers_.divisor_latch >> 8) : registers_.interrupt_enable;
            break;
        case kInterruptId:
            value = kInterruptIdNone |
                    ((registers_.fifo_control & 1) != 0 ? kInterruptIdFifosEnabled : 0);
            break;
        case kLineControl:
            value = registers_.line_control;
            break;
        case kModemControl:
            value = registers_.modem_control;
            break;
        case kLineStatus:
            value = kLineStatusTransmitHoldingEmpty | kLineStatusTransmitterEmpty;
            break;
        case kModemStatus:
            if ((registers_.modem_control & 0x10) != 0) {
                // Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
                u8 mcr = registers_.modem_control;
                value = static_cast<u8>(((mcr & 0x01) << 5) | ((mcr & 0x02) << 3) |
                                        ((mcr & 0x04) << 4) | ((mcr & 0x08) << 4));
            } else {
                value = kModemStatusConnected;
            }
            break;
        case kScratch:
            value = registers_.scratch;
            break;
        default:
            break;
    }
    // Wider reads see the byte register in the low byte and open bus above.
    if (size == 2) {
        value |= 0xFF00;
    } else if (size == 4) {
        value |= 0xFFFFFF00;
    }
    return value;
}

void Uart16550::write(u16 port, u8 /*size*/, u32 value, ConsoleLineSink& sink) {
    u16 offset = static_cast<u16>(port - base_);
    u8 byte = static_cast<u8>(value);
    switch (offset) {
        case kData:
            if (divisor_access()) {
                registers_.divisor_latch =
                    static_cast<u16>((registers_.divisor_latch & 0xFF00) | byte);
            } else if ((registers_.modem_control & 0x10) == 0) {
                put(static_cast<char>(byte), sink);  // loopback mode transmits nothing
            }
            break;
        case kInterruptEnable:
            if (divisor_access()) {
                registers_.divisor_latch =
                    static_cast<u16>((registers_.divisor_latch & 0x00FF) | (byte << 8));
            } else {
                registers_.interrupt_enable = byte & 0x0F;
            }
            break;
        case kInterruptId:
            registers_.fifo_control = byte;
            break;
        case kLineControl:
            registers_.line_control = byte;
            break;
        case kModemControl:
            registers_.modem_control = byte & 0x1F;
            break;
        case kScratch:
            registers_.scratch = byte;
            break;
        default:
            break;  // LSR and MSR are read-only
    }
}

void Uart16550::put(char c, ConsoleLineSink& sink) {
    ++bytes_written_;
    if (c == '\n') {
        sink.write_line(std::string_view(line_, line_length_));
        line_length_ = 0;
        return;
    }
    if (c == '\r') {
        return;
    }
    // Keep control characters out of the host console: show them as '?'.
    if (static_cast<u8>(c) < 0x20 && c != '\t') {
        c = '?';
    } else if (static_cast<u8>(c) >= 0x7F) {
        c = '?';
    }
    line_[line_length_++] = c;
    if (line_length_ == kLineCapacity) {
        sink.write_line(std::string_view(line_, line_length_));
        line_length_ = 0;
    }
}

void Uart16550::flush(ConsoleLineSink& sink) {
    if (line_length_ > 0) {
        sink.write_line(std::string_view(line_, line_length_));
        line_length_ = 0;
    }
}

void Uart16550::restore(const Registers& registers, std::string_view pending) {
    registers_ = registers;
    line_length_ = pending.size() < kLineCapacity ? pending.size() : kLineCapacity;
    for (usize i = 0; i < line_length_; ++i) {
        line_[i] = pending[i];
    }
}

}  // namespace relay
