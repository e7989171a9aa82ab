// The hypervisor console: whole lines on the serial port, one CPU at a time, with a
// prefix naming the source: "(relay) " for the hypervisor, "(dN) " for domain N's
// emulated UART (as Xen does). Log levels filter hypervisor messages.
#pragma once

#include <string_view>

#include "lib/format.hpp"
#include "lib/types.hpp"

namespace relay {

enum class LogLevel : u8 { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

namespace console {

void init(u16 serial_base);
void set_level(LogLevel level);
LogLevel level();

// Writes one line: prefix, text, newline. Serialized across CPUs.
void write_line(std::string_view prefix, std::string_view text);

// Unlocked output for the panic path (another CPU may hold the lock forever).
void write_emergency(std::string_view text);

// Set once a panic starts: later output goes through write_emergency.
void enter_panic_mode();

}  // namespace console

namespace detail {
inline constexpr usize kLogLineCapacity = 400;
void log_line(LogLevel level, const char* fmt, const FormatArg* args, usize count);
}  // namespace detail

template <typename... Args>
void log(LogLevel level, const char* fmt, const Args&... args) {
    if (level > console::level()) {
        return;
    }
    if constexpr (sizeof...(Args) == 0) {
        detail::log_line(level, fmt, nullptr, 0);
    } else {
        const FormatArg converted[] = {format_arg(args)...};
        detail::log_line(level, fmt, converted, sizeof...(Args));
    }
}

template <typename... Args>
void log_error(const char* fmt, const Args&... args) {
    log(LogLevel::kError, fmt, args...);
}
template <typename... Args>
void log_warning(const char* fmt, const Args&... args) {
    log(LogLevel::kWarning, fmt, args...);
}
template <typename... Args>
void log_info(const char* fmt, const Args&... args) {
    log(LogLevel::kInfo, fmt, args...);
}
template <typename... Args>
void log_debug(const char* fmt, const Args&... args) {
    log(LogLevel::kDebug, fmt, args...);
}

}  // namespace relay
