// The DMA round trip the dma guest repeats for ever, and its one-off transfers outside RAM,
// on top of the edu protocol (edu.hpp). Transfer n (from 1):
//   1. waits until the device is idle (a transfer that timed out earlier may still run,
//      would ignore new registers, and could land late in a page this one uses);
//   2. fills its source page with transfer n's data (pattern.hpp) and poisons its
//      destination page with the complement;
//   3. DMAs kTransferBytes from the source into the device buffer, waits;
//   4. DMAs them from the device buffer into the destination, waits;
//   5. checks the destination word by word (the data, and that the words past the count
//      still hold the poison) and that the source is unchanged.
// Each wait is bounded: a DMA that does not finish in time is a timeout, reported, and the
// next transfer starts by waiting for the device again. Pages come from a PageWalk. Shared:
// tested on the host against a model of edu that does DMA into fake RAM.
#pragma once

#include "lib/types.hpp"
#include "tests/guests/dma/edu.hpp"
#include "tests/guests/dma/page_walk.hpp"

namespace relay::guest::dma {

// Bytes per DMA: the longest whole-word transfer QEMU 7.2's edu accepts (edu.hpp), so the
// last word of each destination page is never written and proves that the device wrote
// no more than it was asked to.
inline constexpr u64 kTransferBytes = align_down(kEduMaxTransfer, 8);  // 4088
inline constexpr u64 kTransferWords = kTransferBytes / 8;
inline constexpr u64 kPageWords = kPageSize4K / 8;

// The CPU's view of guest RAM. In a guest, RAM is identity-mapped: the address itself.
class DmaMemory {
public:
    // Guest-physical [address, address + bytes) as words.
    virtual volatile u64* words(u64 address, u64 bytes) = 0;

protected:
    ~DmaMemory() = default;
};

struct TransferSettings {
    u16 domid = 0;
    u64 seed = 1;
    u64 timeout_microseconds = 1'000'000;
};

enum class TransferStatus : u8 { kOk, kCorrupt, kTimeout };

// Where a corrupt transfer's first bad word is: among the destination's kTransferWords,
// past them (the device wrote more than asked), or in the source (the DMA wrote there).
enum class CorruptPlace : u8 { kDestination, kPastCount, kSource };
const char* corrupt_place_name(CorruptPlace place);  // "destination", "past-count", "source"

// Which wait ran out: before starting (the device was still busy), or one of the DMAs.
enum class TimeoutStep : u8 { kBusy, kToDevice, kFromDevice };
const char* timeout_step_name(TimeoutStep step);  // "busy", "to-device", "from-device"

struct TransferResult {
    u64 number = 0;
    u64 source = 0;
    u64 destination = 0;
    TransferStatus status = TransferStatus::kOk;
    // kCorrupt: the first bad word in the order destination, past the count, source, and
    // how many words were bad in all.
    CorruptPlace place = CorruptPlace::kDestination;
    u64 address = 0;
    u64 expected = 0;
    u64 found = 0;
    u64 bad_words = 0;
    // kTimeout.
    TimeoutStep step = TimeoutStep::kBusy;
    u64 waited_microseconds = 0;
    u64 command = 0;
    // The longest the guest was off its CPU while one of the transfer's two DMAs ran
    // (WaitResult::longest_gap_microseconds).
    u64 longest_gap_microseconds = 0;
};

// One DMA: wait until idle, start, wait until done.
struct DmaStep {
    bool started = false;  // false: the device was still busy; `wait` is that wait
    WaitResult wait;
    bool done() const { return started && wait.idle; }
};

// What the device buffer holds after the outside read (see DmaExerciser::outside).
enum class BufferContents : u8 {
    kUnchanged,    // the "before" marker: the read brought nothing in
    kOutsideData,  // what was written outside: both DMAs reached memory outside the domain
    kZero,         // all zero (what QEMU returns for a DMA read its IOMMU refused)
    kOnes,         // all ones (a master abort on real hardware)
    kOther,        // anything else
};

struct BufferCheck {
    DmaStep step;  // the DMA of the buffer into RAM; nothing was compared unless done()
    BufferContents contents = BufferContents::kOther;
    u64 words = kTransferWords;
    u64 changed_words = 0;  // words that differ from the "before" marker
    u64 first_changed_offset = 0;
    u64 before = 0;  // the first changed word's "before" marker value
    u64 found = 0;   // and what it holds now
};

// The two markers of the outside test: the data written outside, and what the buffer holds
// before the outside read. Both are derived from "transfer 0" (transfers count from 1), so
// they never equal a transfer's data, and they differ from each other in every bit.
enum class BufferMarker : u8 { kWrittenOutside, kBeforeRead };

class DmaExerciser {
public:
    DmaExerciser(Edu& edu, DmaClock& clock, DmaMemory& memory, const PageWalk& walk,
                 const TransferSettings& settings)
        : edu_(edu), clock_(clock), memory_(memory), walk_(walk), settings_(settings) {}

    // Transfer `number` (from 1). The walk must have at least two pages below the DMA
    // limit edu was constructed with.
    TransferResult run(u64 number);

    // The outside test (docs/testing.md, "dma"), one step at a time so that the guest can
    // say what it is about to do before each DMA:
    //   1. fill_buffer(kWrittenOutside): the device buffer gets marker A, through the walk's
    //      first page;
    //   2. outside(kFromDevice, address): A is written to `address`, outside RAM;
    //   3. fill_buffer(kBeforeRead): the buffer gets marker B = ~A;
    //   4. outside(kToDevice, address): the buffer is read from `address`;
    //   5. check_buffer(): the buffer is copied into the walk's second page and classified:
    //      B (nothing came in), A (both DMAs went through: memory outside the domain was
    //      written and read back), all zero, all ones, or other.
    // `address` must lie outside RAM and below the DMA limit (parse_settings checks).
    DmaStep fill_buffer(BufferMarker marker);
    DmaStep outside(DmaDirection direction, u64 address);
    BufferCheck check_buffer();

    // The msi test (docs/testing.md, "dma"): the buffer's first 4 bytes get `value`,
    // through the walk's first page; then write_word(address) DMAs just those 4 bytes to
    // `address`: a message-signalled interrupt, when `address` is the interrupt range.
    DmaStep fill_buffer_word(u32 value);
    DmaStep write_word(u64 address);

    // One DMA of `bytes` between RAM at `ram_address` and the start of the buffer.
    DmaStep dma(DmaDirection direction, u64 ram_address, u64 bytes = kTransferBytes);

private:
    u64 key(u64 transfer) const;
    u64 marker_word(BufferMarker marker, u64 offset) const;

    Edu& edu_;
    DmaClock& clock_;
    DmaMemory& memory_;
    const PageWalk& walk_;
    TransferSettings settings_;
};

}  // namespace relay::guest::dma
