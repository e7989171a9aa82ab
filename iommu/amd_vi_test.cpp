// AMD-Vi register, device table entry, command and event formats.
#include "iommu/amd_vi.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace relay::amd_vi {
namespace {

std::string text_of(const Event& event) {
    return std::string(format_event(event).view());
}

TEST(AmdViRegisters, DeviceTableBase) {
    auto full = encode_device_table_register({HostPhysAddr(0x4000000), 0x10000});
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(*full, 0x4000000u | 0x1FF) << "2 MiB: 512 pages, Size = 511";
    auto small = encode_device_table_register({HostPhysAddr(0x123000), 256});
    ASSERT_TRUE(small.ok());
    EXPECT_EQ(*small, 0x123001u);
    DeviceTableRegister back = decode_device_table_register(*small);
    EXPECT_EQ(back.base, HostPhysAddr(0x123000));
    EXPECT_EQ(back.entries, 256u);

    auto misaligned = encode_device_table_register({HostPhysAddr(0x123800), 256});
    ASSERT_FALSE(misaligned.ok());
    EXPECT_STREQ(misaligned.error().message(),
                 "device table base 0x123800 is not 4 KiB aligned below 2^52");
    auto odd = encode_device_table_register({HostPhysAddr(0x123000), 100});
    ASSERT_FALSE(odd.ok());
    EXPECT_STREQ(odd.error().message(),
                 "device table of 100 entries: need a multiple of 128 up to 65536");
    EXPECT_FALSE(encode_device_table_register({HostPhysAddr(0x1000), 0x10080}).ok());
    EXPECT_FALSE(encode_device_table_register({HostPhysAddr(1ull << 52), 128}).ok());
}

TEST(AmdViRegisters, RingBases) {
    auto commands = encode_ring_register({HostPhysAddr(0x200000), 256}, "command buffer");
    ASSERT_TRUE(commands.ok());
    EXPECT_EQ(*commands, 0x0800'0000'0020'0000ull) << "ComLen 1000b in bits 59:56";
    auto events = encode_ring_register({HostPhysAddr(0x300000), 32768}, "event log");
    ASSERT_TRUE(events.ok());
    EXPECT_EQ(*events, 0x0F00'0000'0030'0000ull);
    RingRegister back = decode_ring_register(*events);
    EXPECT_EQ(back.base, HostPhysAddr(0x300000));
    EXPECT_EQ(back.entries, 32768u);

    auto too_small = encode_ring_register({HostPhysAddr(0x200000), 128}, "command buffer");
    ASSERT_FALSE(too_small.ok());
    EXPECT_STREQ(too_small.error().message(),
                 "command buffer of 128 entries: need a power of two from 256 to 32768");
    EXPECT_FALSE(encode_ring_register({HostPhysAddr(0x200000), 384}, "event log").ok());
    EXPECT_FALSE(encode_ring_register({HostPhysAddr(0x200000), 65536}, "event log").ok());
    auto misaligned = encode_ring_register({HostPhysAddr(0x200010), 256}, "event log");
    ASSERT_FALSE(misaligned.ok());
    EXPECT_STREQ(misaligned.error().message(),
                 "event log base 0x200010 is not 4 KiB aligned below 2^52");
}

TEST(AmdViRegisters, HostLevelsFromExtendedFeatures) {
    // QEMU 7.2 reports HATS = 2 (AMDVI_HATS_MODE): six levels.
    EXPECT_EQ(feature::max_host_levels(2ull << 10), 6);
    EXPECT_EQ(feature::max_host_levels(0), 4);
    EXPECT_EQ(feature::max_host_levels(1ull << 10), 5);
    EXPECT_STREQ(mmio::register_name(mmio::kCommandTail), "command buffer tail");
}

TEST(DeviceTableEntry, TranslatedEntryLayout) {
    auto entry = translated_device_table_entry(3, HostPhysAddr(0x123000), 4, true, true);
    ASSERT_TRUE(entry.ok());
    // V | TV | Mode 4 << 9 | root | IR (61) | IW (62); DomainID in word 1.
    EXPECT_EQ(entry->words[0], 0x6000'0000'0012'3803ull);
    EXPECT_EQ(entry->words[1], 3u);
    EXPECT_EQ(entry->words[2], 1u) << "IV=1, IntCtl=0: interrupt requests aborted";
    EXPECT_EQ(entry->words[3], 0u);
    auto fields = decode_device_table_entry(*entry);
    ASSERT_TRUE(fields.ok());
    EXPECT_TRUE(fields->valid && fields->translation_valid && fields->read && fields->write);
    EXPECT_EQ(fields->mode, 4);
    EXPECT_EQ(fields->page_table_root, HostPhysAddr(0x123000));
    EXPECT_EQ(fields->domain_id, 3);
    EXPECT_TRUE(fields->refuses_interrupts());

    auto read_only =
        translated_device_table_entry(0xFFFF, HostPhysAddr(0xF'FFFF'FFFF'F000), 6, true, false);
    ASSERT_TRUE(read_only.ok());
    EXPECT_EQ(read_only->words[0], 0x200F'FFFF'FFFF'FC03ull);
    EXPECT_EQ(read_only->words[1], 0xFFFFu);

    EXPECT_FALSE(translated_device_table_entry(1, HostPhysAddr(0x1000), 0, true, true).ok());
    auto seven = translated_device_table_entry(1, HostPhysAddr(0x1000), 7, true, true);
    ASSERT_FALSE(seven.ok());
    EXPECT_STREQ(seven.error().message(), "I/O page table of 7 levels: AMD-Vi walks 1 to 6");
}

TEST(DeviceTableEntry, BlockedEntry) {
    DeviceTableEntry blocked = blocked_device_table_entry();
    EXPECT_EQ(blocked.words[0], 3u) << "V=1 TV=1 Mode=0 IR=IW=0";
    EXPECT_EQ(blocked.words[1], 0u);
    EXPECT_EQ(blocked.words[2], 1u) << "IV=1, IntCtl=0, no pass bits";
    auto fields = decode_device_table_entry(blocked);
    ASSERT_TRUE(fields.ok());
    EXPECT_EQ(fields->mode, 0);
    EXPECT_FALSE(fields->read || fields->write);
    EXPECT_TRUE(fields->refuses_interrupts());
    EXPECT_EQ(blocked_device_table_entry(1).words[1], 1ull << 40) << "SysMgt from the IVHD";
}

TEST(DeviceTableEntry, EveryFieldRoundTrips) {
    DeviceTableEntryFields f;
    f.valid = true;
    f.translation_valid = true;
    f.mode = 3;
    f.page_table_root = HostPhysAddr(0xABC000);
    f.read = true;
    f.domain_id = 0x1234;
    f.iotlb_enable = true;
    f.suppress_faults = true;
    f.suppress_all_faults = true;
    f.io_control = 2;
    f.cache_hint = true;
    f.snoop_disable = true;
    f.allow_exclusion = true;
    f.system_management = 3;
    f.interrupt_map_valid = true;
    f.interrupt_control = InterruptControl::kForwardUnmapped;
    f.init_pass = true;
    f.ext_int_pass = true;
    f.nmi_pass = true;
    f.lint0_pass = true;
    f.lint1_pass = true;
    auto entry = encode_device_table_entry(f);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->words[2], 1ull | (7ull << 56) | (1ull << 60) | (3ull << 62));
    EXPECT_FALSE(f.refuses_interrupts());
    EXPECT_EQ(entry->words[1], 0x1234ull | (1ull << 32) | (1ull << 33) | (1ull << 34) |
                                   (2ull << 35) | (1ull << 37) | (1ull << 38) | (1ull << 39) |
                                   (3ull << 40));
    auto back = decode_device_table_entry(*entry);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, f);
}

TEST(DeviceTableEntry, EncodeRefusesBadFields) {
    DeviceTableEntryFields f;
    f.valid = true;
    f.translation_valid = true;
    f.mode = 2;
    f.page_table_root = HostPhysAddr(0x1800);
    auto misaligned = encode_device_table_entry(f);
    ASSERT_FALSE(misaligned.ok());
    EXPECT_STREQ(misaligned.error().message(),
                 "page table root 0x1800 is not 4 KiB aligned below 2^52");
    f.page_table_root = HostPhysAddr(0);
    auto rootless = encode_device_table_entry(f);
    ASSERT_FALSE(rootless.ok());
    EXPECT_STREQ(rootless.error().message(),
                 "device table entry with 2 levels has no page table root");
    f.page_table_root = HostPhysAddr(0x1000);
    f.io_control = 3;
    EXPECT_FALSE(encode_device_table_entry(f).ok());
    f.io_control = 0;
    f.interrupt_map_valid = true;
    f.interrupt_control = InterruptControl::kRemap;
    auto remap = encode_device_table_entry(f);
    ASSERT_FALSE(remap.ok());
    EXPECT_STREQ(remap.error().message(),
                 "device table entry IntCtl 2: only 0 (abort) and 1 (forward) need no interrupt "
                 "table, and Relay keeps none");
}

TEST(DeviceTableEntry, EachForbiddenInterruptPathIsSeen) {
    // refuses_interrupts() is what adoption checks: each pass bit on its own fails it.
    const u64 open_bits[] = {1ull << 56, 1ull << 57, 1ull << 58,
                             1ull << 60, 1ull << 62, 1ull << 63};
    for (u64 bit : open_bits) {
        DeviceTableEntry entry = blocked_device_table_entry();
        entry.words[2] |= bit;
        auto fields = decode_device_table_entry(entry);
        ASSERT_TRUE(fields.ok()) << std::hex << bit;
        EXPECT_FALSE(fields->refuses_interrupts()) << std::hex << bit;
    }
    DeviceTableEntry legacy = blocked_device_table_entry();
    legacy.words[2] = 0;  // IV=0: interrupts pass as sent
    EXPECT_FALSE(decode_device_table_entry(legacy)->refuses_interrupts());
}

TEST(DeviceTableEntry, DecodeRefusesForeignBits) {
    DeviceTableEntry guest = blocked_device_table_entry();
    guest.words[0] |= 1ull << 55;  // GV: guest translation valid
    auto e = decode_device_table_entry(guest);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().code(), ErrorCode::kUnsupported);
    EXPECT_STREQ(e.error().message(),
                 "device table entry word 0 0x80000000000003 has bits 0x80000000000000 Relay "
                 "never sets (guest translation, PPR or reserved)");
    DeviceTableEntry gcr3 = blocked_device_table_entry();
    gcr3.words[1] |= 1ull << 20;
    EXPECT_FALSE(decode_device_table_entry(gcr3).ok());
    DeviceTableEntry remapped = blocked_device_table_entry();
    remapped.words[2] |= 0x1234'5640ull | (2ull << 60);  // a table at 0x12345640, IntCtl remap
    auto r = decode_device_table_entry(remapped);
    ASSERT_FALSE(r.ok());
    EXPECT_STREQ(r.error().message(),
                 "device table entry word 2 0x2000000012345641 has bits 0x12345640 Relay never "
                 "sets (interrupt table or reserved)");
    DeviceTableEntry tableless = blocked_device_table_entry();
    tableless.words[2] |= 2ull << 60;
    auto t = decode_device_table_entry(tableless);
    ASSERT_FALSE(t.ok());
    EXPECT_STREQ(t.error().message(),
                 "device table entry IntCtl 2 (remap) needs an interrupt table, and the entry "
                 "has none");
    DeviceTableEntry word3 = blocked_device_table_entry();
    word3.words[3] = 1;
    EXPECT_FALSE(decode_device_table_entry(word3).ok());
    DeviceTableEntry mode7 = blocked_device_table_entry();
    mode7.words[0] |= 7ull << 9;
    auto m = decode_device_table_entry(mode7);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code(), ErrorCode::kCorrupt);
}

// QEMU 7.2 (with the 7.2.19 stable fix) treats an entry with any of these bits as illegal
// and blocks the device (amdvi_validate_dte): quad 0 bits 6:2 and 63, quad 2 bits 53:52,
// quad 3 bits 14:0 and 53:48. Nothing Relay encodes may set them.
TEST(DeviceTableEntry, NeverSetsBitsQemuCallsReserved) {
    const u64 qemu_reserved[4] = {0x7Cull | (1ull << 63), 0, 3ull << 52,
                                  0x7FFFull | (0x3Full << 48)};
    std::mt19937_64 random(99);
    for (int i = 0; i < 2000; ++i) {
        DeviceTableEntryFields f;
        f.valid = random() & 1;
        f.translation_valid = random() & 1;
        f.mode = static_cast<u8>(1 + random() % 6);
        f.page_table_root = HostPhysAddr((random() & 0x000F'FFFF'FFFF'F000ull) | 0x1000);
        f.read = random() & 1;
        f.write = random() & 1;
        f.domain_id = static_cast<u16>(random());
        f.iotlb_enable = random() & 1;
        f.suppress_faults = random() & 1;
        f.suppress_all_faults = random() & 1;
        f.io_control = static_cast<u8>(random() % 3);
        f.cache_hint = random() & 1;
        f.snoop_disable = random() & 1;
        f.allow_exclusion = random() & 1;
        f.system_management = static_cast<u8>(random() % 4);
        auto entry = encode_device_table_entry(f);
        ASSERT_TRUE(entry.ok()) << entry.error().message();
        for (int w = 0; w < 4; ++w) {
            ASSERT_EQ(entry->words[w] & qemu_reserved[w], 0u) << "word " << w;
        }
        auto back = decode_device_table_entry(*entry);
        ASSERT_TRUE(back.ok());
        ASSERT_EQ(*back, f);
    }
}

TEST(Commands, CompletionWait) {
    Command c = completion_wait(HostPhysAddr(0x1234'5678), 0xFEED'F00D'0000'0001ull);
    EXPECT_EQ(command_opcode(c), 1);
    EXPECT_EQ(c.words[0], 0x1000'0000'1234'5679ull) << "S=1, address 51:3, opcode 1";
    EXPECT_EQ(c.words[1], 0xFEED'F00D'0000'0001ull);
    Command with_interrupt = completion_wait(HostPhysAddr(0xF'FFFF'FFFF'FFF8ull), 7, true);
    EXPECT_EQ(with_interrupt.words[0], 0x100F'FFFF'FFFF'FFFBull);
    EXPECT_STREQ(command_name(command_opcode(c)), "COMPLETION_WAIT");
}

TEST(Commands, InvalidateDeviceTableEntryAndInterruptTable) {
    Command c = invalidate_device_table_entry(DeviceId::from(0, 4, 0));
    EXPECT_EQ(c.words[0], 0x2000'0000'0000'0020ull);
    EXPECT_EQ(c.words[1], 0u);
    Command i = invalidate_interrupt_table(DeviceId(0xABCD));
    EXPECT_EQ(i.words[0], 0x5000'0000'0000'ABCDull);
    Command all = invalidate_iommu_all();
    EXPECT_EQ(all.words[0], 0x8000'0000'0000'0000ull);
    EXPECT_EQ(all.words[1], 0u);
    EXPECT_STREQ(command_name(command_opcode(all)), "INVALIDATE_IOMMU_ALL");
    EXPECT_STREQ(command_name(15), "UNKNOWN_COMMAND");
}

TEST(Commands, InvalidateIommuPagesEncodings) {
    // One page: S=0.
    Command page = invalidate_iommu_pages(3, 0x7000123, 1);
    EXPECT_EQ(page.words[0], 0x3000'0003'0000'0000ull);
    EXPECT_EQ(page.words[1], 0x7000000ull | 2) << "PDE=1, S=0";
    // 12 KiB from 0x7000000: the covering block is 16 KiB, Address[13:12] = 01b.
    Command three = invalidate_iommu_pages(3, 0x7000000, 0x3000);
    EXPECT_EQ(three.words[1], 0x7001000ull | 3);
    PageInvalidation d = decode_invalidate_iommu_pages(three);
    EXPECT_EQ(d.domain_id, 3);
    EXPECT_EQ(d.first, 0x7000000u);
    EXPECT_EQ(d.last, 0x7003FFFu);
    EXPECT_TRUE(d.page_directories);
    // Two pages that straddle a 2 MiB boundary need a 4 MiB block.
    PageInvalidation straddle =
        decode_invalidate_iommu_pages(invalidate_iommu_pages(9, 0x1FF000, 0x2000));
    EXPECT_EQ(straddle.first, 0u);
    EXPECT_EQ(straddle.last, 0x3FFFFFu);
    // All pages of a domain.
    Command all = invalidate_iommu_pages_all(0x55);
    EXPECT_EQ(all.words[0], 0x3000'0055'0000'0000ull);
    EXPECT_EQ(all.words[1], 0x7FFF'FFFF'FFFF'F003ull);
    PageInvalidation everything = decode_invalidate_iommu_pages(all);
    EXPECT_EQ(everything.first, 0u);
    EXPECT_EQ(everything.last, ~0ull);
    EXPECT_EQ(invalidate_iommu_pages(0x55, 0, 0), all) << "size 0 means all";
    EXPECT_EQ(invalidate_iommu_pages(0x55, 0x1000, ~0ull), all) << "wrapping range";
    PageInvalidation high = decode_invalidate_iommu_pages(
        invalidate_iommu_pages(0x55, 0x8000'0000'0000'0000ull, 0x1000'0000'0000'0000ull));
    EXPECT_EQ(high.first, 0x8000'0000'0000'0000ull);
    EXPECT_EQ(high.last, 0x8FFF'FFFF'FFFF'FFFFull);
    EXPECT_EQ(invalidate_iommu_pages(0x55, 0x7FFF'FFFF'FFFF'F000ull, 0x2000), all)
        << "crosses 2^63: only the all-pages form covers it";
}

// Property: the encoded block is naturally aligned, a power of two, covers the range and is
// the smallest such block.
TEST(Commands, InvalidateIommuPagesCoversExactlyTheSmallestBlock) {
    std::mt19937_64 random(5);
    for (int i = 0; i < 20000; ++i) {
        u64 address = random() & ((1ull << (12 + random() % 40)) - 1);
        u64 size = 1 + (random() & ((1ull << (random() % 36)) - 1));
        PageInvalidation d =
            decode_invalidate_iommu_pages(invalidate_iommu_pages(7, address, size));
        ASSERT_EQ(d.domain_id, 7);
        u64 first = align_down(address, kPageSize4K);
        u64 last = (address + size - 1) | 0xFFF;
        ASSERT_LE(d.first, first);
        ASSERT_GE(d.last, last);
        u64 block = d.last - d.first + 1;
        ASSERT_TRUE(is_power_of_two(block));
        ASSERT_TRUE(is_aligned(d.first, block));
        if (block > kPageSize4K) {
            u64 half = block / 2;
            ASSERT_NE(first / half, last / half) << "a block half the size would have done";
        }
    }
}

TEST(Events, IoPageFault) {
    EventLogEntry entry = make_event(EventCode::kIoPageFault, DeviceId::from(0, 4, 0), 3, 0x7000000,
                                     event_flag::kWrite);
    EXPECT_EQ(entry.words[0], 0x2020'0003'0000'0020ull);
    Event e = decode_event(entry);
    EXPECT_EQ(e.code, 2);
    EXPECT_EQ(e.device, DeviceId::from(0, 4, 0));
    EXPECT_EQ(e.domain_id, 3);
    EXPECT_EQ(e.address, 0x7000000u);
    EXPECT_TRUE(e.has(event_flag::kWrite));
    EXPECT_EQ(text_of(e),
              "IO_PAGE_FAULT device 00:04.0 domain 3 address 0x7000000 write, page "
              "not present");

    e = decode_event(make_event(EventCode::kIoPageFault, DeviceId::from(1, 0, 1), 12, 0x5000,
                                event_flag::kPresent | event_flag::kPermission));
    EXPECT_EQ(text_of(e),
              "IO_PAGE_FAULT device 01:00.1 domain 12 address 0x5000 read, permission denied");
    e = decode_event(make_event(EventCode::kIoPageFault, DeviceId(0x00a0), 1, 0xfee00000,
                                event_flag::kPresent | event_flag::kReservedBit |
                                    event_flag::kInterrupt | event_flag::kTranslation));
    EXPECT_EQ(text_of(e),
              "IO_PAGE_FAULT device 00:14.0 domain 1 address 0xfee00000 interrupt request, "
              "reserved bit set or bad level, translation request");
}

TEST(Events, EveryKnownCodeFormats) {
    DeviceId dev = DeviceId::from(0, 3, 0);
    auto line = [&](EventCode code, u16 domain, u64 address, u16 flags) {
        return text_of(decode_event(make_event(code, dev, domain, address, flags)));
    };
    EXPECT_EQ(line(EventCode::kIllegalDeviceTableEntry, 0, 0x1000, event_flag::kReservedBit),
              "ILLEGAL_DEV_TABLE_ENTRY device 00:03.0 address 0x1000 read, reserved bit set or "
              "bad level");
    EXPECT_EQ(line(EventCode::kDeviceTableHardwareError, 0, 0x400060,
                   (1 << event_flag::kHardwareErrorTypeShift)),
              "DEV_TAB_HARDWARE_ERROR device 00:03.0 address 0x400060 master abort read");
    EXPECT_EQ(line(EventCode::kPageTableHardwareError, 5, 0x9000,
                   event_flag::kWrite | (2 << event_flag::kHardwareErrorTypeShift)),
              "PAGE_TAB_HARDWARE_ERROR device 00:03.0 domain 5 address 0x9000 target abort "
              "write");
    EXPECT_EQ(line(EventCode::kIllegalCommandError, 0, 0x200040, 0),
              "ILLEGAL_COMMAND_ERROR command at 0x200040");
    EXPECT_EQ(line(EventCode::kCommandHardwareError, 0, 0x200000,
                   (3 << event_flag::kHardwareErrorTypeShift)),
              "COMMAND_HARDWARE_ERROR address 0x200000 data error");
    EXPECT_EQ(line(EventCode::kIotlbInvalidationTimeout, 0, 0x200057, 0),
              "IOTLB_INV_TIMEOUT device 00:03.0 command at 0x200050");
    EXPECT_EQ(
        line(EventCode::kInvalidDeviceRequest, 0, 0xABC000, event_flag::kTranslation | (2 << 9)),
        "INVALID_DEVICE_REQUEST device 00:03.0 address 0xabc000 type 2, translation "
        "request");
    EXPECT_EQ(line(EventCode::kInvalidPprRequest, 0, 0x1000, 0),
              "INVALID_PPR_REQUEST device 00:03.0 address 0x1000");
    EventLogEntry odd;
    odd.words[0] = 0xC000'0000'0000'0001ull;
    odd.words[1] = 0x42;
    EXPECT_EQ(text_of(decode_event(odd)), "EVENT_0xc 0xc000000000000001 0x0000000000000042");
    EXPECT_EQ(event_name(0xC), nullptr);
    EXPECT_STREQ(event_name(2), "IO_PAGE_FAULT");
}

TEST(Events, GuestRequestsCarryThePasid) {
    EventLogEntry entry = make_event(EventCode::kIoPageFault, DeviceId(0x0100), 0x2345, 0x1000,
                                     event_flag::kGuest | event_flag::kUser);
    entry.words[0] |= 0x7ull << 16;  // PASID[19:16]
    Event e = decode_event(entry);
    EXPECT_EQ(e.pasid, 0x72345u);
    EXPECT_EQ(text_of(e),
              "IO_PAGE_FAULT device 01:00.0 domain 9029 address 0x1000 read, page not "
              "present, user, guest pasid 0x72345");
}

// What QEMU 7.2's amdvi_page_fault() would put in the log if its event logging worked
// (it does not, see README.md): device id = devfn only, flags I plus the access type in
// the GN/NX positions. The decoder reports the bits as they are.
TEST(Events, QemuPageFaultEncodingDecodesLiterally) {
    EventLogEntry qemu;
    u16 info = (2 << 12) | (1 << 3) | 2;  // AMDVI_EVENT_IOPF | AMDVI_EVENT_IOPF_I | write
    qemu.words[0] = 0x20 | (static_cast<u64>(info) << 48);
    qemu.words[1] = 0x7000000;
    Event e = decode_event(qemu);
    EXPECT_EQ(e.code, 2);
    EXPECT_TRUE(e.has(event_flag::kInterrupt));
    EXPECT_TRUE(e.has(event_flag::kNoExecute));
    EXPECT_FALSE(e.has(event_flag::kWrite));
}

}  // namespace
}  // namespace relay::amd_vi
