// The dma guest's counters and its heartbeat lines (docs/testing.md, "dma"). Shared: the
// exact text is tested on the host, and tests/guests/guest_output.py parses it.
//
//   heartbeat <n> ok transfers=<T> bytes=<B> errors=<E> paused_in_flight=<P>
//       longest_pause_ms=<L> device=<bb:dd.f>
//   heartbeat <n> CORRUPT at 0x<a> expected 0x<x> found 0x<y> bad_words=<W> in=<place>
//       transfer=<t> source=0x<s> destination=0x<d> transfers=<T> bytes=<B> errors=<E>
//       paused_in_flight=<P> longest_pause_ms=<L> device=<bb:dd.f>
//   heartbeat <n> TIMEOUT in=<step> transfer=<t> waited_ms=<ms> command=0x<c> source=0x<s>
//       destination=0x<d> transfers=<T> bytes=<B> errors=<E> paused_in_flight=<P>
//       longest_pause_ms=<L> device=<bb:dd.f>
//
// (one line each). A heartbeat reports the first failed transfer since the previous one;
// the counters count since the start and never go back. `paused_in_flight` counts the
// transfers during one of whose DMAs the guest was off its CPU for kPauseMicroseconds or
// more (a live update's blackout; docs/testing.md), `longest_pause_ms` is the longest such
// time. Also the outside test's lines:
//
//   outside transfer <to|from> 0x<a> issued (<C> bytes <from|into> the device buffer; RAM
//       ends at 0x<r>)
//   outside transfer <to|from> 0x<a> completed after <ms> ms
//   outside transfer <to|from> 0x<a> TIMEOUT after <ms> ms (command 0x<c>)
//   outside transfer <to|from> 0x<a> not started: the device is still busy after <ms> ms
//       (command 0x<c>)
//   outside read: device buffer <what it holds> (see outside_buffer_line)
#pragma once

#include <string_view>

#include "lib/format.hpp"
#include "lib/types.hpp"
#include "tests/guests/dma/exerciser.hpp"

namespace relay::guest::dma {

inline constexpr usize kHeartbeatCapacity = 400;
using ProgressLine = FixedString<kHeartbeatCapacity>;

// Off the CPU this long while a DMA ran is a pause: three of Relay's 10 ms slices, above
// what sharing a CPU with two other vCPUs costs, below any live update's blackout.
inline constexpr u64 kPauseMicroseconds = 30'000;

class DmaProgress {
public:
    // Counts a finished round trip: every one is a transfer, a failed one an error, a
    // good one adds its kTransferBytes to the bytes.
    void record(const TransferResult& result);

    // The next heartbeat line, without the "dma: " in front.
    ProgressLine heartbeat(std::string_view device);

    u64 transfers() const { return transfers_; }
    u64 bytes() const { return bytes_; }
    u64 errors() const { return errors_; }
    u64 heartbeats() const { return heartbeats_; }
    u64 paused_in_flight() const { return paused_in_flight_; }

private:
    u64 paused_in_flight_ = 0;
    u64 longest_pause_microseconds_ = 0;
    u64 transfers_ = 0;
    u64 bytes_ = 0;
    u64 errors_ = 0;
    u64 heartbeats_ = 0;
    bool failure_pending_ = false;
    TransferResult first_failure_;
};

// The outside test's lines, without the "dma: " in front. `direction` is the DMA's:
// kFromDevice writes to the outside address ("to"), kToDevice reads it ("from").
ProgressLine outside_issued_line(DmaDirection direction, u64 address, u64 memory_size);
ProgressLine outside_step_line(DmaDirection direction, u64 address, const DmaStep& step);
// "outside read: device buffer unchanged (511 words)", "... all zero (511 words)", "... all
// ones (511 words)", "... changed: <W> of 511 words, first at offset 0x<o>: 0x<found> (was
// 0x<before>)", "... not checked: ...", and, when both DMAs went through,
// "outside read: UNEXPECTED: device buffer holds the data written to 0x<a>: the DMAs reached
// memory outside the domain".
ProgressLine outside_buffer_line(u64 address, const BufferCheck& check);

}  // namespace relay::guest::dma
