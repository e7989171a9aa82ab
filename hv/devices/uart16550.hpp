// An emulated 16550 UART (National Semiconductor PC16550D) at a domain's COM1: the
// domain's console. Output is collected into lines; each complete line goes to a sink
// (the hypervisor console, prefixed "(dN) "). No interrupts are raised: guests poll LSR,
// which always reports the transmitter empty.
//
// Pure logic with no hardware access: unit-tested on the host. Its register state is
// what the stream's Uart16550/ConsoleState tables carry across a live update.
#pragma once

#include <string_view>

#include "lib/types.hpp"

namespace relay {

class ConsoleLineSink {
public:
    virtual void write_line(std::string_view line) = 0;

protected:
    ~ConsoleLineSink() = default;
};

class Uart16550 {
public:
    static constexpr u16 kDefaultBase = 0x3F8;
    static constexpr u16 kPortCount = 8;
    // A line longer than this is emitted in pieces (a guest that never writes '\n' must
    // not be able to hold output back forever or grow a buffer).
    static constexpr usize kLineCapacity = 256;

    struct Registers {
        u16 divisor_latch = 12;   // 9600 baud after reset
        u8 interrupt_enable = 0;  // IER
        u8 fifo_control = 0;      // FCR as last written
        u8 line_control = 0x03;   // LCR: 8N1
        u8 modem_control = 0;     // MCR
        u8 scratch = 0;           // SCR
    };

    explicit Uart16550(u16 base = kDefaultBase) : base_(base) {}

    u16 base() const { return base_; }
    bool handles(u16 port) const { return port >= base_ && port < base_ + kPortCount; }

    // Port accesses of `size` bytes (1, 2 or 4; only the low byte matters for a 16550).
    u32 read(u16 port, u8 size);
    void write(u16 port, u8 size, u32 value, ConsoleLineSink& sink);

    // Emits a pending partial line (e.g. when the domain dies or before a live update
    // records it as unsent output).
    void flush(ConsoleLineSink& sink);

    const Registers& registers() const { return registers_; }
    std::string_view pending_output() const { return std::string_view(line_, line_length_); }

    // Restores state from a stream (bytes beyond the capacity are dropped).
    void restore(const Registers& registers, std::string_view pending);

    u64 bytes_written() const { return bytes_written_; }

private:
    bool divisor_access() const { return (registers_.line_control & 0x80) != 0; }
    void put(char c, ConsoleLineSink& sink);

    u16 base_;
    Registers registers_;
    char line_[kLineCapacity] = {};
    usize line_length_ = 0;
    u64 bytes_written_ = 0;
};

}  // namespace relay
