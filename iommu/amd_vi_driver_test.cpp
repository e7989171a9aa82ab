// AmdViDriver against the FakeAmdVi model: initialisation order, device table updates
// and the invalidations they need, command ring wrap-around, completion waits that never
// complete, event log draining with wrap-around and overflow, adoption by a successor.
#include "iommu/amd_vi_driver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "iommu/io_page_table.hpp"
#include "iommu/testing/fake_amd_vi.hpp"

namespace relay::amd_vi {
namespace {

using testing::DmaResult;
using testing::FakeAmdVi;
using testing::FakeClock;
using testing::ModelTableMemory;
using IoTable = IoPageTable<ModelTableMemory>;

constexpr u64 kDeviceTable = 0x10'0000;
constexpr u64 kCommandBuffer = 0x20'0000;
constexpr u64 kEventLog = 0x30'0000;
constexpr u64 kCompletionStore = 0x40'0008;
constexpr u64 kPageTables = 0x100'0000;
constexpr DeviceId kEdu = DeviceId::from(0, 4, 0);

AmdViConfig test_config() {
    AmdViConfig c;
    c.unit = {0, DeviceId::from(0, 3, 0)};
    c.mmio_base = HostPhysAddr(0xfed80000);
    c.device_table = {HostPhysAddr(kDeviceTable), 256};
    c.command_buffer = {HostPhysAddr(kCommandBuffer), 256};
    c.event_log = {HostPhysAddr(kEventLog), 256};
    c.completion_store = HostPhysAddr(kCompletionStore);
    c.timeout_ns = 10'000'000;  // 10 ms of fake time: 10000 clock readings
    return c;
}

std::vector<u8> opcodes_of(const std::vector<Command>& commands, usize from = 0) {
    std::vector<u8> out;
    for (usize i = from; i < commands.size(); ++i) {
        out.push_back(command_opcode(commands[i]));
    }
    return out;
}

constexpr u8 kWait = 1;
constexpr u8 kInvalidateEntry = 2;
constexpr u8 kInvalidatePages = 3;
constexpr u8 kInvalidateInterruptTable = 5;
constexpr u8 kInvalidateAll = 8;

struct Rig {
    FakeAmdVi unit;
    FakeClock clock;
    AmdViDriver driver{unit, unit, clock};
    ModelTableMemory tables{unit, kPageTables};

