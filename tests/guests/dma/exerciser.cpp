#include "tests/guests/dma/exerciser.hpp"

#include "lib/assert.hpp"
#include "tests/guests/dma/pattern.hpp"

namespace relay::guest::dma {

namespace {

// Records a bad word; the first one is the one reported.
void note_bad_word(TransferResult& result, CorruptPlace place, u64 address, u64 expected,
                   u64 found) {
    if (result.bad_words++ == 0) {
        result.status = TransferStatus::kCorrupt;
        result.place = place;
        result.address = address;
        result.expected = expected;
        result.found = found;
    }
}

TransferResult timed_out(TransferResult result, TimeoutStep step, const WaitResult& wait) {
    result.status = TransferStatus::kTimeout;
    result.step = step;
    result.waited_microseconds = wait.waited_microseconds;
    result.command = wait.command;
    return result;
}

}  // namespace

const char* corrupt_place_name(CorruptPlace place) {
    switch (place) {
        case CorruptPlace::kDestination:
            return "destination";
        case CorruptPlace::kPastCount:
            return "past-count";
        case CorruptPlace::kSource:
            return "source";
    }
    return "?";
}

const char* timeout_step_name(TimeoutStep step) {
    switch (step) {
        case TimeoutStep::kBusy:
            return "busy";
        case TimeoutStep::kToDevice:
            return "to-device";
        case TimeoutStep::kFromDevice:
            return "from-device";
    }
    return "?";
}

u64 DmaExerciser::key(u64 transfer) const {
    return transfer_key(settings_.domid, settings_.seed, transfer);
}

DmaStep DmaExerciser::dma(DmaDirection direction, u64 ram_address, u64 bytes) {
    DmaStep step;
    step.wait = edu_.wait_idle(clock_, settings_.timeout_microseconds);
    if (!step.wait.idle) {
        return step;
    }
    Status started = edu_.start(direction, ram_address, 0, bytes);
    // The pages and outside addresses were checked against the DMA limit beforehand.
    RELAY_ASSERT(started.ok());
    step.started = true;
    step.wait = edu_.wait_idle(clock_, settings_.timeout_microseconds);
    return step;
}

TransferResult DmaExerciser::run(u64 number) {
    RELAY_ASSERT(walk_.page_count() >= 2);
    TransferResult result;
    result.number = number;
    result.source = walk_.source(number);
    result.destination = walk_.destination(number);

    WaitResult idle = edu_.wait_idle(clock_, settings_.timeout_microseconds);
    if (!idle.idle) {
        return timed_out(result, TimeoutStep::kBusy, idle);
    }

    u64 transfer_key = key(number);
    volatile u64* source = memory_.words(result.source, kPageSize4K);
    volatile u64* destination = memory_.words(result.destination, kPageSize4K);
    for (u64 i = 0; i < kPageWords; ++i) {
        source[i] = transfer_word(transfer_key, i * 8);
        destination[i] = poison_word(transfer_key, i * 8);
    }

    DmaStep in = dma(DmaDirection::kToDevice, result.source);
    if (in.started) {
        result.longest_gap_microseconds = in.wait.longest_gap_microseconds;
    }
    if (!in.done()) {
        return timed_out(result, in.started ? TimeoutStep::kToDevice : TimeoutStep::kBusy, in.wait);
    }
    DmaStep out = dma(DmaDirection::kFromDevice, result.destination);
    if (out.started && out.wait.longest_gap_microseconds > result.longest_gap_microseconds) {
        result.longest_gap_microseconds = out.wait.longest_gap_microseconds;
    }
    if (!out.done()) {
        return timed_out(result, out.started ? TimeoutStep::kFromDevice : TimeoutStep::kBusy,
                         out.wait);
    }

    for (u64 i = 0; i < kPageWords; ++i) {
        bool copied = i < kTransferWords;
        u64 expected =
            copied ? transfer_word(transfer_key, i * 8) : poison_word(transfer_key, i * 8);
        u64 found = destination[i];
        if (found != expected) [[unlikely]] {
            note_bad_word(result, copied ? CorruptPlace::kDestination : CorruptPlace::kPastCount,
                          result.destination + i * 8, expected, found);
        }
    }
    for (u64 i = 0; i < kPageWords; ++i) {
        u64 expected = transfer_word(transfer_key, i * 8);
        u64 found = source[i];
        if (found != expected) [[unlikely]] {
            note_bad_word(result, CorruptPlace::kSource, result.source + i * 8, expected, found);
        }
    }
    return result;
}

u64 DmaExerciser::marker_word(BufferMarker marker, u64 offset) const {
    u64 marker_key = key(0);
    return marker == BufferMarker::kWrittenOutside ? transfer_word(marker_key, offset)
                                                   : poison_word(marker_key, offset);
}

DmaStep DmaExerciser::fill_buffer(BufferMarker marker) {
    RELAY_ASSERT(walk_.page_count() >= 2);
    volatile u64* page = memory_.words(walk_.page(0), kPageSize4K);
    for (u64 i = 0; i < kPageWords; ++i) {
        page[i] = marker_word(marker, i * 8);
    }
    return dma(DmaDirection::kToDevice, walk_.page(0));
}

DmaStep DmaExerciser::fill_buffer_word(u32 value) {
    RELAY_ASSERT(walk_.page_count() >= 2);
    volatile u64* page = memory_.words(walk_.page(0), 8);
    page[0] = value;  // little-endian: the 4 bytes of `value` first
    return dma(DmaDirection::kToDevice, walk_.page(0), 4);
}

DmaStep DmaExerciser::write_word(u64 address) {
    return dma(DmaDirection::kFromDevice, address, 4);
}

DmaStep DmaExerciser::outside(DmaDirection direction, u64 address) {
    return dma(direction, address);
}

BufferCheck DmaExerciser::check_buffer() {
    RELAY_ASSERT(walk_.page_count() >= 2);
    BufferCheck check;
    volatile u64* page = memory_.words(walk_.page(1), kPageSize4K);
    // Neither marker, nor zero, nor ones: a copy that did not happen shows as kOther.
    u64 poison_key = key(~0ull);
    for (u64 i = 0; i < kPageWords; ++i) {
        page[i] = transfer_word(poison_key, i * 8);
    }
    check.step = dma(DmaDirection::kFromDevice, walk_.page(1));
    if (!check.step.done()) {
        return check;
    }
    u64 outside_data = 0;
    u64 zero = 0;
    u64 ones = 0;
    for (u64 i = 0; i < kTransferWords; ++i) {
        u64 before = marker_word(BufferMarker::kBeforeRead, i * 8);
        u64 found = page[i];
        outside_data += found == marker_word(BufferMarker::kWrittenOutside, i * 8) ? 1 : 0;
        zero += found == 0 ? 1 : 0;
        ones += found == ~0ull ? 1 : 0;
        if (found != before && check.changed_words++ == 0) {
            check.first_changed_offset = i * 8;
            check.before = before;
            check.found = found;
        }
    }
    if (check.changed_words == 0) {
        check.contents = BufferContents::kUnchanged;
    } else if (outside_data == kTransferWords) {
        check.contents = BufferContents::kOutsideData;
    } else if (zero == kTransferWords) {
        check.contents = BufferContents::kZero;
    } else if (ones == kTransferWords) {
        check.contents = BufferContents::kOnes;
    }
    return check;
}

}  // namespace relay::guest::dma
