// Hostile blobs: every structural defect becomes a clear error, never a crash (this test
// also runs under ASan+UBSan with --config=sanitize).
#include "hv/config/device_tree_blob.hpp"

#include <libfdt.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "hv/config/big_endian.hpp"
#include "hv/config/device_tree_node.hpp"
#include "hv/config/testing/test_tree.hpp"

namespace relay::hyperlaunch {
namespace {

using testing::parse;
using testing::ParseRun;
using testing::read_runfile;
using testing::TestTree;

constexpr u32 kTokenBeginNode = 1;
constexpr u32 kTokenEndNode = 2;
constexpr u32 kTokenProperty = 3;
constexpr u32 kTokenNop = 4;
constexpr u32 kTokenEnd = 9;

std::string fmt_hex(u32 value) {
    char text[16];
    std::snprintf(text, sizeof(text), "%#x", value);
    return value == 0 ? "0x0" : text;
}

void store_big_endian_u32(u8* bytes, u32 value) {
    bytes[0] = static_cast<u8>(value >> 24);
    bytes[1] = static_cast<u8>(value >> 16);
    bytes[2] = static_cast<u8>(value >> 8);
    bytes[3] = static_cast<u8>(value);
}

// The compiled default example as raw bytes, with helpers to find and patch its parts.
class RawBlob {
public:
    RawBlob() : tree_(TestTree::from_bytes(read_runfile("examples/default.dtb"))) {}

    u32 header(usize offset) { return load_big_endian_u32(tree_.data() + offset); }
    void set_header(usize offset, u32 value) { store_big_endian_u32(tree_.data() + offset, value); }
    u32 structure_offset() { return header(8); }
    u32 strings_offset() { return header(12); }
    u32 strings_size() { return header(32); }
    u32 structure_size() { return header(36); }

    // Offset (within the structure block) of the n-th token of `kind`, found by walking
    // the (still valid) example.
    u32 find_token(u32 kind, int nth = 0) {
        const u8* structure = tree_.data() + structure_offset();
        u32 offset = 0;
        while (offset < structure_size()) {
            u32 token = load_big_endian_u32(structure + offset);
            if (token == kind && nth-- == 0) {
                return offset;
            }
            switch (token) {
                case kTokenBeginNode: {
                    u32 end = offset + 4;
                    while (structure[end] != 0) {
                        ++end;
                    }
                    offset = (end + 1 + 3) & ~3u;
                    break;
                }
                case kTokenProperty:
                    offset = (offset + 12 + load_big_endian_u32(structure + offset + 4) + 3) & ~3u;
                    break;
                default:
                    offset += 4;
            }
        }
        ADD_FAILURE() << "token " << kind << " #" << nth << " not found";
        return 0;
    }

    void set_structure_word(u32 offset, u32 value) {
        store_big_endian_u32(tree_.data() + structure_offset() + offset, value);
    }

