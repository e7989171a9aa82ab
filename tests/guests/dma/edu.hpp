// QEMU's educational PCI device "edu" (QEMU hw/misc/edu.c, docs/specs/edu.rst), driven
// through an abstract register interface so that the protocol is shared code, tested on
// the host against a model of the device; the guest implements the interface with MMIO
// on the mapped BAR0 (dma_main.cpp).
//
// What matters for a DMA test (QEMU 7.2, the version these machines run, and later):
//   - BAR0 is 1 MiB of registers; below 0x80 only 32-bit accesses work, from 0x80 on 32-
//     or 64-bit (others read all ones and are ignored).
//   - One DMA engine copies between RAM and a 4 KiB buffer at device address 0x40000.
//     Writing the command register with bit 0 set starts a transfer; it runs from a timer
//     100 ms later in QEMU's virtual clock, then clears bit 0 (the only way it clears: a
//     transfer cannot be cancelled). While bit 0 is set, writes to the source,
//     destination, count and command registers are ignored.
//   - The buffer side must lie inside the buffer. QEMU 7.2 checks it off by one: the
//     transfer must end before 0x40FFF's last byte, i.e. at most 4095 bytes from 0x40000,
//     and at least one byte; anything else stops QEMU (hw_error). Later versions log the
//     error and carry on (overrunning their buffer). Never ask for it.
//   - The RAM side is masked with dma_mask (28 bits unless -device edu,dma_mask=...):
//     the device silently uses address & mask, so RAM at or above 256 MiB cannot be
//     reached by default and an address there lands on a different page below.
//   - Errors of the DMA itself (an IOMMU refusing the address) are not reported: the
//     device ignores pci_dma_read/pci_dma_write's result, clears bit 0 as usual, and a
//     refused read leaves whatever the bus returned (zeros in QEMU) in the buffer.
//   - The raise-interrupt bit (4) is never set here: a Relay domain gets no device
//     interrupts, it polls.
#pragma once

#include "lib/result.hpp"
#include "lib/types.hpp"

namespace relay::guest::dma {

inline constexpr u16 kEduVendorId = 0x1234;
inline constexpr u16 kEduDeviceId = 0x11E8;

// BAR0 registers.
inline constexpr u32 kEduIdentification = 0x00;  // 0xRRrr00ED: major RR, minor rr
inline constexpr u32 kEduLiveness = 0x04;        // reads back the complement of a write
inline constexpr u32 kEduFactorial = 0x08;
inline constexpr u32 kEduStatus = 0x20;
inline constexpr u32 kEduInterruptStatus = 0x24;
inline constexpr u32 kEduInterruptRaise = 0x60;
inline constexpr u32 kEduInterruptAcknowledge = 0x64;
inline constexpr u32 kEduDmaSource = 0x80;
inline constexpr u32 kEduDmaDestination = 0x88;
inline constexpr u32 kEduDmaCount = 0x90;
inline constexpr u32 kEduDmaCommand = 0x98;
// The registers end here; the rest of the 1 MiB BAR reads all ones.
inline constexpr u32 kEduRegistersEnd = 0xA0;

inline constexpr u64 kEduDmaStart = 1u << 0;  // set to start, clear when done
inline constexpr u64 kEduDmaToRam = 1u << 1;  // direction: 0 RAM -> buffer, 1 buffer -> RAM
inline constexpr u64 kEduDmaRaiseInterrupt = 1u << 2;

inline constexpr u64 kEduBufferAddress = 0x40000;
inline constexpr u64 kEduBufferSize = 4096;
// The longest transfer QEMU 7.2's off-by-one range check accepts (see above).
inline constexpr u64 kEduMaxTransfer = kEduBufferSize - 1;
// How long edu takes for one transfer, in QEMU's virtual clock.
inline constexpr u64 kEduDmaMicroseconds = 100'000;
inline constexpr u32 kEduDefaultDmaMaskBits = 28;

// The mask edu applies to RAM addresses with this many DMA address bits.
constexpr u64 dma_mask(u32 mask_bits) {
    return mask_bits >= 64 ? ~0ull : (1ull << mask_bits) - 1;
}

// The end of the RAM such a device reaches unchanged (for 64 bits the last byte is left
// out, so that the end fits in 64 bits).
constexpr u64 dma_limit(u32 mask_bits) {
    return mask_bits >= 64 ? ~0ull : 1ull << mask_bits;
}

struct EduIdentification {
    u32 value = 0;
    u8 major = 0;
    u8 minor = 0;
};

// Checks the form 0xRRrr00ED.
Result<EduIdentification> decode_identification(u32 value);

// BAR0, by offset. read64/write64 are single 64-bit accesses (offsets from 0x80 only).
class EduRegisters {
public:
    virtual u32 read32(u32 offset) = 0;
    virtual void write32(u32 offset, u32 value) = 0;
    virtual u64 read64(u32 offset) = 0;
    virtual void write64(u32 offset, u64 value) = 0;

protected:
    ~EduRegisters() = default;
};

// Time while waiting for the device.
class DmaClock {
public:
    virtual u64 now_microseconds() = 0;
    // Called between two looks at a busy device: the guest yields and prints heartbeats
    // that are due; a fake advances time and lets its device work.
    virtual void between_polls() = 0;

protected:
    ~DmaClock() = default;
};

enum class DmaDirection : u8 {
    kToDevice,    // RAM -> device buffer
    kFromDevice,  // device buffer -> RAM
};

const char* direction_name(DmaDirection direction);  // "to-device", "from-device"

struct WaitResult {
    bool idle = false;  // false: still busy when the time was up
    u64 waited_microseconds = 0;
    u64 command = 0;  // the command register at the last look
    // The longest time between two looks (from the start to the first look, too): the
    // guest yields between looks, so this is how long it was off its CPU at most while
    // the device worked. A live update's blackout shows here.
    u64 longest_gap_microseconds = 0;
};

class Edu {
public:
    Edu(EduRegisters& registers, u32 dma_mask_bits)
        : registers_(registers), dma_mask_bits_(dma_mask_bits) {}

    u32 identification() { return registers_.read32(kEduIdentification); }

    // Writes `value` to the liveness register and returns what reads back (~value).
    u32 liveness(u32 value);

    u64 command() { return registers_.read64(kEduDmaCommand); }
    bool busy() { return (command() & kEduDmaStart) != 0; }

    // Starts a transfer of `count` bytes between RAM at `ram_address` and the buffer at
    // `buffer_offset`, without an interrupt. The device must be idle (wait_idle first):
    // edu ignores these writes while it is busy. Refuses, before touching the device, a
    // transfer edu would stop QEMU for (empty, or beyond kEduMaxTransfer of the buffer),
    // or RAM the DMA mask would change (edu would silently use another address).
    Status start(DmaDirection direction, u64 ram_address, u64 buffer_offset, u64 count);

    // Looks at the command register until the start bit is clear, at most
    // `timeout_microseconds`, calling clock.between_polls() between looks.
    WaitResult wait_idle(DmaClock& clock, u64 timeout_microseconds);

    u32 dma_mask_bits() const { return dma_mask_bits_; }

private:
    EduRegisters& registers_;
    u32 dma_mask_bits_;
};

}  // namespace relay::guest::dma
