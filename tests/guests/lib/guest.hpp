// What a test guest program provides to the guest library, and what the library gives
// it. The library's entry (_start) validates the start info, sets up the IDT, console and
// TSC, parses the command line, then calls guest_main on the boot vCPU. When guest_main
// returns, the domain powers off.
#pragma once

#include <span>
#include <string_view>

#include "tests/guests/lib/command_line.hpp"
#include "tests/guests/lib/start_info.hpp"

namespace relay::guest {

struct GuestProgram {
    // Prefixes every log line ("memtest" -> "memtest: ...").
    const char* name;
    // Command-line keys the program reads; the library warns about any other key (it
    // reads console= itself).
    std::span<const std::string_view> arguments;
    // Keys whose value runs to the end of the command line (command_line.hpp).
    std::span<const std::string_view> rest_of_line_arguments;
};

// Defined by each guest program.
extern const GuestProgram kGuestProgram;
void guest_main(const StartInfo& start_info);

// Valid once guest_main runs.
const StartInfo& start_info();
const CommandLine& command_line();

}  // namespace relay::guest
