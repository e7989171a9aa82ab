// Instantiates the header-only IoPageTable in a freestanding translation unit, so that
// `bazel build //...` proves the template compiles with the hypervisor's flags and
// freestanding_symbols_test proves it needs nothing hosted. Not linked into anything.
#include "iommu/io_page_table.hpp"

namespace relay::amd_vi {
namespace {

class StaticTableMemory {
public:
    Result<HostPhysAddr> allocate_table() {
        if (used_ == kTables) {
            return make_error(ErrorCode::kOutOfMemory, "no table left");
        }
        return HostPhysAddr(reinterpret_cast<uptr>(tables_[used_++]));
    }
    void free_table(HostPhysAddr) {}
    u64 read_entry(HostPhysAddr table, usize index) {
        return reinterpret_cast<const u64*>(table.raw())[index];
    }
    void write_entry(HostPhysAddr table, usize index, u64 value) {
        reinterpret_cast<volatile u64*>(table.raw())[index] = value;
    }

private:
    static constexpr usize kTables = 8;
    alignas(4096) u64 tables_[kTables][512] = {};
    usize used_ = 0;
};

}  // namespace

template class IoPageTable<StaticTableMemory>;

// Every member template, with the callables the hypervisor would pass.
Status freestanding_io_page_table_instance(HostPhysRange allowed) {
    static StaticTableMemory memory;
    RELAY_TRY_ASSIGN(table, (IoPageTable<StaticTableMemory>::create(memory, 4)));
    usize tables = 0;
    table.for_each_table([&](HostPhysAddr) { ++tables; });
    table.for_each_mapping([&](GuestPhysAddr, HostPhysAddr, u64, IoPermissions) { ++tables; });
    return table.validate(&allowed, 1, [](HostPhysAddr, u8) { return ok_status(); });
}

}  // namespace relay::amd_vi