    void init() {
        Status status = driver.init(test_config());
        ASSERT_TRUE(status.ok()) << status.error().message();
    }
    // A domain table mapping IOVA [0, size) to host memory at `host`.
    IoTable make_domain(u64 host, u64 size) {
        auto table = IoTable::create(tables, 4);
        EXPECT_TRUE(table.ok());
        EXPECT_TRUE(table->map(GuestPhysAddr(0), HostPhysAddr(host), size, {true, true}).ok());
        return *table;
    }
    iommu::IoDomain domain(u16 id, const IoTable& table) {
        iommu::IoDomain d;
        d.domain_id = id;
        d.page_table_root = table.root();
        d.levels = table.levels();
        return d;
    }
};

TEST(AmdViDriver, InitProgramsTheUnitInOrder) {
    Rig rig;
    rig.unit.write(mmio::kControl, control::kIommuEnable);  // left on by firmware
    rig.unit.register_writes.clear();
    rig.unit.violations.clear();
    rig.init();
    ASSERT_TRUE(rig.unit.violations.empty()) << rig.unit.violations[0];

    // Registers, and the order they were written in: the unit is stopped first, tables
    // and rings are in place before anything is enabled, translation comes last.
    std::vector<u32> order;
    for (const auto& w : rig.unit.register_writes) {
        order.push_back(w.offset);
    }
    std::vector<u32> expected_start = {
        mmio::kControl,     mmio::kDeviceTableBase, mmio::kCommandBufferBase, mmio::kCommandHead,
        mmio::kCommandTail, mmio::kEventLogBase,    mmio::kEventHead,         mmio::kEventTail,
        mmio::kControl,     mmio::kControl};
    ASSERT_GE(order.size(), expected_start.size());
    EXPECT_EQ(std::vector<u32>(order.begin(), order.begin() + 10), expected_start);
    EXPECT_EQ(rig.unit.register_writes[0].value, 0u);
    EXPECT_EQ(rig.unit.register_writes[8].value,
              control::kCoherent | control::kCommandBufferEnable | control::kEventLogEnable);
    EXPECT_EQ(rig.unit.register_writes[9].value, control::kCoherent | control::kIommuEnable |
                                                     control::kCommandBufferEnable |
                                                     control::kEventLogEnable);
    EXPECT_EQ(rig.unit.reg(mmio::kDeviceTableBase), kDeviceTable | 1);
    EXPECT_EQ(rig.unit.reg(mmio::kCommandBufferBase), kCommandBuffer | (8ull << 56));
    EXPECT_EQ(rig.unit.reg(mmio::kEventLogBase), kEventLog | (8ull << 56));
    EXPECT_NE(rig.unit.reg(mmio::kStatus) & status::kCommandBufferRunning, 0u);

    // Every device blocked; caches flushed with INVALIDATE_IOMMU_ALL (QEMU has IASup).
    for (u16 id = 0; id < 256; ++id) {
        auto entry = rig.driver.read_device_table_entry(DeviceId(id));
        ASSERT_TRUE(entry.ok());
        ASSERT_EQ(*entry, blocked_device_table_entry()) << id;
    }
    EXPECT_EQ(opcodes_of(rig.unit.processed), (std::vector<u8>{kInvalidateAll, kWait}));
    EXPECT_EQ(rig.unit.read(HostPhysAddr(kCompletionStore)), 1u);
    EXPECT_FALSE(rig.unit.dma(kEdu, 0x1000, false).ok) << "blocked";
    EXPECT_EQ(rig.unit.translation_disables, 1) << "init stops what firmware left running";
}

TEST(AmdViDriver, InitCarriesTheIvhdBusAttributesIntoTheControlRegister) {
    Rig rig;
    AmdViConfig config = test_config();
    config.ivhd_flags = 0xd1;  // QEMU 7.2's: HtTunEn, IotlbSup, PrefSup, PPRSup
    ASSERT_TRUE(rig.driver.init(config).ok());
    EXPECT_EQ(rig.unit.reg(mmio::kControl),
              control::kCoherent | control::kHtTunnelEnable | control::kIommuEnable |
                  control::kCommandBufferEnable | control::kEventLogEnable);
    AmdViDriver other(rig.unit, rig.unit, rig.clock);
    config.ivhd_flags = 0x0E;  // PassPW, ResPassPW, Isoc
    ASSERT_TRUE(other.init(config).ok());
    EXPECT_EQ(
        rig.unit.reg(mmio::kControl) &
            (control::kPassPostedWrite | control::kResponsePassPostedWrite | control::kIsochronous |
             control::kHtTunnelEnable),
        control::kPassPostedWrite | control::kResponsePassPostedWrite | control::kIsochronous);
}

TEST(AmdViDriver, InitWithoutInvalidateAllFlushesEveryEntry) {
    Rig rig;
    rig.unit.set_extended_features(FakeAmdVi::kQemuExtendedFeatures & ~feature::kInvalidateAll);
    rig.init();
    // 256 entries, two commands each, through a 256-entry ring: it wraps, the driver
    // waits for room.
    std::vector<u8> ops = opcodes_of(rig.unit.processed);
    ASSERT_EQ(ops.size(), 514u);
    for (usize i = 0; i < 256; ++i) {
        ASSERT_EQ(ops[2 * i], kInvalidateEntry);
        ASSERT_EQ(rig.unit.processed[2 * i].words[0] & 0xFFFF, i);
        ASSERT_EQ(ops[2 * i + 1], kInvalidateInterruptTable);
        ASSERT_EQ(rig.unit.processed[2 * i + 1].words[0] & 0xFFFF, i);
    }
    EXPECT_EQ(ops[512], kInvalidatePages);
    EXPECT_EQ(ops[513], kWait);
    EXPECT_TRUE(rig.unit.violations.empty());
}

TEST(AmdViDriver, InitRefusesBadConfigurations) {
    Rig rig;
    AmdViConfig c = test_config();
    c.completion_store = HostPhysAddr(kCommandBuffer + 0x100);
    Status overlap = rig.driver.init(c);
    ASSERT_FALSE(overlap.ok());
    EXPECT_STREQ(overlap.error().message(),
                 "AMD-Vi command buffer at 0x200000 + 0x1000 overlaps the completion store at "
                 "0x200100 + 0x8");
    c = test_config();
    c.completion_store = HostPhysAddr(kCompletionStore + 4);
    EXPECT_FALSE(rig.driver.init(c).ok());
    c = test_config();
    c.command_buffer.entries = 100;
    EXPECT_STREQ(rig.driver.init(c).error().message(),
                 "command buffer of 100 entries: need a power of two from 256 to 32768");
    EXPECT_TRUE(rig.unit.register_writes.empty()) << "a refused config touches nothing";
    EXPECT_FALSE(rig.driver.running());
    Status not_running = rig.driver.flush_domain(1);
    ASSERT_FALSE(not_running.ok());
    EXPECT_STREQ(not_running.error().message(), "AMD-Vi unit is not initialised or adopted");
}

TEST(AmdViDriver, AttachTranslatesThroughTheDomainTable) {
    Rig rig;
    rig.init();
    IoTable table = rig.make_domain(0x4000'0000, 0x10'0000);
    usize before = rig.unit.processed.size();
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, table)).ok());
    auto entry = rig.driver.read_device_table_entry(kEdu);
    auto expected = translated_device_table_entry(3, table.root(), 4, true, true);
    EXPECT_EQ(*entry, *expected);
    EXPECT_EQ(opcodes_of(rig.unit.processed, before),
              (std::vector<u8>{kInvalidateEntry, kInvalidatePages, kInvalidatePages, kWait}));
    EXPECT_EQ(rig.unit.processed[before].words[0] & 0xFFFF, kEdu.raw);
    EXPECT_EQ(decode_invalidate_iommu_pages(rig.unit.processed[before + 1]).domain_id, 0)
        << "the old (blocked) entry's domain";
    EXPECT_EQ(decode_invalidate_iommu_pages(rig.unit.processed[before + 2]).domain_id, 3);

    DmaResult r = rig.unit.dma(kEdu, 0x1234, true);
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.address, 0x4000'1234u);
    EXPECT_FALSE(rig.unit.dma(kEdu, 0x10'0000, false).ok) << "beyond the domain's map";
    EXPECT_FALSE(rig.unit.dma(DeviceId::from(0, 5, 0), 0x1234, false).ok) << "other device";

    // Attaching again with the same table changes nothing and issues no command.
    before = rig.unit.processed.size();
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, table)).ok());
    EXPECT_EQ(rig.unit.processed.size(), before);
}

