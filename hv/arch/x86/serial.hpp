// Polled 16550 UART driver for the hypervisor console (COM1 by default).
#pragma once

#include "lib/types.hpp"

namespace relay::x86 {

class SerialPort {
public:
    // Programs 115200 8N1 with FIFOs. Returns false if no UART answers at `base`
    // (scratch-register probe), in which case writes are dropped.
    bool init(u16 base);
    void write(const char* data, usize length);
    bool present() const { return present_; }

private:
    void put(char c);
    u16 base_ = 0;
    bool present_ = false;
};

}  // namespace relay::x86
