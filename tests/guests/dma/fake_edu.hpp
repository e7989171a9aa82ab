// A model of QEMU 7.2's edu (hw/misc/edu.c) doing DMA into fake guest RAM through a fake
// IOMMU, for host tests of the dma guest's protocol and round trip. It behaves as the
// device does where the guest can tell (edu.hpp): a DMA runs kEduDmaMicroseconds after its
// start, clears the start bit when done, ignores register writes while busy, masks RAM
// addresses with dma_mask, ignores DMA errors. Where QEMU would stop (a buffer range its
// check refuses) or an access has the wrong size, the model counts a protocol violation
// instead, and the tests demand none. Knobs make it misbehave: corrupt a byte of its
// buffer, never finish, finish only some DMAs, write past the count, drop reads.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/guests/dma/edu.hpp"
#include "tests/guests/dma/exerciser.hpp"

namespace relay::guest::dma {

// Guest RAM in windows of host memory. The CPU sees every window (words()); the device
// sees them through an "IOMMU" that blocks anything outside a window (a blocked read
// yields zeros, as in QEMU) and can be told to map a page to the wrong place.
class FakeRam final : public DmaMemory {
public:
    struct Fault {
        u64 address;
        bool write;
    };

    void add_window(u64 base, u64 size) { windows_.push_back({base, std::vector<u8>(size)}); }

    volatile u64* words(u64 address, u64 bytes) override {
        u8* bytes_there = find(address, bytes);
        if (bytes_there == nullptr) {
            ADD_FAILURE() << "the CPU touched " << std::hex << address << " outside fake RAM";
            scratch_.assign(bytes, 0);
            return reinterpret_cast<volatile u64*>(scratch_.data());
        }
        return reinterpret_cast<volatile u64*>(bytes_there);
    }

    u64 word(u64 address) { return *words(address, 8); }

    // A wrong IOMMU mapping: the device's accesses to page `from` reach page `to`.
    void redirect(u64 from, u64 to) {
        redirect_from_ = from;
        redirect_to_ = to;
    }

    void dma_read(u64 address, u8* out, u64 count) {
        u8* source = find(translate(address), count);
        if (source == nullptr) {
            faults.push_back({address, false});
            std::memset(out, 0, count);
            return;
        }
        std::memcpy(out, source, count);
    }

    void dma_write(u64 address, const u8* in, u64 count) {
        u8* destination = find(translate(address), count);
        if (destination == nullptr) {
            faults.push_back({address, true});
            return;
        }
        std::memcpy(destination, in, count);
    }

    std::vector<Fault> faults;

private:
    struct Window {
        u64 base;
        std::vector<u8> bytes;
    };

    u64 translate(u64 address) const {
        if (redirect_to_ != 0 && align_down(address, kPageSize4K) == redirect_from_) {
            return redirect_to_ + (address - redirect_from_);
        }
        return address;
    }

    u8* find(u64 address, u64 bytes) {
        for (Window& window : windows_) {
            if (address >= window.base && address - window.base <= window.bytes.size() &&
                bytes <= window.bytes.size() - (address - window.base)) {
                return window.bytes.data() + (address - window.base);
            }
        }
        return nullptr;
    }

    std::vector<Window> windows_;
    std::vector<u8> scratch_;
    u64 redirect_from_ = 0;
    u64 redirect_to_ = 0;
};

class FakeEdu final : public EduRegisters {
public:
    explicit FakeEdu(FakeRam& ram) : ram_(ram) {}

    // Knobs.
    u64 dma_mask = (1ull << 28) - 1;   // QEMU's default
    bool never_finishes = false;       // the start bit stays set for ever
    u64 finishing_dmas = ~0ull;        // how many DMAs finish; later ones never do
    i64 corrupt_buffer_byte = -1;      // flipped after every DMA into the buffer
    u64 extra_bytes_to_ram = 0;        // a DMA into RAM writes this many more bytes
    bool drop_reads_from_ram = false;  // DMAs into the buffer bring nothing

    // What happened.
    struct Dma {
        DmaDirection direction;
        u64 ram_address;  // as programmed, before the mask
        u64 buffer_offset;
        u64 count;
        u64 started_at;
        u64 finished_at;
    };
    std::vector<Dma> dmas;
    u64 ignored_writes = 0;       // register writes while busy (the device ignores them)
    u64 protocol_violations = 0;  // QEMU 7.2 would stop, or the access size is wrong
    u64 clamped = 0;              // RAM addresses the mask changed
    u64 interrupts_requested = 0;
    u64 now = 0;  // microseconds, advanced by FakeClock

    bool busy() const { return (command_ & kEduDmaStart) != 0; }