    Status verify() const { return verify_device_tree_blob(tree_.blob()); }
    TestTree& tree() { return tree_; }

private:
    TestTree tree_;
};

void expect_error(const Status& status, ErrorCode code, const std::string& message) {
    ASSERT_FALSE(status.ok()) << "accepted; expected: " << message;
    EXPECT_EQ(std::string(status.error().message()), message);
    EXPECT_EQ(status.error().code(), code) << error_code_name(status.error().code());
}

TEST(DeviceTreeBlob, ExampleIsValid) {
    RawBlob blob;
    Status status = blob.verify();
    EXPECT_TRUE(status.ok()) << status.error().message();
}

TEST(DeviceTreeBlob, Empty) {
    expect_error(verify_device_tree_blob({}), ErrorCode::kTruncated,
                 "device tree: 0 bytes is shorter than the 40-byte header");
}

TEST(DeviceTreeBlob, ShorterThanTheHeader) {
    RawBlob blob;
    blob.tree().set_size(39);
    expect_error(blob.verify(), ErrorCode::kTruncated,
                 "device tree: 39 bytes is shorter than the 40-byte header");
}

TEST(DeviceTreeBlob, Misaligned) {
    RawBlob blob;
    Status status = verify_device_tree_blob(blob.tree().blob().subspan(4));
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(status.error().message()).find("is not 8-byte aligned"),
              std::string::npos)
        << status.error().message();
}

TEST(DeviceTreeBlob, BadMagic) {
    RawBlob blob;
    blob.set_header(0, 0xDEADBEEF);
    expect_error(blob.verify(), ErrorCode::kBadMagic,
                 "device tree: magic is 0xdeadbeef, expected 0xd00dfeed (multiboot module 0 "
                 "must be a compiled device tree)");
}

TEST(DeviceTreeBlob, OldVersion) {
    RawBlob blob;
    blob.set_header(20, 16);
    expect_error(blob.verify(), ErrorCode::kVersionMismatch,
                 "device tree: version 16 (last compatible 16); Relay reads version 17 blobs as "
                 "dtc writes them");
}

TEST(DeviceTreeBlob, Truncated) {
    RawBlob blob;
    u32 total = blob.header(4);
    blob.tree().set_size(100);
    expect_error(
        blob.verify(), ErrorCode::kTruncated,
        "device tree: header says " + std::to_string(total) + " bytes, the module holds 100 bytes");
}

TEST(DeviceTreeBlob, TotalSizeAbsurd) {
    RawBlob blob;
    blob.set_header(4, 0xFFFFFFFF);
    ASSERT_FALSE(blob.verify().ok());
    EXPECT_EQ(blob.verify().error().code(), ErrorCode::kTruncated);
}

TEST(DeviceTreeBlob, StructureBlockOutside) {
    RawBlob blob;
    blob.set_header(8, 0xFFFFFFF0);
    Status status = blob.verify();
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(std::string(status.error().message()).find("structure block [0xfffffff0"),
              std::string::npos)
        << status.error().message();
}

TEST(DeviceTreeBlob, StructureSizeOverflows) {
    RawBlob blob;
    blob.set_header(36, 0xFFFFFFFC);
    ASSERT_FALSE(blob.verify().ok());
    EXPECT_EQ(blob.verify().error().code(), ErrorCode::kCorrupt);
}

TEST(DeviceTreeBlob, StructureSizeNotWholeTokens) {
    RawBlob blob;
    blob.set_header(36, blob.structure_size() - 2);
    ASSERT_FALSE(blob.verify().ok());
    EXPECT_NE(std::string(blob.verify().error().message()).find("misaligned"), std::string::npos);
}

TEST(DeviceTreeBlob, StringsBlockOutside) {
    RawBlob blob;
    blob.set_header(32, 0x10000);
    Status status = blob.verify();
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(std::string(status.error().message()).find("strings block"), std::string::npos)
        << status.error().message();
}

TEST(DeviceTreeBlob, ReserveMapOutside) {
    RawBlob blob;
    blob.set_header(16, 0x7FFFFFF8);
    ASSERT_FALSE(blob.verify().ok());
    EXPECT_NE(std::string(blob.verify().error().message()).find("memory reservation map"),
              std::string::npos);
}

TEST(DeviceTreeBlob, UnknownToken) {
    RawBlob blob;
    u32 property = blob.find_token(kTokenProperty);
    blob.set_structure_word(property, 0x7);
    expect_error(blob.verify(), ErrorCode::kCorrupt,
                 "device tree: unknown token 0x7 at structure offset " + fmt_hex(property));
}

TEST(DeviceTreeBlob, HugePropertyLength) {
    RawBlob blob;
    u32 property = blob.find_token(kTokenProperty);
    blob.set_structure_word(property + 4, 0xFFFFFFF0);
    expect_error(blob.verify(), ErrorCode::kCorrupt,
                 "device tree: property at structure offset " + fmt_hex(property) +
                     ": 4294967280-byte value runs past the " +
                     std::to_string(blob.structure_size()) + "-byte structure block");
}

TEST(DeviceTreeBlob, PropertyNameOffsetOutsideTheStrings) {
    RawBlob blob;
    u32 property = blob.find_token(kTokenProperty);
    blob.set_structure_word(property + 8, 0xFFFF);
    expect_error(blob.verify(), ErrorCode::kCorrupt,
                 "device tree: property at structure offset " + fmt_hex(property) +
                     ": name offset 0xffff is outside the " + std::to_string(blob.strings_size()) +
                     "-byte strings block");
}

TEST(DeviceTreeBlob, PropertyNameNotTerminated) {
    RawBlob blob;
    // The last string of the block loses its terminator.
    blob.tree().data()[blob.strings_offset() + blob.strings_size() - 1] = 'x';
    Status status = blob.verify();
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(std::string(status.error().message()).find("is not terminated"), std::string::npos)
        << status.error().message();
}

TEST(DeviceTreeBlob, NodeNameNotTerminated) {
    RawBlob blob;
    // /chosen begins at structure offset 8 ("chosen" follows its token); cut the block
    // in the middle of the name.
    u32 chosen = blob.find_token(kTokenBeginNode, 1);
    blob.set_header(36, chosen + 8);
    expect_error(
        blob.verify(), ErrorCode::kCorrupt,
        "device tree: node name at structure offset " + fmt_hex(chosen) + " is not terminated");
}

TEST(DeviceTreeBlob, NoEndToken) {
    RawBlob blob;
    u32 end = blob.find_token(kTokenEnd);
    blob.set_structure_word(end, kTokenNop);
    expect_error(blob.verify(), ErrorCode::kCorrupt,
                 "device tree: structure block ends at " + fmt_hex(end + 4) + " without FDT_END");
}

TEST(DeviceTreeBlob, EndInsideANode) {
    RawBlob blob;
    u32 end = blob.find_token(kTokenEnd);
    blob.set_structure_word(end - 4, kTokenEnd);  // the root's FDT_END_NODE
    expect_error(blob.verify(), ErrorCode::kCorrupt,
                 "device tree: FDT_END inside an open node at " + fmt_hex(end - 4));
}

TEST(DeviceTreeBlob, EndNodeWithoutNode) {
    RawBlob blob;
    u32 end = blob.find_token(kTokenEnd);
    blob.set_structure_word(end, kTokenEndNode);
    expect_error(blob.verify(), ErrorCode::kCorrupt,
                 "device tree: FDT_END_NODE outside any node at structure offset " + fmt_hex(end));
}

TEST(DeviceTreeBlob, SecondRoot) {
    RawBlob blob;
    u32 end = blob.find_token(kTokenEnd);
    blob.set_structure_word(end, kTokenBeginNode);
    expect_error(blob.verify(), ErrorCode::kCorrupt,
                 "device tree: a second top-level node starts at structure offset " + fmt_hex(end));
}

// Hostile shapes that a patch of the example cannot make, written with libfdt's
// sequential-write functions (which do not police structure).
class SequentialTree {
public:
    SequentialTree() : storage_(8192, 0) {
        EXPECT_EQ(fdt_create(data(), 8 * 8192), 0);
        EXPECT_EQ(fdt_finish_reservemap(data()), 0);
    }
    SequentialTree& begin(const std::string& name) {
        EXPECT_EQ(fdt_begin_node(data(), name.c_str()), 0);
        return *this;
    }
    SequentialTree& end() {
        EXPECT_EQ(fdt_end_node(data()), 0);
        return *this;
    }
    SequentialTree& property(const std::string& name, const std::string& value) {
        EXPECT_EQ(
            fdt_property(data(), name.c_str(), value.c_str(), static_cast<int>(value.size() + 1)),
            0);
        return *this;
    }
    SequentialTree& property_u32(const std::string& name, u32 value) {
        EXPECT_EQ(fdt_property_u32(data(), name.c_str(), value), 0);
        return *this;
    }
    // Opens / { chosen { hypervisor { compatible = "hypervisor,xen"; ...
    SequentialTree& open_hypervisor() {
        return begin("")
            .begin("chosen")
            .begin("hypervisor")
            .property("compatible", "hypervisor,xen");
    }
    // ... d { a minimal valid domain } ...
    SequentialTree& domain(const std::string& name, u32 domid) {
        begin(name).property("compatible", "xen,domain").property_u32("domid", domid);
        u8 memory[8] = {0, 0, 0, 0, 0, 0, 0x40, 0};
        EXPECT_EQ(fdt_property(data(), "memory", memory, 8), 0);
        begin("kernel").property("compatible", "module,kernel").property_u32("mb-index", 1);
        return end().end();
    }
    // ... } } }
    SequentialTree& close_hypervisor() { return end().end().end(); }
    TestTree finish() {
        EXPECT_EQ(fdt_finish(data()), 0);
        return TestTree::from_bytes(std::span<const u8>(
            reinterpret_cast<const u8*>(storage_.data()), fdt_totalsize(data())));
    }

private:
    void* data() { return storage_.data(); }
    std::vector<u64> storage_;
};

TEST(DeviceTreeBlob, SequentialHelperMakesAValidTree) {
    TestTree tree = SequentialTree().open_hypervisor().domain("d", 1).close_hypervisor().finish();
    ParseRun run = parse(tree);
    EXPECT_TRUE(run.ok()) << run.message();
}

TEST(DeviceTreeBlob, PropertyAfterSubnode) {
    TestTree tree = SequentialTree()
                        .open_hypervisor()
                        .domain("d", 1)
                        .property("late", "value")
                        .close_hypervisor()
                        .finish();
    Status status = verify_device_tree_blob(tree.blob());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("property after a subnode"),
              std::string::npos)
        << status.error().message();
}