// Every state of the entry a concurrent walk can see is the old entry, blocked, or the
// new entry.
TEST(AmdViDriver, EntryUpdatesAreNeverHalfDone) {
    Rig rig;
    rig.init();
    IoTable a = rig.make_domain(0x4000'0000, 0x10'0000);
    IoTable b = rig.make_domain(0x8000'0000, 0x10'0000);
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, a)).ok());
    DeviceTableEntry old_entry = *rig.driver.read_device_table_entry(kEdu);
    DeviceTableEntry new_entry = *translated_device_table_entry(4, b.root(), 4, true, false);
    const u64 address = kDeviceTable + kEdu.raw * 32u;
    int writes = 0;
    rig.unit.on_memory_write = [&](u64 at, u64) {
        if (at < address || at >= address + 32) {
            return;
        }
        ++writes;
        DeviceTableEntry now;
        for (int w = 0; w < 4; ++w) {
            now.words[w] = rig.unit.read(HostPhysAddr(address + w * 8u));
        }
        bool blocked = now.words[0] == blocked_device_table_entry().words[0];
        EXPECT_TRUE(now == old_entry || now == new_entry || blocked)
            << std::hex << now.words[0] << " " << now.words[1];
    };
    ASSERT_TRUE(rig.driver.set_device_table_entry(kEdu, new_entry).ok());
    rig.unit.on_memory_write = nullptr;
    EXPECT_EQ(writes, 3) << "word 0 blocked, word 1, word 0 new";
    EXPECT_EQ(*rig.driver.read_device_table_entry(kEdu), new_entry);
}

// The model caches translations per device, tagged with the domain. Moving a device to
// another domain or blocking it must make those go, or DMA would still reach the old pages.
TEST(AmdViDriver, ReattachAndBlockDropCachedTranslations) {
    Rig rig;
    rig.init();
    IoTable a = rig.make_domain(0x4000'0000, 0x10'0000);
    IoTable b = rig.make_domain(0x8000'0000, 0x10'0000);
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, a)).ok());
    EXPECT_EQ(rig.unit.dma(kEdu, 0x2000, true).address, 0x4000'2000u);
    EXPECT_EQ(rig.unit.dma(kEdu, 0x2000, true).address, 0x4000'2000u);
    EXPECT_EQ(rig.unit.iotlb_hits, 1u) << "the model caches";

    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(4, b)).ok());
    EXPECT_EQ(rig.unit.dma(kEdu, 0x2000, true).address, 0x8000'2000u);

    ASSERT_TRUE(rig.driver.block(kEdu).ok());
    EXPECT_FALSE(rig.unit.dma(kEdu, 0x2000, true).ok);
    EXPECT_FALSE(rig.unit.dma(kEdu, 0x2000, false).ok);
    EXPECT_EQ(*rig.driver.read_device_table_entry(kEdu), blocked_device_table_entry());
}

TEST(AmdViDriver, FlushAfterUnmapRemovesTheCachedPage) {
    Rig rig;
    rig.init();
    IoTable table = rig.make_domain(0x4000'0000, 0x10'0000);
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, table)).ok());
    EXPECT_TRUE(rig.unit.dma(kEdu, 0x5000, false).ok);
    EXPECT_TRUE(rig.unit.dma(kEdu, 0x9000, false).ok);
    ASSERT_TRUE(table.unmap(GuestPhysAddr(0x5000), 0x1000).ok());
    EXPECT_TRUE(rig.unit.dma(kEdu, 0x5000, false).ok) << "still cached: the flush is needed";
    ASSERT_TRUE(rig.driver.flush(3, GuestPhysAddr(0x5000), 0x1000).ok());
    EXPECT_FALSE(rig.unit.dma(kEdu, 0x5000, false).ok);
    EXPECT_EQ(rig.unit.dma(kEdu, 0x9000, false).address, 0x4000'9000u);
    EXPECT_EQ(rig.unit.iotlb_hits, 2u) << "the page outside the flushed range stayed cached";
    ASSERT_TRUE(rig.driver.flush_domain(3).ok());
    EXPECT_EQ(rig.unit.iotlb_size(), 0u);
    EXPECT_TRUE(rig.driver.flush(3, GuestPhysAddr(0), 0).ok()) << "empty flush: nothing to do";
}

