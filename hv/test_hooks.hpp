// Test-only actions, enabled from the command line (docs/boot.md, "Command line"), that
// let the test suite prove its checks fail when they should.
#pragma once

#include "lib/types.hpp"

namespace relay {

// Arms the corruption of `domid`'s RAM `delay_microseconds` from now (test_corrupt=).
void test_hooks_arm_corruption(u16 domid, u64 delay_microseconds);

// Called on the boot CPU's scheduler tick.
void test_hooks_tick();

}  // namespace relay