TEST(DeviceTreeBlob, RootWithAName) {
    TestTree tree = SequentialTree().begin("root").end().finish();
    expect_error(verify_device_tree_blob(tree.blob()), ErrorCode::kCorrupt,
                 "device tree: node at structure offset 0x0: the root node must have an empty "
                 "name");
}

TEST(DeviceTreeBlob, ChildWithoutAName) {
    TestTree tree = SequentialTree().begin("").begin("").end().end().finish();
    expect_error(verify_device_tree_blob(tree.blob()), ErrorCode::kCorrupt,
                 "device tree: node at structure offset 0x8: only the root node may have an "
                 "empty name");
}

TEST(DeviceTreeBlob, NestedTooDeep) {
    SequentialTree sequential;
    sequential.begin("");
    for (u32 depth = 1; depth <= kMaxDeviceTreeDepth; ++depth) {
        sequential.begin("n");
    }
    for (u32 depth = 0; depth <= kMaxDeviceTreeDepth; ++depth) {
        sequential.end();
    }
    Status status = verify_device_tree_blob(sequential.finish().blob());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(std::string(status.error().message()).find("nest deeper than 32 levels"),
              std::string::npos)
        << status.error().message();
}

TEST(DeviceTreeBlob, DuplicatePropertyIsRefusedByTheParser) {
    TestTree tree = SequentialTree()
                        .open_hypervisor()
                        .begin("d")
                        .property("compatible", "xen,domain")
                        .property_u32("domid", 1)
                        .property_u32("domid", 2)
                        .end()
                        .close_hypervisor()
                        .finish();
    ParseRun run = parse(tree);
    EXPECT_EQ(run.message(), "/chosen/hypervisor/d: property \"domid\": appears twice in the node");
}