TEST(AmdViDriver, AttachRefusesWhatItCannotDo) {
    Rig rig;
    rig.init();
    IoTable table = rig.make_domain(0x4000'0000, 0x1000);
    Status zero = rig.driver.attach(kEdu, rig.domain(0, table));
    ASSERT_FALSE(zero.ok());
    EXPECT_STREQ(zero.error().message(),
                 "attach of 00:04.0: domain id 0 is reserved for blocked devices");
    Rig four;  // HATS 0: four levels
    four.unit.set_extended_features(0);
    four.init();
    iommu::IoDomain deep = four.domain(1, table);
    deep.levels = 5;
    Status too_deep = four.driver.attach(kEdu, deep);
    ASSERT_FALSE(too_deep.ok());
    EXPECT_EQ(too_deep.error().code(), ErrorCode::kUnsupported);
    EXPECT_STREQ(too_deep.error().message(),
                 "attach of 00:04.0: an I/O page table of 5 levels, this unit walks at most 4 "
                 "(EFR HATS)");
    Status beyond = rig.driver.attach(DeviceId::from(1, 0, 0), rig.domain(1, table));
    ASSERT_FALSE(beyond.ok());
    EXPECT_STREQ(beyond.error().message(),
                 "device 01:00.0 (id 0x100) is beyond the 256-entry device table");
}

TEST(AmdViDriver, CommandRingWrapsAround) {
    for (int mode = 0; mode < 4; ++mode) {
        bool quirk = (mode & 1) != 0;
        Rig rig;
        rig.unit.qemu_head_quirk = quirk;
        rig.unit.commands_per_kick = (mode & 2) != 0 ? 3 : 0;  // asynchronous: the ring fills
        rig.init();
        usize before = rig.unit.processed.size();
        // 700 flushes and waits: the 256-entry ring wraps several times, in batches that
        // end anywhere.
        for (u16 i = 0; i < 350; ++i) {
            ASSERT_TRUE(
                rig.driver.flush(static_cast<u16>(i + 1), GuestPhysAddr(i * 0x1000ull), 0x1000)
                    .ok());
        }
        std::vector<Command> batch;
        for (u16 i = 0; i < 600; ++i) {
            batch.push_back(invalidate_iommu_pages(7, i * 0x2000ull, 0x1000));
        }
        Status executed = rig.driver.execute(batch.data(), batch.size());
        ASSERT_TRUE(executed.ok()) << "mode " << mode << ": " << executed.error().message();
        const auto& done = rig.unit.processed;
        ASSERT_EQ(done.size(), before + 700 + 601);
        for (u16 i = 0; i < 350; ++i) {
            PageInvalidation p = decode_invalidate_iommu_pages(done[before + 2 * i]);
            ASSERT_EQ(p.domain_id, i + 1);
            ASSERT_EQ(p.first, i * 0x1000ull);
            ASSERT_EQ(command_opcode(done[before + 2 * i + 1]), kWait);
        }
        for (u16 i = 0; i < 600; ++i) {
            ASSERT_EQ(decode_invalidate_iommu_pages(done[before + 700 + i]).first, i * 0x2000ull);
        }
        EXPECT_TRUE(rig.unit.violations.empty()) << rig.unit.violations[0];
        u64 tail = rig.unit.reg(mmio::kCommandTail);
        EXPECT_LT(tail, 256u * 16);
        EXPECT_EQ(tail, ((2 + 700 + 601) * 16u) % (256 * 16)) << "mode " << mode;
    }
}

TEST(AmdViDriver, CompletionWaitThatNeverCompletesTimesOut) {
    Rig rig;
    rig.init();
    rig.unit.stalled = true;
    u64 start = rig.clock.now;
    Status status = rig.driver.flush_domain(3);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kBusy);
    std::string message = status.error().message();
    EXPECT_EQ(message.rfind("AMD-Vi completion wait 2 timed out after 10000000 ns: store "
                            "0x400008 holds 0x1 (command head 0x20, tail 0x40, status 0x18)",
                            0),
              0u)
        << message;
    EXPECT_GE(rig.clock.now - start, 10'000'000u);
    EXPECT_LT(rig.clock.now - start, 10'100'000u) << "bounded";
    // Once the unit catches up, the driver works again (sequence numbers stay unique).
    rig.unit.resume();
    EXPECT_TRUE(rig.driver.flush_domain(3).ok());
    EXPECT_EQ(rig.unit.read(HostPhysAddr(kCompletionStore)), 3u);
}

TEST(AmdViDriver, FullRingThatNeverDrainsTimesOut) {
    Rig rig;
    rig.init();
    rig.unit.stalled = true;
    std::vector<Command> batch(300, invalidate_iommu_pages_all(1));
    Status status = rig.driver.submit(batch.data(), batch.size());
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kBusy);
    EXPECT_EQ(std::string(status.error().message())
                  .rfind("AMD-Vi command buffer full: head 0x20 "
                         "did not move in ",
                         0),
              0u)
        << status.error().message();
    EXPECT_TRUE(rig.unit.violations.empty());
}

