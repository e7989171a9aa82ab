#include "hv/devices/uart16550.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relay {
namespace {

struct Lines final : ConsoleLineSink {
    void write_line(std::string_view line) override { lines.emplace_back(line); }
    std::vector<std::string> lines;
};

void type(Uart16550& uart, Lines& sink, const std::string& text) {
    for (char c : text) {
        uart.write(0x3F8, 1, static_cast<u8>(c), sink);
    }
}

TEST(Uart16550, LinesGoToTheSink) {
    Uart16550 uart;
    Lines sink;
    type(uart, sink, "hello\r\nworld\npartial");
    ASSERT_EQ(sink.lines.size(), 2u);
    EXPECT_EQ(sink.lines[0], "hello");
    EXPECT_EQ(sink.lines[1], "world");
    EXPECT_EQ(uart.pending_output(), "partial");
    uart.flush(sink);
    EXPECT_EQ(sink.lines.back(), "partial");
    EXPECT_EQ(uart.pending_output(), "");
}

TEST(Uart16550, TransmitterAlwaysEmpty) {
    Uart16550 uart;
    EXPECT_EQ(uart.read(0x3FD, 1) & 0x60, 0x60u);
}

TEST(Uart16550, DivisorLatchAndScratch) {
    Uart16550 uart;
    Lines sink;
    uart.write(0x3FB, 1, 0x80, sink);  // DLAB
    uart.write(0x3F8, 1, 0x01, sink);  // DLL (not output)
    uart.write(0x3F9, 1, 0x00, sink);  // DLM
    EXPECT_EQ(uart.registers().divisor_latch, 1u);
    EXPECT_EQ(uart.read(0x3F8, 1), 0x01u);
    uart.write(0x3FB, 1, 0x03, sink);
    uart.write(0x3FF, 1, 0x5A, sink);
    EXPECT_EQ(uart.read(0x3FF, 1), 0x5Au);
    EXPECT_TRUE(sink.lines.empty());
    EXPECT_EQ(uart.pending_output(), "");
}

TEST(Uart16550, LongLinesAreSplitNotBuffered) {
    Uart16550 uart;
    Lines sink;
    type(uart, sink, std::string(Uart16550::kLineCapacity * 2 + 5, 'x'));
    EXPECT_EQ(sink.lines.size(), 2u);
    EXPECT_EQ(uart.pending_output().size(), 5u);
}

TEST(Uart16550, ControlCharactersAreMasked) {
    Uart16550 uart;
    Lines sink;
    type(uart, sink, std::string("a\x1b[2Jb\x7f\n"));
    ASSERT_EQ(sink.lines.size(), 1u);
    EXPECT_EQ(sink.lines[0], "a?[2Jb?");
}

TEST(Uart16550, LoopbackDoesNotTransmit) {
    Uart16550 uart;
    Lines sink;
    uart.write(0x3FC, 1, 0x1E, sink);  // loopback, OUT1 OUT2 RTS
    type(uart, sink, "x\n");
    EXPECT_TRUE(sink.lines.empty());
    EXPECT_EQ(uart.read(0x3FE, 1) & 0xF0, 0xD0u);  // CTS, RI, DCD reflect RTS, OUT1, OUT2
}

TEST(Uart16550, RestoreKeepsPendingOutput) {
    Uart16550 uart;
    Lines sink;
    Uart16550::Registers registers;
    registers.scratch = 7;
    uart.restore(registers, "half a li");
    type(uart, sink, "ne\n");
    ASSERT_EQ(sink.lines.size(), 1u);
    EXPECT_EQ(sink.lines[0], "half a line");
    EXPECT_EQ(uart.read(0x3FF, 1), 7u);
}

}  // namespace
}  // namespace relay
