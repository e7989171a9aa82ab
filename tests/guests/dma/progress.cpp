#include "tests/guests/dma/progress.hpp"

namespace relay::guest::dma {

void DmaProgress::record(const TransferResult& result) {
    ++transfers_;
    if (result.longest_gap_microseconds >= kPauseMicroseconds) {
        ++paused_in_flight_;
        if (result.longest_gap_microseconds > longest_pause_microseconds_) {
            longest_pause_microseconds_ = result.longest_gap_microseconds;
        }
    }
    if (result.status == TransferStatus::kOk) {
        bytes_ += kTransferBytes;
        return;
    }
    ++errors_;
    if (!failure_pending_) {
        failure_pending_ = true;
        first_failure_ = result;
    }
}

ProgressLine DmaProgress::heartbeat(std::string_view device) {
    u64 count = ++heartbeats_;
    using Line = ProgressLine;
    if (!failure_pending_) {
        return Line::formatted(
            "heartbeat {} ok transfers={} bytes={} errors={} paused_in_flight={} "
            "longest_pause_ms={} device={}",
            count, transfers_, bytes_, errors_, paused_in_flight_,
            longest_pause_microseconds_ / 1000, device);
    }
    failure_pending_ = false;
    const TransferResult& failure = first_failure_;
    if (failure.status == TransferStatus::kCorrupt) {
        return Line::formatted(
            "heartbeat {} CORRUPT at {:#x} expected {:#018x} found {:#018x} bad_words={} in={} "
            "transfer={} source={:#x} destination={:#x} transfers={} bytes={} errors={} "
            "paused_in_flight={} longest_pause_ms={} device={}",
            count, failure.address, failure.expected, failure.found, failure.bad_words,
            corrupt_place_name(failure.place), failure.number, failure.source, failure.destination,
            transfers_, bytes_, errors_, paused_in_flight_, longest_pause_microseconds_ / 1000,
            device);
    }
    return Line::formatted(
        "heartbeat {} TIMEOUT in={} transfer={} waited_ms={} command={:#x} source={:#x} "
        "destination={:#x} transfers={} bytes={} errors={} paused_in_flight={} "
        "longest_pause_ms={} device={}",
        count, timeout_step_name(failure.step), failure.number, failure.waited_microseconds / 1000,
        failure.command, failure.source, failure.destination, transfers_, bytes_, errors_,
        paused_in_flight_, longest_pause_microseconds_ / 1000, device);
}

namespace {

// The outside address's side of a DMA: buffer -> RAM writes "to" it, RAM -> buffer reads
// "from" it.
const char* outside_preposition(DmaDirection direction) {
    return direction == DmaDirection::kFromDevice ? "to" : "from";
}

}  // namespace

ProgressLine outside_issued_line(DmaDirection direction, u64 address, u64 memory_size) {
    return ProgressLine::formatted(
        "outside transfer {} {:#x} issued ({} bytes {} the device buffer; RAM ends at {:#x})",
        outside_preposition(direction), address, kTransferBytes,
        direction == DmaDirection::kFromDevice ? "from" : "into", memory_size);
}

ProgressLine outside_step_line(DmaDirection direction, u64 address, const DmaStep& step) {
    const char* preposition = outside_preposition(direction);
    u64 milliseconds = step.wait.waited_microseconds / 1000;
    if (!step.started) {
        return ProgressLine::formatted(
            "outside transfer {} {:#x} not started: the device is still busy after {} ms "
            "(command {:#x})",
            preposition, address, milliseconds, step.wait.command);
    }
    if (!step.wait.idle) {
        return ProgressLine::formatted(
            "outside transfer {} {:#x} TIMEOUT after {} ms (command {:#x})", preposition, address,
            milliseconds, step.wait.command);
    }
    return ProgressLine::formatted("outside transfer {} {:#x} completed after {} ms", preposition,
                                   address, milliseconds);
}

ProgressLine outside_buffer_line(u64 address, const BufferCheck& check) {
    if (!check.step.done()) {
        return ProgressLine::formatted(
            "outside read: device buffer not checked: copying it to RAM {} after {} ms "
            "(command {:#x})",
            check.step.started ? "timed out" : "could not start, the device is busy",
            check.step.wait.waited_microseconds / 1000, check.step.wait.command);
    }
    switch (check.contents) {
        case BufferContents::kUnchanged:
            return ProgressLine::formatted("outside read: device buffer unchanged ({} words)",
                                           check.words);
        case BufferContents::kZero:
            return ProgressLine::formatted("outside read: device buffer all zero ({} words)",
                                           check.words);
        case BufferContents::kOnes:
            return ProgressLine::formatted("outside read: device buffer all ones ({} words)",
                                           check.words);
        case BufferContents::kOutsideData:
            return ProgressLine::formatted(
                "outside read: UNEXPECTED: device buffer holds the data written to {:#x}: the "
                "DMAs reached memory outside the domain",
                address);
        case BufferContents::kOther:
            break;
    }
    return ProgressLine::formatted(
        "outside read: device buffer changed: {} of {} words, first at offset {:#x}: {:#018x} "
        "(was {:#018x})",
        check.changed_words, check.words, check.first_changed_offset, check.found, check.before);
}

}  // namespace relay::guest::dma