TEST(AmdViDriver, IllegalCommandStopsTheUnitAndIsReported) {
    Rig rig;
    rig.init();
    rig.unit.illegal_opcodes.insert(kInvalidatePages);
    Status status = rig.driver.flush_domain(9);
    ASSERT_FALSE(status.ok());
    iommu::IommuEvent events[4];
    usize count = 0;
    ASSERT_TRUE(rig.driver.poll_events(events, 4, &count).ok());
    ASSERT_EQ(count, 1u);
    EXPECT_EQ(events[0].kind, iommu::EventKind::kCommandError);
    EXPECT_EQ(events[0].text.view(), "ILLEGAL_COMMAND_ERROR command at 0x200020");
    EXPECT_NE(std::string(status.error().message()).find("status 0x8)"), std::string::npos)
        << "CmdBufRun clear: " << status.error().message();
}

TEST(AmdViDriver, EventsDrainInOrderAcrossTheWrap) {
    Rig rig;
    rig.init();
    u32 next = 0;
    u32 seen = 0;
    // 700 events through a 256-entry log, in bursts of up to 200, drained into arrays of
    // various sizes.
    for (int round = 0; round < 7; ++round) {
        u32 burst = 50 + (round * 37) % 151;
        for (u32 i = 0; i < burst; ++i, ++next) {
            ASSERT_TRUE(
                rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 3,
                                                 0x100000 + next * 0x1000ull, event_flag::kWrite)));
        }
        for (;;) {
            iommu::IommuEvent events[13];
            usize count = 0;
            ASSERT_TRUE(rig.driver.poll_events(events, 13, &count).ok());
            for (usize i = 0; i < count; ++i, ++seen) {
                ASSERT_EQ(events[i].kind, iommu::EventKind::kDmaFault);
                ASSERT_EQ(events[i].address, 0x100000 + seen * 0x1000ull);
                ASSERT_EQ(events[i].domain_id, 3);
                ASSERT_EQ(events[i].device, kEdu);
                ASSERT_TRUE(events[i].write);
            }
            if (count < 13) {
                break;
            }
        }
        ASSERT_EQ(seen, next);
        EXPECT_EQ(rig.unit.reg(mmio::kEventHead), rig.unit.reg(mmio::kEventTail));
    }
    EXPECT_GT(next, 256u);
    EXPECT_TRUE(rig.unit.violations.empty());

    rig.unit.inject_event(
        make_event(EventCode::kIoPageFault, kEdu, 3, 0x7000000, event_flag::kWrite));
    iommu::IommuEvent one;
    usize count = 0;
    ASSERT_TRUE(rig.driver.poll_events(&one, 1, &count).ok());
    ASSERT_EQ(count, 1u);
    EXPECT_EQ(one.text.view(),
              "IO_PAGE_FAULT device 00:04.0 domain 3 address 0x7000000 write, page not present");
}

// QEMU 7.2 never advances the event log tail register: entries are found by content.
TEST(AmdViDriver, EventsAreFoundWhenTheTailRegisterStaysBehind) {
    Rig rig;
    rig.init();
    rig.unit.qemu_stale_event_tail = true;
    for (u32 i = 0; i < 5; ++i) {
        ASSERT_TRUE(rig.unit.inject_event(
            make_event(EventCode::kIoPageFault, kEdu, 3, 0x1000000 + i * 0x1000ull, 0)));
    }
    EXPECT_EQ(rig.unit.reg(mmio::kEventTail), 0u);
    iommu::IommuEvent events[8];
    usize count = 0;
    ASSERT_TRUE(rig.driver.poll_events(events, 3, &count).ok());
    ASSERT_EQ(count, 3u);
    EXPECT_EQ(events[2].address, 0x1002000u);
    ASSERT_TRUE(rig.driver.poll_events(events, 8, &count).ok());
    ASSERT_EQ(count, 2u);
    EXPECT_EQ(events[0].address, 0x1003000u);
    EXPECT_EQ(events[1].address, 0x1004000u);
    // Nothing new: nothing reported (consumed entries were cleared).
    ASSERT_TRUE(rig.driver.poll_events(events, 8, &count).ok());
    EXPECT_EQ(count, 0u);
    ASSERT_TRUE(rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 3, 0x2000000, 0)));
    ASSERT_TRUE(rig.driver.poll_events(events, 8, &count).ok());
    ASSERT_EQ(count, 1u);
    EXPECT_EQ(events[0].address, 0x2000000u);
    EXPECT_TRUE(rig.unit.violations.empty());

    // A successor (live update) finds the head ahead of the stale tail and goes on.
    iommu::IommuState state;
    ASSERT_TRUE(rig.driver.describe(&state).ok());
    AmdViDriver successor(rig.unit, rig.unit, rig.clock);
    ASSERT_TRUE(successor.adopt(state).ok());
    ASSERT_TRUE(successor.poll_events(events, 8, &count).ok());
    EXPECT_EQ(count, 0u);
    ASSERT_TRUE(rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 3, 0x3000000, 0)));
    ASSERT_TRUE(successor.poll_events(events, 8, &count).ok());
    ASSERT_EQ(count, 1u);
    EXPECT_EQ(events[0].address, 0x3000000u);
}

