// The domain's emulated 16550 UART, polled (start info's console_port, 0x3F8). Relay
// prints each complete line a guest writes to it on the host console as "(dN) line".
#pragma once

#include <string_view>

#include "lib/types.hpp"

namespace relay::guest {

class Uart16550 {
public:
    static constexpr u16 kDefaultPort = 0x3F8;

    constexpr explicit Uart16550(u16 port = kDefaultPort) : port_(port) {}

    // Writes the bytes as they are (no newline translation: Relay ends lines at '\n').
    void write(std::string_view bytes) const;

    u16 port() const { return port_; }

private:
    void write_byte(u8 byte) const;

    u16 port_;
};

}  // namespace relay::guest