    // The timer: finishes the running DMA when its time has come.
    void advance() {
        if (!busy() || never_finishes || dmas.size() > finishing_dmas || now < deadline_) {
            return;
        }
        run_dma();
    }

    u32 read32(u32 offset) override {
        switch (offset) {
            case kEduIdentification:
                return 0x0100'00ED;
            case kEduLiveness:
                return liveness_;
            default:
                return static_cast<u32>(read64_unchecked(offset));
        }
    }
    void write32(u32 offset, u32 value) override {
        if (offset == kEduLiveness) {
            liveness_ = ~value;
            return;
        }
        write64_unchecked(offset, value);
    }
    u64 read64(u32 offset) override {
        if (offset < 0x80) {
            ++protocol_violations;  // edu answers only 32-bit accesses there
            return ~0ull;
        }
        return read64_unchecked(offset);
    }
    void write64(u32 offset, u64 value) override {
        if (offset < 0x80) {
            ++protocol_violations;
            return;
        }
        write64_unchecked(offset, value);
    }

    u8 buffer[kEduBufferSize] = {};

private:
    u64 read64_unchecked(u32 offset) {
        switch (offset) {
            case kEduDmaSource:
                return source_;
            case kEduDmaDestination:
                return destination_;
            case kEduDmaCount:
                return count_;
            case kEduDmaCommand:
                return command_;
            default:
                return 0;
        }
    }

    void write64_unchecked(u32 offset, u64 value) {
        u64* target = nullptr;
        switch (offset) {
            case kEduDmaSource:
                target = &source_;
                break;
            case kEduDmaDestination:
                target = &destination_;
                break;
            case kEduDmaCount:
                target = &count_;
                break;
            case kEduDmaCommand:
                if ((value & kEduDmaStart) == 0) {
                    return;  // edu ignores a command without the start bit
                }
                target = &command_;
                break;
            default:
                return;
        }
        if (busy()) {
            ++ignored_writes;
            return;
        }
        *target = value;
        if (offset == kEduDmaCommand) {
            deadline_ = now + kEduDmaMicroseconds;
            bool to_ram = (value & kEduDmaToRam) != 0;
            u64 buffer_side = to_ram ? source_ : destination_;
            dmas.push_back({to_ram ? DmaDirection::kFromDevice : DmaDirection::kToDevice,
                            to_ram ? destination_ : source_, buffer_side - kEduBufferAddress,
                            count_, now, 0});
        }
    }

    // edu_dma_timer.
    void run_dma() {
        Dma& dma = dmas.back();
        dma.finished_at = now;
        command_ &= ~kEduDmaStart;
        if ((command_ & kEduDmaRaiseInterrupt) != 0) {
            ++interrupts_requested;
        }
        // QEMU 7.2's edu_check_range: inside the buffer, at least a byte, and ending
        // before its last byte; otherwise hw_error() stops QEMU.
        u64 offset = dma.buffer_offset;
        if (offset > 0xFFF || dma.count == 0 || dma.count > 0xFFF - offset) {
            ++protocol_violations;
            return;
        }
        u64 address = dma.ram_address & dma_mask;
        clamped += address != dma.ram_address ? 1 : 0;
        if (dma.direction == DmaDirection::kToDevice) {
            if (!drop_reads_from_ram) {
                ram_.dma_read(address, buffer + offset, dma.count);
            }
            if (corrupt_buffer_byte >= 0) {
                buffer[corrupt_buffer_byte] ^= 1;
            }
        } else {
            u64 count = dma.count + extra_bytes_to_ram;
            count = count > kEduBufferSize - offset ? kEduBufferSize - offset : count;
            ram_.dma_write(address, buffer + offset, count);
        }
    }

    FakeRam& ram_;
    u64 source_ = 0;
    u64 destination_ = 0;
    u64 count_ = 0;
    u64 command_ = 0;
    u64 deadline_ = 0;
    u32 liveness_ = 0;
};

// Time for the protocol: each poll of a busy device lets a millisecond pass. Poll number
// `pause_at_poll` (from 1) lets `pause_microseconds` more pass: the guest was paused (a
// live update) while the device went on.
class FakeClock final : public DmaClock {
public:
    static constexpr u64 kPollMicroseconds = 1000;

    explicit FakeClock(FakeEdu& edu) : edu_(edu) {}

    u64 now_microseconds() override { return edu_.now; }
    void between_polls() override {
        ++polls;
        edu_.now += kPollMicroseconds + (polls == pause_at_poll ? pause_microseconds : 0);
        edu_.advance();
    }

    u64 polls = 0;
    u64 pause_at_poll = 0;
    u64 pause_microseconds = 0;

private:
    FakeEdu& edu_;
};

}  // namespace relay::guest::dma