TEST(AmdViDriver, DrainStopsAtCapacityAndKeepsTheRest) {
    Rig rig;
    rig.init();
    for (u32 i = 0; i < 10; ++i) {
        rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 1, i * 0x1000ull, 0));
    }
    Event events[4];
    EventDrain drain;
    ASSERT_TRUE(rig.driver.drain_events(events, 4, &drain).ok());
    EXPECT_EQ(drain.count, 4u);
    EXPECT_EQ(drain.remaining, 6u);
    EXPECT_FALSE(drain.overflowed);
    EXPECT_EQ(events[3].address, 0x3000u);
    ASSERT_TRUE(rig.driver.drain_events(events, 4, &drain).ok());
    EXPECT_EQ(events[0].address, 0x4000u);
    EXPECT_EQ(drain.remaining, 2u);
    // Entries the driver consumed are cleared in memory.
    EXPECT_EQ(rig.unit.read(HostPhysAddr(kEventLog)), 0u);
}

TEST(AmdViDriver, EventLogOverflowIsReportedAndTheLogRestarted) {
    Rig rig;
    rig.init();
    u32 accepted = 0;
    while (rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 1, accepted, 0))) {
        ++accepted;
    }
    EXPECT_EQ(accepted, 255u) << "one slot stays empty";
    EXPECT_NE(rig.unit.reg(mmio::kStatus) & status::kEventOverflow, 0u);
    std::vector<Event> events(300);
    EventDrain drain;
    ASSERT_TRUE(rig.driver.drain_events(events.data(), events.size(), &drain).ok());
    EXPECT_EQ(drain.count, 255u);
    EXPECT_TRUE(drain.overflowed);
    EXPECT_EQ(rig.unit.reg(mmio::kStatus) & status::kEventOverflow, 0u) << "cleared";
    EXPECT_EQ(rig.unit.reg(mmio::kEventHead), 0u);
    EXPECT_EQ(rig.unit.reg(mmio::kEventTail), 0u);
    EXPECT_NE(rig.unit.reg(mmio::kControl) & control::kEventLogEnable, 0u);
    EXPECT_EQ(rig.unit.translation_disables, 0) << "restarting the log keeps translation on";
    // Logging works again.
    ASSERT_TRUE(rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 1, 0x42, 0)));
    ASSERT_TRUE(rig.driver.drain_events(events.data(), 1, &drain).ok());
    EXPECT_EQ(events[0].address, 0x42u);
}

TEST(AmdViDriver, PollEventsReportsAnOverflowAfterTheEntriesBeforeIt) {
    Rig rig;
    rig.init();
    u32 accepted = 0;
    while (rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 1, accepted, 0))) {
        ++accepted;
    }
    // The caller's array holds all but the overflow report: that comes first next time.
    std::vector<iommu::IommuEvent> events(accepted);
    usize count = 0;
    ASSERT_TRUE(rig.driver.poll_events(events.data(), events.size(), &count).ok());
    ASSERT_EQ(count, accepted);
    EXPECT_EQ(events.back().kind, iommu::EventKind::kDmaFault);
    ASSERT_TRUE(rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 1, 0x42, 0)));
    ASSERT_TRUE(rig.driver.poll_events(events.data(), events.size(), &count).ok());
    ASSERT_EQ(count, 2u);
    EXPECT_EQ(events[0].kind, iommu::EventKind::kLogOverflow);
    EXPECT_EQ(events[0].device, DeviceId::from(0, 3, 0)) << "names the unit";
    EXPECT_NE(std::string(events[0].text.view()).find("events were lost"), std::string::npos);
    EXPECT_EQ(events[1].address, 0x42u);
    // Reported once.
    ASSERT_TRUE(rig.driver.poll_events(events.data(), events.size(), &count).ok());
    EXPECT_EQ(count, 0u);
}

TEST(AmdViDriver, DescribeNamesEverythingToPreserve) {
    Rig rig;
    rig.init();
    iommu::IommuState state;
    ASSERT_TRUE(rig.driver.describe(&state).ok());
    EXPECT_EQ(state.vendor, iommu::Vendor::kAmdVi);
    EXPECT_EQ(state.unit.id, DeviceId::from(0, 3, 0));
    EXPECT_EQ(state.register_base, HostPhysAddr(0xfed80000));
    EXPECT_EQ(state.root_table, HostPhysRange::unchecked(HostPhysAddr(kDeviceTable), 0x2000));
    EXPECT_EQ(state.command_queue, HostPhysRange::unchecked(HostPhysAddr(kCommandBuffer), 0x1000));
    EXPECT_EQ(state.event_log, HostPhysRange::unchecked(HostPhysAddr(kEventLog), 0x1000));
    EXPECT_EQ(state.completion_store, HostPhysRange::unchecked(HostPhysAddr(kCompletionStore), 8));
    EXPECT_EQ(state.completion_sequence, 1u);
    HostPhysRange ranges[iommu::IommuState::kMaxPreservedRanges];
    EXPECT_EQ(state.preserved_ranges(ranges, 4), 4u);
    EXPECT_EQ(ranges[3], state.completion_store);
}

