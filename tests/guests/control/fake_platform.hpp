// A fake hypervisor for the control interpreter's host tests: a handful of domains in a
// map, a clock that only sleeps move, and every output line kept.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hv/abi/hypercall.h"
#include "tests/guests/control/control_platform.hpp"

namespace relay::guest::control::testing {

class FakePlatform final : public ControlPlatform {
public:
    FakePlatform() {
        add_domain(1, "control", RELAY_PERMISSION_CONTROL, 1, 1, 16384);
        add_domain(2, "memtest1", 0, 0, 1, 32768);
        add_domain(3, "memtest2", 0, 0, 2, 32768);
    }

    void add_domain(u16 domid, const char* name, u32 permissions, u32 functions, u16 vcpus,
                    u64 memory_kib) {
        relay_domain_info info{};
        info.entry.domid = domid;
        info.entry.lifecycle = RELAY_DOMAIN_RUNNING;
        info.entry.permissions = permissions;
        info.entry.functions = functions;
        info.entry.vcpus = vcpus;
        info.entry.memory_kib = memory_kib;
        std::strncpy(info.entry.name, name, sizeof(info.entry.name));
        info.uuid[0] = 0x52;
        info.uuid[15] = static_cast<u8>(domid);
        info.exits = 1000 * domid;
        info.run_time_ns = 1'500'000'000ull * domid;
        domains[domid] = info;
    }

    i64 version() override {
        calls.push_back("version");
        return version_result;
    }
    i64 domain_list(relay_domain_entry* entries, u64 capacity) override {
        calls.push_back("domain_list");
        if (!privileged) {
            return RELAY_EPERM;
        }
        u64 index = 0;
        for (const auto& [domid, info] : domains) {
            if (index < capacity) {
                entries[index] = info.entry;
            }
            ++index;
        }
        return static_cast<i64>(domains.size());
    }
    i64 domain_info(u64 domid, relay_domain_info* info) override {
        calls.push_back("domain_info " + std::to_string(domid));
        if (on_domain_info) {
            on_domain_info(domid);
        }
        if (!privileged && domid != 1) {
            return RELAY_EPERM;
        }
        auto found = domains.find(domid);
        if (found == domains.end()) {
            return RELAY_ENOENT;
        }
        *info = found->second;
        return 0;
    }
    i64 domain_pause(u64 domid) override {
        return change(domid, "domain_pause", RELAY_DOMAIN_RUNNING, RELAY_DOMAIN_PAUSED);
    }
    i64 domain_unpause(u64 domid) override {
        return change(domid, "domain_unpause", RELAY_DOMAIN_PAUSED, RELAY_DOMAIN_RUNNING);
    }
    i64 domain_destroy(u64 domid) override {
        calls.push_back("domain_destroy " + std::to_string(domid));
        if (!privileged) {
            return RELAY_EPERM;
        }
        return domains.erase(domid) == 1 ? 0 : RELAY_ENOENT;
    }
    i64 shutdown(u64 reason) override {
        calls.push_back("shutdown " + std::to_string(reason));
        return reason == RELAY_SHUTDOWN_POWEROFF || reason == RELAY_SHUTDOWN_REBOOT ||
                       reason == RELAY_SHUTDOWN_CRASH
                   ? 0
                   : RELAY_EINVAL;
    }
    i64 kexec_stage(const void* image, u64 size) override {
        calls.push_back("kexec_stage " + std::to_string(size));
        if (!privileged) {
            return RELAY_EPERM;
        }
        staged.assign(static_cast<const char*>(image), size);
        return stage_result;
    }
    i64 kexec_unload() override {
        calls.push_back("kexec_unload");
        if (staged.empty()) {
            return RELAY_ESTATE;
        }
        staged.clear();
        return 0;
    }
    i64 live_update() override {
        calls.push_back("live_update");
        if (!privileged) {
            return RELAY_EPERM;
        }
        if (staged.empty()) {
            return RELAY_ESTATE;
        }
        now += update_blackout_us;
        if (update_result == 0) {
            ++updates;
            staged.clear();  // the new build starts with nothing staged
        }
        return update_result;
    }
    i64 state_export(void* buffer, u64 capacity) override {
        calls.push_back("state_export " + std::to_string(capacity));
        if (!privileged) {
            return RELAY_EPERM;
        }
        if (exported.size() > capacity) {
            return RELAY_ERANGE;
        }
        std::memcpy(buffer, exported.data(), exported.size());
        return static_cast<i64>(exported.size());
    }
    std::span<const u8> ramdisk() override {
        return {reinterpret_cast<const u8*>(ramdisk_bytes.data()), ramdisk_bytes.size()};
    }
    std::span<u8> export_buffer() override { return export_memory; }
    void sleep_microseconds(u64 microseconds) override {
        calls.push_back("sleep " + std::to_string(microseconds));
        now += microseconds;
    }
    u64 monotonic_microseconds() override { return now; }
    void write_line(std::string_view line) override { lines.emplace_back(line); }

    std::map<u64, relay_domain_info> domains;
    bool privileged = true;
    i64 version_result = (RELAY_ABI_VERSION_MAJOR << 16) | RELAY_ABI_VERSION_MINOR;
    u64 now = 1'000'000;
    std::function<void(u64)> on_domain_info;
    std::vector<std::string> calls;
    std::vector<std::string> lines;
    // Live update.
    std::string ramdisk_bytes;  // a cpio archive
    std::string staged;
    i64 stage_result = 0;
    i64 update_result = 0;
    u64 update_blackout_us = 1234;
    int updates = 0;
    std::string exported;
    std::vector<u8> export_memory = std::vector<u8>(4096);

private:
    i64 change(u64 domid, const char* call, u8 from, u8 to) {
        calls.push_back(std::string(call) + " " + std::to_string(domid));
        if (!privileged) {
            return RELAY_EPERM;
        }
        auto found = domains.find(domid);
        if (found == domains.end()) {
            return RELAY_ENOENT;
        }
        if (found->second.entry.lifecycle != from) {
            return RELAY_ESTATE;
        }
        found->second.entry.lifecycle = to;
        if (to == RELAY_DOMAIN_PAUSED) {
            ++found->second.pause_count;
        }
        return 0;
    }
};

}  // namespace relay::guest::control::testing