TEST(DeviceTreeBlob, UnprintablePropertyNameIsShownSafely) {
    TestTree tree = SequentialTree()
                        .open_hypervisor()
                        .begin("d")
                        .property("compatible", "xen,domain")
                        .property_u32("bad\x1b[2Jname", 1)
                        .end()
                        .close_hypervisor()
                        .finish();
    ParseRun run = parse(tree);
    EXPECT_EQ(run.message(),
              "/chosen/hypervisor/d: property \"bad?[2Jname\": unknown property: neither Xen's "
              "Hyperlaunch binding nor Relay's relay, extensions define it");
}

TEST(DeviceTreeBlob, UnprintableNodeNameIsRefusedAndShownSafely) {
    TestTree tree =
        SequentialTree().open_hypervisor().domain("d\x07x", 1).close_hypervisor().finish();
    ParseRun run = parse(tree);
    EXPECT_EQ(run.message(),
              "/chosen/hypervisor/d?x: node name contains byte 0x07 at offset 1, which a device "
              "tree node name cannot hold");
}

TEST(DeviceTreeBlob, MalformedUnitAddress) {
    for (const std::string name : {"@1", "d@", "d@1@2"}) {
        TestTree tree =
            SequentialTree().open_hypervisor().domain(name, 1).close_hypervisor().finish();
        ParseRun run = parse(tree);
        EXPECT_EQ(run.message(), "/chosen/hypervisor/" + name +
                                     ": node name is not of the form name[@unit-address]");
    }
}

TEST(DeviceTreeBlob, ManyPropertiesStopTheWalk) {
    SequentialTree sequential;
    sequential.begin("").begin("d");
    for (int i = 0; i < 100; ++i) {
        sequential.property_u32("p" + std::to_string(i), 0);
    }
    TestTree tree = sequential.end().end().finish();
    ASSERT_TRUE(verify_device_tree_blob(tree.blob()).ok());
    int d = fdt_path_offset(tree.blob().data(), "/d");
    ASSERT_GE(d, 0);
    DeviceTreeNode node(tree.blob().data(), d, NodePath("/d"));
    int visited = 0;
    Status status = node.for_each_property([&](std::string_view, const PropertyValue&) {
        ++visited;
        return ok_status();
    });
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(std::string(status.error().message()), "/d: more than 64 properties");
    EXPECT_EQ(visited, 64);
}

TEST(DeviceTreeBlob, ManyChildren) {
    SequentialTree sequential;
    sequential.open_hypervisor();
    for (u32 i = 0; i < 300; ++i) {
        sequential.begin("c" + std::to_string(i)).property("compatible", "xen,config").end();
    }
    TestTree tree = sequential.close_hypervisor().finish();
    EXPECT_EQ(parse(tree).message(), "/chosen/hypervisor: more than 256 child nodes");
}

}  // namespace
}  // namespace relay::hyperlaunch
