// The domain builder: turns the domains of a verified HostState into domains that run
// (DESIGN.md, "The one path"). A Configured domain (from the Hyperlaunch boot stream)
// gets RAM, nested page tables, its kernel and ramdisk, the start-info block, identity
// page tables and a boot vCPU in 64-bit mode; a domain that ran before (a live-update
// stream) is restored from its recorded state (docs/live-update.md).
#pragma once

#include "hv/boot/boot_info.hpp"
#include "hv/domain.hpp"
#include "lib/result.hpp"
#include "migration_stream/stream_reader.hpp"

namespace relay {

struct BuildReport {
    u32 built = 0;
    u32 failed = 0;
};

// Builds every domain in the stream; a domain that cannot be built is reported (naming
// it and why) and skipped, the others are built. Domains are left Configured; start them
// with domain_start().
BuildReport build_domains(const stream::StreamReader& reader);

// Builds one domain (exposed for tests and restore).
Result<Domain*> build_domain(const stream::StreamReader& reader, const schema::Domain& state);

}  // namespace relay