// A live update: the successor adopts the running unit from the described state without
// writing a base or the control register, and carries on where the predecessor stopped.
TEST(AmdViDriver, AdoptTakesOverWithoutStoppingTranslation) {
    Rig rig;
    rig.init();
    IoTable table = rig.make_domain(0x4000'0000, 0x10'0000);
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, table)).ok());
    for (int i = 0; i < 90; ++i) {  // move the ring positions away from zero
        ASSERT_TRUE(rig.driver.flush_domain(3).ok());
    }
    rig.unit.inject_event(make_event(EventCode::kIoPageFault, kEdu, 3, 0x123000, 0));
    iommu::IommuState state;
    ASSERT_TRUE(rig.driver.describe(&state).ok());

    rig.unit.register_writes.clear();
    AmdViDriver successor(rig.unit, rig.unit, rig.clock);
    Status adopted = successor.adopt(state);
    ASSERT_TRUE(adopted.ok()) << adopted.error().message();
    for (const auto& w : rig.unit.register_writes) {
        EXPECT_EQ(w.offset, mmio::kCommandTail) << "adopt wrote " << mmio::register_name(w.offset);
    }
    EXPECT_TRUE(rig.unit.violations.empty());
    EXPECT_EQ(rig.unit.translation_disables, 0);
    EXPECT_EQ(rig.unit.dma(kEdu, 0x1000, true).address, 0x4000'1000u);

    // The successor continues the rings and the completion sequence.
    EXPECT_EQ(rig.unit.read(HostPhysAddr(kCompletionStore)), state.completion_sequence + 1);
    ASSERT_TRUE(successor.block(kEdu).ok());
    EXPECT_FALSE(rig.unit.dma(kEdu, 0x1000, true).ok);
    iommu::IommuEvent event;
    usize count = 0;
    ASSERT_TRUE(successor.poll_events(&event, 1, &count).ok());
    ASSERT_EQ(count, 1u);
    EXPECT_EQ(event.address, 0x123000u);
    iommu::IommuState again;
    ASSERT_TRUE(successor.describe(&again).ok());
    EXPECT_EQ(again.root_table, state.root_table);
    EXPECT_GT(again.completion_sequence, state.completion_sequence);
}

// Message-signalled interrupts a device can forge by DMA to 0xFEE00000: fixed vector
// 0x31, arbitrated, SMI, NMI, INIT, ExtINT.
constexpr u32 kForgedInterrupts[] = {0x31, 0x131, 0x200, 0x400, 0x500, 0x700};

void expect_interrupts_refused(FakeAmdVi& unit, DeviceId device, const char* when) {
    for (u32 data : kForgedInterrupts) {
        EXPECT_FALSE(unit.interrupt(device, data))
            << when << ": " << device.text().view() << " data " << std::hex << data;
    }
}

TEST(AmdViDriver, NoDeviceInterruptReachesTheCpus) {
    Rig rig;
    // The model delivers interrupts of an entry with IV=0: the check can fail.
    ASSERT_TRUE(rig.unit.interrupt(kEdu, 0x31));
    rig.init();
    for (u32 id = 0; id < test_config().device_table.entries; ++id) {
        expect_interrupts_refused(rig.unit, DeviceId(static_cast<u16>(id)), "blocked at init");
    }
    IoTable table = rig.make_domain(0x4000'0000, 0x10'0000);
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, table)).ok());
    expect_interrupts_refused(rig.unit, kEdu, "assigned");
    EXPECT_TRUE(rig.unit.dma(kEdu, 0x1234, true).ok) << "while its DMA is translated";
    ASSERT_TRUE(rig.driver.block(kEdu).ok());
    expect_interrupts_refused(rig.unit, kEdu, "blocked again");
}

