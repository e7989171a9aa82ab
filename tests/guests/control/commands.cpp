#include "tests/guests/control/commands.hpp"

#include "hv/abi/hypercall.h"
#include "tests/guests/control/base64.hpp"
#include "tests/guests/control/cpio.hpp"
#include "tests/guests/control/interpreter.hpp"
#include "tests/guests/lib/abi_names.hpp"

namespace relay::guest::control {

namespace {

constexpr u64 kDefaultWaitMicroseconds = 10'000'000;
constexpr u64 kWaitPollMicroseconds = 50'000;

u64 min_u64(u64 a, u64 b) {
    return a < b ? a : b;
}

// "1.234 s".
void print_seconds(FormatOutput& output, u64 microseconds) {
    format(output, "{}.{:03} s", microseconds / 1'000'000, (microseconds / 1000) % 1000);
}

// "control,boot"; "-" for none. Unknown bits are shown in hexadecimal.
void print_roles(FormatOutput& output, u32 permissions, u32 functions) {
    constexpr u32 kFunctionBoot = 1u << 0;  // docs/hyperlaunch.md
    bool any = false;
    auto separate = [&] {
        if (any) {
            format(output, ",");
        }
        any = true;
    };
    if ((permissions & RELAY_PERMISSION_CONTROL) != 0) {
        separate();
        format(output, "control");
    }
    if ((permissions & RELAY_PERMISSION_HARDWARE) != 0) {
        separate();
        format(output, "hardware");
    }
    if ((functions & kFunctionBoot) != 0) {
        separate();
        format(output, "boot");
    }
    u32 other_permissions = permissions & ~(RELAY_PERMISSION_CONTROL | RELAY_PERMISSION_HARDWARE);
    if (other_permissions != 0) {
        separate();
        format(output, "permissions:{:#x}", other_permissions);
    }
    if ((functions & ~kFunctionBoot) != 0) {
        separate();
        format(output, "functions:{:#x}", functions & ~kFunctionBoot);
    }
    if (!any) {
        format(output, "-");
    }
}

// The entry's name up to its NUL (or its 32 bytes), with anything unprintable as '?':
// the name comes from the hypervisor, but a console line must stay one line.
FixedString<RELAY_DOMAIN_NAME_LENGTH> printable_name(const relay_domain_entry& entry) {
    char name[RELAY_DOMAIN_NAME_LENGTH];
    usize length = 0;
    while (length < RELAY_DOMAIN_NAME_LENGTH && entry.name[length] != '\0') {
        char c = entry.name[length];
        name[length++] = c >= 0x21 && c <= 0x7e ? c : '?';
    }
    return FixedString<RELAY_DOMAIN_NAME_LENGTH>::formatted("{}", std::string_view(name, length));
}

// "domain 3 name=memtest2 lifecycle=running vcpus=2 memory_kib=32768 roles=-", and
// " reason=crash" for a domain that crashed or shut down.
void print_entry(FormatOutput& output, const relay_domain_entry& entry) {
    const char* lifecycle = lifecycle_name(entry.lifecycle);
    format(output, "domain {} name={} lifecycle=", entry.domid, printable_name(entry).view());
    if (lifecycle != nullptr) {
        format(output, "{}", lifecycle);
    } else {
        format(output, "unknown({})", entry.lifecycle);
    }
    format(output, " vcpus={} memory_kib={} roles=", entry.vcpus, entry.memory_kib);
    print_roles(output, entry.permissions, entry.functions);
    if (entry.lifecycle == RELAY_DOMAIN_CRASHED || entry.lifecycle == RELAY_DOMAIN_SHUT_DOWN) {
        const char* reason = shutdown_reason_name(entry.shutdown_reason);
        if (reason != nullptr) {
            format(output, " reason={}", reason);
        } else {
            format(output, " reason={}", entry.shutdown_reason);
        }
    }
}

// "52454c41-5900-4000-8000-000000000003".
void print_uuid(FormatOutput& output, const u8 (&uuid)[16]) {
    for (usize i = 0; i < 16; ++i) {
        format(output, (i == 4 || i == 6 || i == 8 || i == 10) ? "-{:02x}" : "{:02x}", uuid[i]);
    }
}

u64 domid_of(const Command& command) {
    return command.arguments[0].number;
}

Outcome run_list(const Command&, Interpreter& interpreter) {
    std::span<relay_domain_entry> buffer = interpreter.domain_buffer();
    for (relay_domain_entry& entry : buffer) {
        entry = relay_domain_entry{};
    }
    i64 total = interpreter.platform().domain_list(buffer.data(), buffer.size());
    if (total < 0) {
        return Outcome::error(total);
    }
    u64 shown = min_u64(static_cast<u64>(total), buffer.size());
    for (u64 i = 0; i < shown; ++i) {
        char text[kLineCapacity];
        FormatBuffer output(text, sizeof(text));
        print_entry(output, buffer[i]);
        interpreter.line("{}", output.view());
    }
    if (shown < static_cast<u64>(total)) {
        return Outcome::ok("{} domains ({} shown)", total, shown);
    }
    return Outcome::ok("{} domain{}", total, total == 1 ? "" : "s");
}

Outcome run_info(const Command& command, Interpreter& interpreter) {
    relay_domain_info info{};
    i64 result = interpreter.platform().domain_info(domid_of(command), &info);
    if (result < 0) {
        return Outcome::error(result);
    }
    char text[Outcome::kDetailCapacity];
    FormatBuffer output(text, sizeof(text));
    print_entry(output, info.entry);
    format(output, " uuid=");
    print_uuid(output, info.uuid);
    format(output, " pause_count={} exits={} run_time_ms={}", info.pause_count, info.exits,
           info.run_time_ns / 1'000'000);
    return Outcome::ok("{}", output.view());
}

Outcome run_pause(const Command& command, Interpreter& interpreter) {
    return Outcome::from_result(interpreter.platform().domain_pause(domid_of(command)));
}

Outcome run_unpause(const Command& command, Interpreter& interpreter) {
    return Outcome::from_result(interpreter.platform().domain_unpause(domid_of(command)));
}

Outcome run_destroy(const Command& command, Interpreter& interpreter) {
    return Outcome::from_result(interpreter.platform().domain_destroy(domid_of(command)));
}

// Polls DOMAIN_INFO until the domain is in the state (or gone), or the time is up.
Outcome run_wait(const Command& command, Interpreter& interpreter) {
    ControlPlatform& platform = interpreter.platform();
    u64 domid = domid_of(command);
    u64 state = command.arguments[1].number;
    u64 timeout =
        command.argument_count > 2 ? command.arguments[2].number : kDefaultWaitMicroseconds;
    u64 start = platform.monotonic_microseconds();
    while (true) {
        relay_domain_info info{};
        i64 result = platform.domain_info(domid, &info);
        u64 elapsed = platform.monotonic_microseconds() - start;
        char when[32];
        FormatBuffer when_text(when, sizeof(when));
        print_seconds(when_text, elapsed);
        if (state == kStateGone && result == RELAY_ENOENT) {
            return Outcome::ok("after {}", when_text.view());
        }
        if (result < 0) {
            return Outcome::error(result);
        }
        if (info.entry.lifecycle == state) {
            return Outcome::ok("after {}", when_text.view());
        }
        if (elapsed >= timeout) {
            const char* now = lifecycle_name(info.entry.lifecycle);
            return Outcome::timeout("domain {} is {} after {}", domid,
                                    now != nullptr ? now : "in an unknown state", when_text.view());
        }
        platform.sleep_microseconds(min_u64(kWaitPollMicroseconds, timeout - elapsed));
    }
}

Outcome run_sleep(const Command& command, Interpreter& interpreter) {
    interpreter.platform().sleep_microseconds(command.arguments[0].number);
    return Outcome::ok();
}

Outcome run_version(const Command&, Interpreter& interpreter) {
    i64 version = interpreter.platform().version();
    if (version < 0) {
        return Outcome::error(version);
    }
    u64 major = static_cast<u64>(version) >> 16;
    u64 minor = static_cast<u64>(version) & 0xFFFF;
    if (major != RELAY_ABI_VERSION_MAJOR) {
        return Outcome::ok("{}.{} (this guest speaks ABI {}.{})", major, minor,
                           RELAY_ABI_VERSION_MAJOR, RELAY_ABI_VERSION_MINOR);
    }
    return Outcome::ok("{}.{}", major, minor);
}

Outcome run_echo(const Command&, Interpreter&) {
    return Outcome::ok();
}

Outcome run_shutdown(const Command& command, Interpreter& interpreter) {
    u64 reason = command.argument_count > 0 ? command.arguments[0].number
                                            : static_cast<u64>(RELAY_SHUTDOWN_POWEROFF);
    const char* name = shutdown_reason_name(reason);
    if (name != nullptr) {
        interpreter.line("{}: shutting down ({})", command.text, name);
    } else {
        interpreter.line("{}: shutting down (reason {})", command.text, reason);
    }
    i64 result = interpreter.platform().shutdown(reason);
    return result >= 0 ? Outcome::stop() : Outcome::error(result);
}

// ---- Live update (docs/live-update.md) ----

Outcome run_stage(const Command& command, Interpreter& interpreter) {
    ControlPlatform& platform = interpreter.platform();
    std::string_view name = command.arguments[0].text;
    std::span<const u8> ramdisk = platform.ramdisk();
    if (ramdisk.empty()) {
        return Outcome::failed_here("this domain has no ramdisk to stage \"{}\" from", name);
    }
    auto file = cpio_find(ramdisk, name);
    if (!file.ok()) {
        return Outcome::failed_here("{}", file.error().message());
    }
    i64 result = platform.kexec_stage(file->data(), file->size());
    if (result < 0) {
        return Outcome::error(result);
    }
    return Outcome::ok("{} bytes", file->size());
}

Outcome run_unstage(const Command&, Interpreter& interpreter) {
    return Outcome::from_result(interpreter.platform().kexec_unload());
}

// Returns in the new build; the time the call took is what this vCPU saw of the update.
Outcome run_update(const Command&, Interpreter& interpreter) {
    ControlPlatform& platform = interpreter.platform();
    u64 start = platform.monotonic_microseconds();
    i64 result = platform.live_update();
    u64 took = platform.monotonic_microseconds() - start;
    if (result < 0) {
        return Outcome::error(result);
    }
    return Outcome::ok("in {} us", took);
}

// The stream as base64 lines "control: export data <76 characters>", then the result.
Outcome run_export(const Command&, Interpreter& interpreter) {
    constexpr usize kLineBytes = 57;  // 76 characters of base64
    ControlPlatform& platform = interpreter.platform();
    std::span<u8> buffer = platform.export_buffer();
    i64 size = platform.state_export(buffer.data(), buffer.size());
    if (size < 0) {
        return Outcome::error(size);
    }
    if (static_cast<u64>(size) > buffer.size()) {
        return Outcome::failed_here("the hypervisor reports {} bytes for a {}-byte buffer", size,
                                    buffer.size());
    }
    u64 checksum = 0xcbf29ce484222325ull;  // FNV-1a 64, so a test can tell a bad reassembly
    for (i64 i = 0; i < size; ++i) {
        checksum = (checksum ^ buffer[static_cast<usize>(i)]) * 0x100000001b3ull;
    }
    for (usize offset = 0; offset < static_cast<usize>(size); offset += kLineBytes) {
        usize length = min_u64(kLineBytes, static_cast<usize>(size) - offset);
        char text[base64_length(kLineBytes)];
        usize written = base64_encode(buffer.subspan(offset, length), text, sizeof(text));
        interpreter.line("export data {}", std::string_view(text, written));
    }
    return Outcome::ok("{} bytes fnv1a64={:016x}", size, checksum);
}

Outcome run_flow(const Command&, Interpreter&) {
    return Outcome::ok();  // the interpreter steers loop and end itself
}

constexpr ArgumentKind kNone = ArgumentKind::kNone;
constexpr ArgumentKind kDomid = ArgumentKind::kDomid;

const CommandSpec kCommands[] = {
    {"list", {kNone}, 0, run_list},
    {"info", {kDomid, kNone}, 1, run_info},
    {"pause", {kDomid, kNone}, 1, run_pause},
    {"unpause", {kDomid, kNone}, 1, run_unpause},
    {"destroy", {kDomid, kNone}, 1, run_destroy},
    {"wait", {kDomid, ArgumentKind::kState, ArgumentKind::kSeconds, kNone}, 2, run_wait},
    {"sleep", {ArgumentKind::kSeconds, kNone}, 1, run_sleep},
    {"version", {kNone}, 0, run_version},
    {"echo", {ArgumentKind::kText, kNone}, 0, run_echo},
    {"shutdown", {ArgumentKind::kShutdownReason, kNone}, 0, run_shutdown},
    {"stage", {ArgumentKind::kFileName, kNone}, 1, run_stage},
    {"unstage", {kNone}, 0, run_unstage},
    {"update", {kNone}, 0, run_update},
    {"export", {kNone}, 0, run_export},
    {"loop", {ArgumentKind::kCount, kNone}, 1, run_flow, Flow::kLoop},
    {"end", {kNone}, 0, run_flow, Flow::kEnd},
};

}  // namespace

std::span<const CommandSpec> command_table() {
    return kCommands;
}

const CommandSpec* find_command(std::string_view name) {
    for (const CommandSpec& spec : kCommands) {
        if (name == spec.name) {
            return &spec;
        }
    }
    return nullptr;
}

FixedString<64> command_usage(const CommandSpec& spec) {
    char buffer[65];
    FormatBuffer output(buffer, sizeof(buffer));
    format(output, "{}", spec.name);
    for (usize i = 0; i < kMaxCommandArguments && spec.arguments[i] != kNone; ++i) {
        const char* name = argument_kind_name(spec.arguments[i]);
        const char* more = spec.arguments[i] == ArgumentKind::kText ? "..." : "";
        format(output, i < spec.required ? " {}{}" : " [{}{}]", name, more);
    }
    return FixedString<64>::formatted("{}", output.view());
}

}  // namespace relay::guest::control
