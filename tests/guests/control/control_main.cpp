// control: the control domain's guest. Runs the script of its command line
// (script=..., docs/testing.md, "control") with the hypercalls of hv/abi/hypercall.h, then
// idles; a script that ends in a successful shutdown never returns.
#include "tests/guests/control/control_platform.hpp"
#include "tests/guests/control/interpreter.hpp"
#include "tests/guests/lib/console.hpp"
#include "tests/guests/lib/guest.hpp"
#include "tests/guests/lib/hypercall.hpp"
#include "tests/guests/lib/time.hpp"

namespace relay::guest {

namespace {

constexpr std::string_view kArguments[] = {"script"};

}  // namespace

const GuestProgram kGuestProgram{"control", kArguments, kArguments};

namespace control {

namespace {

// Room for the state of many domains (a stream is a few KiB per vCPU).
alignas(4096) u8 g_export_buffer[1 << 20];

class HypercallPlatform final : public ControlPlatform {
public:
    i64 version() override { return hc::version(); }
    i64 domain_list(relay_domain_entry* entries, u64 capacity) override {
        return hc::domain_list(entries, capacity);
    }
    i64 domain_info(u64 domid, relay_domain_info* info) override {
        return hc::domain_info(domid, info);
    }
    i64 domain_pause(u64 domid) override { return hc::domain_pause(domid); }
    i64 domain_unpause(u64 domid) override { return hc::domain_unpause(domid); }
    i64 domain_destroy(u64 domid) override { return hc::domain_destroy(domid); }
    i64 shutdown(u64 reason) override {
        console_flush();
        return hc::shutdown(reason);
    }
    i64 kexec_stage(const void* image, u64 size) override { return hc::kexec_stage(image, size); }
    i64 kexec_unload() override { return hc::kexec_unload(); }
    i64 live_update() override {
        console_flush();  // what is printed before the update is printed by this build
        return hc::live_update();
    }
    i64 state_export(void* buffer, u64 capacity) override {
        return hc::state_export(buffer, capacity);
    }
    std::span<const u8> ramdisk() override {
        for (const relay_start_module& module : start_info().modules()) {
            if (module.kind == RELAY_MODULE_RAMDISK) {
                return {reinterpret_cast<const u8*>(static_cast<uptr>(module.guest_phys)),
                        static_cast<usize>(module.size)};
            }
        }
        return {};
    }
    std::span<u8> export_buffer() override { return g_export_buffer; }
    void sleep_microseconds(u64 microseconds) override { guest::sleep_microseconds(microseconds); }
    u64 monotonic_microseconds() override { return guest::monotonic_microseconds(); }
    void write_line(std::string_view line) override {
        console_write(line);
        console_write("\n");
    }
};

HypercallPlatform g_platform;
Workspace g_workspace;

}  // namespace

}  // namespace control

void guest_main(const StartInfo& info) {
    using namespace control;
    if ((info.permissions() & RELAY_PERMISSION_CONTROL) == 0) {
        log_line(
            "warning: this domain lacks PERMISSION_CONTROL; privileged commands will "
            "fail with EPERM");
    }
    const CommandLine::Argument* script = command_line().find("script");
    if (script == nullptr) {
        log_line("no script (give script=COMMAND;COMMAND... on the command line); idling");
        idle_forever();
    }
    Interpreter interpreter(g_platform, g_workspace);
    interpreter.run(script->value);
    idle_forever();
}

}  // namespace relay::guest