// A build before interrupt remapping left word 2 zero in every entry, and set no Coherent.
// Its successor adopts the unit without touching either (the older build must be able to
// take the unit back on a rollback, and it refuses entries with word 2 set), then, once
// no rollback can happen, closes the entries while the unit runs on, flushes what the
// unit cached, and adds the control bits.
TEST(AmdViDriver, FinishAdoptionRefusesTheInterruptsAnOlderBuildLetThrough) {
    Rig rig;
    rig.init();
    IoTable table = rig.make_domain(0x4000'0000, 0x10'0000);
    ASSERT_TRUE(rig.driver.attach(kEdu, rig.domain(3, table)).ok());
    const DeviceId other = DeviceId::from(0, 5, 0);
    const u32 entries = test_config().device_table.entries;
    for (u32 id = 0; id < entries; ++id) {
        rig.unit.write(HostPhysAddr(kDeviceTable + id * 32u + 16), 0);
    }
    rig.unit.write(mmio::kControl, control::kIommuEnable | control::kCommandBufferEnable |
                                       control::kEventLogEnable);
    // The unit caches the old entries: only a flush makes the change count.
    ASSERT_TRUE(rig.driver.invalidate_everything().ok());
    for (DeviceId device : {kEdu, other}) {
        ASSERT_TRUE(rig.unit.interrupt(device, 0x31)) << "as an older build left it";
    }
    EXPECT_TRUE(rig.unit.dma(kEdu, 0x1000, true).ok);
    iommu::IommuState state;
    ASSERT_TRUE(rig.driver.describe(&state).ok());

    AmdViDriver successor(rig.unit, rig.unit, rig.clock);
    Status adopted = successor.adopt(state);
    ASSERT_TRUE(adopted.ok()) << adopted.error().message();
    EXPECT_EQ(rig.unit.read(HostPhysAddr(kDeviceTable + kEdu.raw * 32u + 16)), 0u)
        << "adopt() leaves the entries as the previous build can take them back";
    EXPECT_EQ(rig.unit.reg(mmio::kControl) & control::kCoherent, 0u);

    Status finished = successor.finish_adoption(0x01);  // HtTunEn
    ASSERT_TRUE(finished.ok()) << finished.error().message();
    EXPECT_EQ(successor.interrupts_closed_at_adoption(), entries);
    EXPECT_EQ(successor.control_bits_added(), control::kCoherent | control::kHtTunnelEnable);
    EXPECT_EQ(rig.unit.reg(mmio::kControl),
              control::kCoherent | control::kHtTunnelEnable | control::kIommuEnable |
                  control::kCommandBufferEnable | control::kEventLogEnable);
    expect_interrupts_refused(rig.unit, kEdu, "adopted");
    expect_interrupts_refused(rig.unit, other, "adopted");
    EXPECT_EQ(rig.unit.dma(kEdu, 0x1000, true).address, 0x4000'1000u) << "DMA never stopped";
    EXPECT_EQ(rig.unit.translation_disables, 0);
    EXPECT_TRUE(rig.unit.violations.empty());
    auto fields = decode_device_table_entry(*successor.read_device_table_entry(kEdu));
    ASSERT_TRUE(fields.ok());
    EXPECT_TRUE(fields->refuses_interrupts());
    EXPECT_EQ(fields->mode, 4) << "the rest of the entry untouched";

    // Adopting a table that refuses them already changes nothing.
    AmdViDriver third(rig.unit, rig.unit, rig.clock);
    ASSERT_TRUE(successor.describe(&state).ok());
    ASSERT_TRUE(third.adopt(state).ok());
    ASSERT_TRUE(third.finish_adoption(0x01).ok());
    EXPECT_EQ(third.interrupts_closed_at_adoption(), 0u);
    EXPECT_EQ(third.control_bits_added(), 0u);
}

TEST(AmdViDriver, AdoptRefusesAUnitThatDoesNotMatch) {
    Rig rig;
    rig.init();
    iommu::IommuState state;
    ASSERT_TRUE(rig.driver.describe(&state).ok());
    AmdViDriver successor(rig.unit, rig.unit, rig.clock);

    iommu::IommuState moved = state;
    moved.root_table = HostPhysRange::unchecked(HostPhysAddr(0x50'0000), 0x2000);
    Status status = successor.adopt(moved);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kCorrupt);
    EXPECT_STREQ(status.error().message(),
                 "AMD-Vi device table base register holds 0x100001, the stream says 0x500001");
    EXPECT_FALSE(successor.running());

    iommu::IommuState smaller = state;
    smaller.event_log = HostPhysRange::unchecked(HostPhysAddr(kEventLog), 0x2000);
    EXPECT_STREQ(successor.adopt(smaller).error().message(),
                 "AMD-Vi event log base register holds 0x800000000300000, the stream says "
                 "0x900000000300000");

    iommu::IommuState vtd = state;
    vtd.vendor = iommu::Vendor::kVtd;
    EXPECT_FALSE(successor.adopt(vtd).ok());

    rig.unit.write(mmio::kControl, control::kCommandBufferEnable);  // translation off
    Status stopped = successor.adopt(state);
    ASSERT_FALSE(stopped.ok());
    EXPECT_STREQ(stopped.error().message(),
                 "AMD-Vi control 0x1000: the unit is not running (IommuEn, CmdBufEn and "
                 "EventLogEn expected), nothing to adopt");
}

TEST(AmdViDriver, AdoptWaitsBoundedForQueuedCommands) {
    Rig rig;
    rig.init();
    rig.unit.stalled = true;
    Command queued = invalidate_iommu_pages_all(5);
    ASSERT_TRUE(rig.driver.submit(&queued, 1).ok());  // the predecessor's last command
    iommu::IommuState state;
    ASSERT_TRUE(rig.driver.describe(&state).ok());
    AmdViDriver successor(rig.unit, rig.unit, rig.clock);
    Status status = successor.adopt(state, 1'000'000);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kBusy);
    EXPECT_STREQ(status.error().message(),
                 "AMD-Vi commands queued by the previous build did not complete in 1000000 ns: "
                 "head 0x20, tail 0x30");
    rig.unit.resume();
    EXPECT_TRUE(successor.adopt(state).ok());
    EXPECT_EQ(command_opcode(rig.unit.processed.back()), kWait);
}

}  // namespace
}  // namespace relay::amd_vi
