// A test guest's console: formatted output ("{}" placeholders, lib/format.hpp), buffered
// per vCPU until the end of the line, then written as one piece under a lock, so that
// lines from different vCPUs never interleave (Relay prefixes whole lines with "(dN) ").
// The backend is the emulated UART, or RELAY_HC_CONSOLE_WRITE (command line
// console=hypercall).
#pragma once

#include <string_view>

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay::guest {

enum class ConsoleBackend : u8 { kUart, kHypercall };

// Longest line a vCPU buffers; longer text is split into lines of this length.
inline constexpr usize kConsoleLineCapacity = 512;

// Until called, output goes to the UART at 0x3F8.
void console_init(u16 uart_port, ConsoleBackend backend);

// Appends to this vCPU's line; each '\n' sends the line.
void console_write(std::string_view text);

// Sends this vCPU's unfinished line, ending it with '\n'.
void console_flush();

// The program's name, which log_line puts in front of every line ("memtest").
std::string_view console_program_name();

// Writes bytes as they are, past the line buffer but under the lock (tests of what the
// hypervisor does with raw console input).
void console_write_raw(std::string_view bytes);

FormatOutput& console_output();

template <typename... Args>
void print(const char* fmt, const Args&... args) {
    format(console_output(), fmt, args...);
}

// One line: "<program>: <formatted text>\n".
template <typename... Args>
void log_line(const char* fmt, const Args&... args) {
    FormatOutput& output = console_output();
    std::string_view name = console_program_name();
    output.write(name.data(), name.size());
    output.write(": ", 2);
    format(output, fmt, args...);
    output.write("\n", 1);
}

// For the exception path: formats on the stack and writes the line even when this vCPU
// was interrupted while holding the console lock, or another vCPU holds it for too long.
void emergency_write_line(std::string_view line);

template <typename... Args>
void emergency_log_line(const char* fmt, const Args&... args) {
    char buffer[kConsoleLineCapacity];
    FormatBuffer output(buffer, sizeof(buffer));
    std::string_view name = console_program_name();
    output.write(name.data(), name.size());
    output.write(": ", 2);
    format(output, fmt, args...);
    emergency_write_line(output.view());
}

}  // namespace relay::guest
