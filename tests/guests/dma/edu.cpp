#include "tests/guests/dma/edu.hpp"

namespace relay::guest::dma {

Result<EduIdentification> decode_identification(u32 value) {
    if ((value & 0xFFFF) != 0x00ED) {
        return make_error(ErrorCode::kBadMagic,
                          "identification register reads {:#010x}, not edu's 0xRRrr00ed", value);
    }
    return EduIdentification{value, static_cast<u8>(value >> 24), static_cast<u8>(value >> 16)};
}

const char* direction_name(DmaDirection direction) {
    return direction == DmaDirection::kToDevice ? "to-device" : "from-device";
}

u32 Edu::liveness(u32 value) {
    registers_.write32(kEduLiveness, value);
    return registers_.read32(kEduLiveness);
}

Status Edu::start(DmaDirection direction, u64 ram_address, u64 buffer_offset, u64 count) {
    if (count == 0 || buffer_offset > kEduMaxTransfer || count > kEduMaxTransfer - buffer_offset) {
        return make_error(ErrorCode::kOutOfRange,
                          "edu DMA of {} bytes at buffer offset {:#x}: edu takes 1 to {} bytes "
                          "within its buffer",
                          count, buffer_offset, kEduMaxTransfer);
    }
    u64 mask = dma_mask(dma_mask_bits_);
    if (ram_address > mask || count - 1 > mask - ram_address) {
        return make_error(ErrorCode::kOutOfRange,
                          "edu DMA of {} bytes at RAM {:#x}: beyond the {}-bit DMA mask (edu "
                          "would use another address)",
                          count, ram_address, dma_mask_bits_);
    }
    u64 buffer_address = kEduBufferAddress + buffer_offset;
    bool to_ram = direction == DmaDirection::kFromDevice;
    registers_.write64(kEduDmaSource, to_ram ? buffer_address : ram_address);
    registers_.write64(kEduDmaDestination, to_ram ? ram_address : buffer_address);
    registers_.write64(kEduDmaCount, count);
    registers_.write64(kEduDmaCommand, kEduDmaStart | (to_ram ? kEduDmaToRam : 0));
    return ok_status();
}

WaitResult Edu::wait_idle(DmaClock& clock, u64 timeout_microseconds) {
    WaitResult result;
    u64 start = clock.now_microseconds();
    u64 previous = start;
    for (;;) {
        result.command = command();
        u64 now = clock.now_microseconds();
        result.waited_microseconds = now - start;
        if (now - previous > result.longest_gap_microseconds) {
            result.longest_gap_microseconds = now - previous;
        }
        previous = now;
        if ((result.command & kEduDmaStart) == 0) {
            result.idle = true;
            return result;
        }
        if (result.waited_microseconds >= timeout_microseconds) {
            return result;
        }
        clock.between_polls();
    }
}

}  // namespace relay::guest::dma
