#include "hv/console.hpp"

#include <atomic>

#include "hv/arch/x86/serial.hpp"
#include "hv/lib/spinlock.hpp"

namespace relay {

namespace {
x86::SerialPort serial;
Spinlock console_lock;
std::atomic<LogLevel> current_level{LogLevel::kInfo};
std::atomic<bool> panic_mode{false};
}  // namespace

namespace console {

void init(u16 serial_base) {
    serial.init(serial_base);
}

void set_level(LogLevel level) {
    current_level.store(level, std::memory_order_relaxed);
}

LogLevel level() {
    return current_level.load(std::memory_order_relaxed);
}

void write_line(std::string_view prefix, std::string_view text) {
    if (panic_mode.load(std::memory_order_relaxed)) {
        serial.write(prefix.data(), prefix.size());
        serial.write(text.data(), text.size());
        serial.write("\n", 1);
        return;
    }
    SpinlockGuard guard(console_lock);
    serial.write(prefix.data(), prefix.size());
    serial.write(text.data(), text.size());
    serial.write("\n", 1);
}

void write_emergency(std::string_view text) {
    serial.write(text.data(), text.size());
}

void enter_panic_mode() {
    panic_mode.store(true, std::memory_order_relaxed);
}

}  // namespace console

namespace detail {

void log_line(LogLevel level, const char* fmt, const FormatArg* args, usize count) {
    char line[kLogLineCapacity];
    FormatBuffer output(line, sizeof(line));
    switch (level) {
        case LogLevel::kError:
            output.write("error: ", 7);
            break;
        case LogLevel::kWarning:
            output.write("warning: ", 9);
            break;
        default:
            break;
    }
    vformat(output, fmt, args, count);
    console::write_line("(relay) ", output.view());
}

}  // namespace detail

}  // namespace relay
