// Where a live update puts things (docs/live-update.md, "Handover region"), and the
// command line of the stream module that carries what the next build needs before it can
// read the stream. Pure logic: unit-tested on the host.
//
// The handover region has two halves. A running image lives in one of them (or, after
// the first boot, wherever the boot loader put it); the target is staged at the base of
// the other. Each half ends in a tail that nothing but the handover uses:
//
//   half base: target image (text .. .bss) | early workspace | ... | info | purgatory page
//                                                                    <----- kTailSize ----->
#pragma once

#include <string_view>

#include "lib/address.hpp"
#include "lib/result.hpp"
#include "migration_stream/stream_header.hpp"

namespace relay::liveupdate {

inline constexpr u64 kTailSize = 64 * KiB;      // multiboot2 information + purgatory page
inline constexpr u64 kWorkspaceSize = 2 * MiB;  // the target's allocations before it has verified
inline constexpr u64 kInfoSize = kTailSize - kPageSize4K;

class HandoverLayout {
public:
    // `image` is where the running build lies.
    HandoverLayout(HostPhysRange region, HostPhysRange image);

    HostPhysRange region() const { return region_; }
    u64 half_size() const { return region_.size() / 2; }
    HostPhysRange half(int index) const;
    // The half holding the running image, or -1 when it lies outside the region.
    int own_half() const { return own_half_; }
    // Where the next build is staged.
    int target_half() const { return own_half_ == 0 ? 1 : 0; }

    HostPhysAddr purgatory_page(int half) const;
    // The multiboot2 information for the next build (first half of the info area), and
    // the information purgatory uses instead when the staged image fails its checksum:
    // the producer's own, to resume from the same stream (second half).
    HostPhysRange info_area(int half) const;
    HostPhysRange fallback_info_area(int half) const;
    // Bytes of a half an image (through its .bss) may occupy, leaving the workspace and
    // the tail.
    u64 image_capacity() const { return half_size() - kWorkspaceSize - kTailSize; }
    // The workspace of `half` for an image of `image_size` bytes at its base.
    HostPhysRange workspace(int half, u64 image_size) const;

private:
    HostPhysRange region_;
    int own_half_;
};

// A local APIC timer of 1 MHz to 10 GHz.
inline constexpr u64 kMinApicTicksPerMs = 1'000;
inline constexpr u64 kMaxApicTicksPerMs = 10'000'000;

// The stream module's command line (docs/live-update.md, "Stream module"):
//   relay.stream kind=live-update quiesce_tsc=0x.. paused_tsc=0x.. serialized_tsc=0x..
//                handover_tsc=0x.. apic_ticks_per_ms=0x.. initiator=D.V
//                previous=0xBASE,0xENTRY_OFFSET,0xSIZE [reason=TEXT]
// TEXT is percent-encoded (space, '%' and control bytes as %XX). Keys this build does not
// know are ignored, so a newer producer may add some.
struct StreamModuleLine {
    stream::StreamKind kind = stream::StreamKind::kLiveUpdate;
    // The producer's timeline, in its TSC (the TSC runs on across the handover).
    u64 quiesce_tsc = 0;     // the quiesce began
    u64 paused_tsc = 0;      // the last vCPU was paused (blackout start)
    u64 serialized_tsc = 0;  // the stream was written
    u64 handover_tsc = 0;    // the producer jumped
    // Local APIC timer ticks per millisecond (same machine: the next build need not
    // calibrate again); 0 if unknown. Only kMinApicTicksPerMs..kMaxApicTicksPerMs is
    // written (anything else is left out, and the target calibrates) or accepted.
    u32 apic_ticks_per_ms = 0;
    u16 initiator_domid = 0;
    u32 initiator_vcpu = 0;
    bool has_initiator = false;
    HostPhysAddr previous_base;  // the producer's image, for a rollback
    u64 previous_entry_offset = 0;
    u64 previous_size = 0;
    char reason[200] = {};  // why a restore stream came back (rollback)
};

inline constexpr std::string_view kStreamModuleTag = "relay.stream";

// True when `command_line` names a stream module; fills `out` (missing fields keep their
// defaults; malformed ones are an error naming them).
Result<bool> parse_stream_module_line(std::string_view command_line, StreamModuleLine* out);
// Holds any line format_stream_module_line() writes: the fixed fields take under 250
// characters, the reason at most 3 per byte (percent-encoded).
inline constexpr usize kStreamModuleLineCapacity = 1024;
static_assert(250 + 8 + 3 * sizeof(StreamModuleLine::reason) < kStreamModuleLineCapacity);
// Writes the line (NUL-terminated) and returns its length. With less than
// kStreamModuleLineCapacity the reason may be cut short, never inside an escape.
usize format_stream_module_line(const StreamModuleLine& line, char* buffer, usize capacity);

}  // namespace relay::liveupdate
