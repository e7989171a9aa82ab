#include "tests/guests/lib/console.hpp"

#include "tests/guests/lib/guest.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/lib/spinlock.hpp"
#include "tests/guests/lib/uart.hpp"
#include "tests/guests/lib/vcpu.hpp"

namespace relay::guest {

namespace {

Spinlock g_lock;
Uart16550 g_uart;
ConsoleBackend g_backend = ConsoleBackend::kUart;

// Writes one whole line (with its '\n'); the caller holds the lock or has given up on it.
void send_line(std::string_view line) {
    if (g_backend == ConsoleBackend::kHypercall) {
        i64 written = hc::console_write(line.data(), line.size());
        if (written == static_cast<i64>(line.size())) {
            return;
        }
        // Refused or short: the UART still works, and the line must not be lost.
        g_backend = ConsoleBackend::kUart;
        g_uart.write("console: RELAY_HC_CONSOLE_WRITE failed; using the UART\n");
    }
    g_uart.write(line);
}

class LineBuffer final : public FormatOutput {
public:
    void write(const char* data, usize length) override {
        for (usize i = 0; i < length; ++i) {
            data_[length_++] = data[i];
            if (data[i] == '\n') {
                send();
            } else if (length_ == kConsoleLineCapacity - 1) {
                data_[length_++] = '\n';
                send();
            }
        }
    }

    void flush() {
        if (length_ > 0) {
            data_[length_++] = '\n';
            send();
        }
    }

private:
    void send() {
        {
            SpinlockGuard guard(g_lock, current_vcpu());
            send_line(std::string_view(data_, length_));
        }
        length_ = 0;
    }

    char data_[kConsoleLineCapacity];
    usize length_ = 0;
};

LineBuffer g_lines[kMaxVcpus];

}  // namespace

void console_init(u16 uart_port, ConsoleBackend backend) {
    g_uart = Uart16550(uart_port != 0 ? uart_port : Uart16550::kDefaultPort);
    g_backend = backend;
}

void console_write(std::string_view text) {
    g_lines[current_vcpu()].write(text.data(), text.size());
}

void console_flush() {
    g_lines[current_vcpu()].flush();
}

FormatOutput& console_output() {
    return g_lines[current_vcpu()];
}

std::string_view console_program_name() {
    return kGuestProgram.name;
}

void console_write_raw(std::string_view bytes) {
    SpinlockGuard guard(g_lock, current_vcpu());
    g_uart.write(bytes);
}

void emergency_write_line(std::string_view text) {
    char buffer[kConsoleLineCapacity + 1];
    usize length = text.size() < kConsoleLineCapacity ? text.size() : kConsoleLineCapacity;
    for (usize i = 0; i < length; ++i) {
        buffer[i] = text[i];
    }
    buffer[length++] = '\n';
    std::string_view line(buffer, length);
    u32 vcpu = current_vcpu();
    bool locked = false;
    if (!g_lock.held_by(vcpu)) {
        // Another vCPU may be mid-line; wait a little, then write anyway: a report that
        // interleaves beats no report.
        for (u32 attempt = 0; attempt < 100000 && !locked; ++attempt) {
            locked = g_lock.try_lock(vcpu);
            cpu_relax();
        }
    }
    send_line(line);
    if (locked) {
        g_lock.unlock();
    }
}

}  // namespace relay::guest
