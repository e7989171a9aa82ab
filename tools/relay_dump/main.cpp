// relay-dump: the offline inspector of Relay state streams (docs/relay-dump.md).
//
// Exit status: 0 success (diff: identical), 1 diff found differences, 2 usage, 3 file
// I/O, 10 truncated, 11 bad magic, 12 unknown format version or schema major, 13 digest
// mismatch, 14 corrupt (FlatBuffers or semantic checks), 15 unknown required feature,
// 16 a limit exceeded, 17 invalid JSON or arguments, 18 no stream found in an image.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "migration_stream/feature_usage.hpp"
#include "migration_stream/stream_header.hpp"
#include "migration_stream/stream_verifier.hpp"
#include "migration_stream/stream_writer.hpp"
#include "schema/relay_generated.h"
#include "tools/relay_dump/schema_minor_check.hpp"
#include "tools/relay_dump/stream_diff.hpp"
#include "tools/relay_dump/stream_extract.hpp"
#include "tools/relay_dump/stream_file.hpp"
#include "tools/relay_dump/stream_json.hpp"
#include "tools/relay_dump/stream_summary.hpp"

namespace relay::tools {
namespace {

constexpr int kExitDifferent = 1;
constexpr int kExitUsage = 2;
constexpr int kExitIo = 3;
constexpr int kExitNoStream = 18;

struct Command {
    const char* name;
    const char* usage;
    const char* help;
    int (*run)(const std::vector<std::string>& arguments);
};

int exit_code(const Error& error) {
    switch (error.code()) {
        case ErrorCode::kTruncated:
            return 10;
        case ErrorCode::kBadMagic:
            return 11;
        case ErrorCode::kVersionMismatch:
            return 12;
        case ErrorCode::kDigestMismatch:
            return 13;
        case ErrorCode::kCorrupt:
            return 14;
        case ErrorCode::kUnsupported:
            return 15;
        case ErrorCode::kOutOfRange:
            return 16;
        default:
            return 17;
    }
}

int fail(const std::string& context, const Error& error) {
    std::fprintf(stderr, "relay-dump: %s: %s: %s\n", context.c_str(), error_code_name(error.code()),
                 error.message());
    return exit_code(error);
}

int fail_io(const Error& error) {
    std::fprintf(stderr, "relay-dump: %s\n", error.message());
    return kExitIo;
}

int usage_error(const Command& command, const std::string& message) {
    std::fprintf(stderr, "relay-dump %s: %s\nusage: relay-dump %s\n", command.name, message.c_str(),
                 command.usage);
    return kExitUsage;
}

Result<stream::VerifiedStream> verify_loaded(const FileBytes& bytes) {
    return stream::verify_stream(bytes.data(), bytes.size());
}

bool parse_number(const std::string& text, u64* out) {
    if (text.empty()) {
        return false;
    }
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text.c_str(), &end, 0);
    if (errno != 0 || end == nullptr || *end != '\0' || text[0] == '-') {
        return false;
    }
    *out = value;
    return true;
}

const Command& command_named(const char* name);

int run_show(const std::vector<std::string>& arguments) {
    const Command& command = command_named("show");
    if (arguments.size() != 1) {
        return usage_error(command, "expects one FILE");
    }
    auto bytes = read_file(arguments[0]);
    if (!bytes.ok()) {
        return fail_io(bytes.error());
    }
    auto verified = verify_loaded(bytes.value());
    if (!verified.ok()) {
        // Show what can be shown: the header, when it decodes.
        auto header = stream::decode_stream_header(bytes->data(), bytes->size());
        if (header.ok()) {
            std::fputs(summarize_header(header.value()).c_str(), stdout);
        }
        return fail(arguments[0], verified.error());
    }
    std::printf("stream: %s (%zu bytes)\n", arguments[0].c_str(), verified->stream_size());
    std::fputs(summarize_stream(verified.value()).c_str(), stdout);
    return 0;
}

int run_verify(const std::vector<std::string>& arguments) {
    const Command& command = command_named("verify");
    if (arguments.size() != 1) {
        return usage_error(command, "expects one FILE");
    }
    auto bytes = read_file(arguments[0]);
    if (!bytes.ok()) {
        return fail_io(bytes.error());
    }
    auto verified = verify_loaded(bytes.value());
    if (!verified.ok()) {
        return fail(arguments[0], verified.error());
    }
    const stream::StreamHeader& header = verified->header();
    const auto* domains = verified->host_state().domains();
    std::printf("%s: ok: %s stream, schema %u.%u, %u domains, %zu bytes", arguments[0].c_str(),
                stream::stream_kind_name(header.kind), header.schema_major, header.schema_minor,
                domains ? domains->size() : 0, verified->stream_size());
    if (bytes->size() > verified->stream_size()) {
        std::printf(" (%zu bytes of padding after it ignored)",
                    bytes->size() - verified->stream_size());
    }
    std::printf("\n");
    return 0;
}

int run_json(const std::vector<std::string>& arguments) {
    const Command& command = command_named("json");
    std::string path;
    bool stored_only = false;
    for (const std::string& argument : arguments) {
        if (argument == "--stored-only") {
            stored_only = true;
        } else if (!argument.empty() && argument[0] == '-') {
            return usage_error(command, "unknown option " + argument);
        } else if (path.empty()) {
            path = argument;
        } else {
            return usage_error(command, "expects one FILE");
        }
    }
    if (path.empty()) {
        return usage_error(command, "expects one FILE");
    }
    auto bytes = read_file(path);
    if (!bytes.ok()) {
        return fail_io(bytes.error());
    }
    auto verified = verify_loaded(bytes.value());
    if (!verified.ok()) {
        return fail(path, verified.error());
    }
    auto json = StreamSchema::embedded().to_json(verified->payload(), !stored_only);
    if (!json.ok()) {
        return fail(path, json.error());
    }
    std::fputs(json->c_str(), stdout);
    return 0;
}

int run_diff(const std::vector<std::string>& arguments) {
    const Command& command = command_named("diff");
    if (arguments.size() != 2) {
        return usage_error(command, "expects two files, A (before) and B (after)");
    }
    auto before_bytes = read_file(arguments[0]);
    if (!before_bytes.ok()) {
        return fail_io(before_bytes.error());
    }
    auto after_bytes = read_file(arguments[1]);
    if (!after_bytes.ok()) {
        return fail_io(after_bytes.error());
    }
    auto before = verify_loaded(before_bytes.value());
    if (!before.ok()) {
        return fail(arguments[0], before.error());
    }
    auto after = verify_loaded(after_bytes.value());
    if (!after.ok()) {
        return fail(arguments[1], after.error());
    }
    std::vector<std::string> lines = diff_streams(before.value(), after.value());
    for (const std::string& line : lines) {
        std::printf("%s\n", line.c_str());
    }
    if (lines.empty()) {
        std::printf("no differences\n");
        return 0;
    }
    return kExitDifferent;
}

int run_make(const std::vector<std::string>& arguments) {
    const Command& command = command_named("make");
    std::vector<std::string> files;
    stream::StreamKind kind = stream::StreamKind::kLiveUpdate;
    u64 minor = stream::kSchemaMinor;
    bool unchecked = false;
    for (usize i = 0; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        if (argument == "--kind" && i + 1 < arguments.size()) {
            if (!stream::parse_stream_kind(arguments[++i].c_str(), &kind)) {
                return usage_error(command, "unknown kind " + arguments[i] +
                                                " (boot, live-update, restore, export)");
            }
        } else if (argument == "--schema-minor" && i + 1 < arguments.size()) {
            if (!parse_number(arguments[++i], &minor) || minor > stream::kSchemaMinor) {
                return usage_error(
                    command, "schema minor must be 0 to " + std::to_string(stream::kSchemaMinor));
            }
        } else if (argument == "--unchecked") {
            unchecked = true;
        } else if (!argument.empty() && argument[0] == '-') {
            return usage_error(command, "unknown option " + argument);
        } else {
            files.push_back(argument);
        }
    }
    if (files.size() != 2) {
        return usage_error(command, "expects FILE.json and OUT");
    }
    auto text = read_file(files[0]);
    if (!text.ok()) {
        return fail_io(text.error());
    }
    std::string json(reinterpret_cast<const char*>(text->data()), text->size());
    auto built = StreamSchema::embedded().from_json(json);
    if (!built.ok()) {
        return fail(files[0], built.error());
    }
    FileBytes payload = copy_bytes(built->data(), built->size());
    flatbuffers::Verifier verifier(payload.data(), payload.size());
    if (!verifier.VerifyBuffer<schema::HostState>(stream::kPayloadIdentifier)) {
        return fail(files[0],
                    Error(ErrorCode::kInternal, "FlatBuffers built an unverifiable payload"));
    }
    if (minor < stream::kSchemaMinor) {
        Status within = check_fields_within_minor(payload.data(), static_cast<unsigned>(minor));
        if (!within.ok()) {
            return fail(files[0], within.error());
        }
    }
    const auto* state = flatbuffers::GetRoot<schema::HostState>(payload.data());
    stream::FeatureUse use = stream::scan_feature_use(*state);
    stream::StreamHeader header;
    header.kind = kind;
    header.schema_minor = static_cast<u16>(minor);
    header.required_features = use.required;
    header.optional_features = use.optional;
    if (state->producer() != nullptr && state->producer()->build_id() != nullptr) {
        std::memcpy(header.producer_build.bytes, state->producer()->build_id()->bytes()->data(),
                    stream::kBuildIdBytes);
    }
    FileBytes output(stream::kStreamHeaderSize + payload.size());
    auto written =
        stream::write_stream(payload.data(), payload.size(), header, output.data(), output.size());
    if (!written.ok()) {
        return fail(files[1], written.error());
    }
    if (!unchecked) {
        auto verified = stream::verify_stream(output.data(), written.value());
        if (!verified.ok()) {
            Error error = verified.error();
            error.prefix("the state does not verify (use --unchecked to write it anyway): ");
            return fail(files[0], error);
        }
    }
    Status saved = write_file(files[1], output.data(), written.value());
    if (!saved.ok()) {
        return fail_io(saved.error());
    }
    std::printf("wrote %s: %s stream, schema %u.%" PRIu64 ", %zu bytes\n", files[1].c_str(),
                stream::stream_kind_name(kind), stream::kSchemaMajor, minor, written.value());
    return 0;
}

int run_extract(const std::vector<std::string>& arguments) {
    const Command& command = command_named("extract");
    std::string image_path;
    std::string output_path;
    bool has_address = false;
    u64 address = 0;
    u64 base = 0;
    for (usize i = 0; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        if (argument == "--at" && i + 1 < arguments.size()) {
            if (!parse_number(arguments[++i], &address)) {
                return usage_error(command, "--at needs an address (decimal or 0x...)");
            }
            has_address = true;
        } else if (argument == "--base" && i + 1 < arguments.size()) {
            if (!parse_number(arguments[++i], &base)) {
                return usage_error(command, "--base needs an address (decimal or 0x...)");
            }
        } else if ((argument == "-o" || argument == "--output") && i + 1 < arguments.size()) {
            output_path = arguments[++i];
        } else if (!argument.empty() && argument[0] == '-') {
            return usage_error(command, "unknown option " + argument);
        } else if (image_path.empty()) {
            image_path = argument;
        } else {
            return usage_error(command, "expects one IMAGE");
        }
    }
    if (image_path.empty()) {
        return usage_error(command, "expects one IMAGE");
    }
    auto image = read_file(image_path);
    if (!image.ok()) {
        return fail_io(image.error());
    }
    auto layout = describe_image(image.value(), base);
    if (!layout.ok()) {
        return fail(image_path, layout.error());
    }
    std::vector<StreamCandidate> candidates;
    if (has_address) {
        auto offset = file_offset_of(layout.value(), address);
        if (!offset.ok()) {
            return fail(image_path, offset.error());
        }
        candidates.push_back(check_candidate(image.value(), layout.value(), offset.value()));
    } else {
        candidates = find_stream_candidates(image.value(), layout.value());
    }
    const StreamCandidate* found = nullptr;
    for (const StreamCandidate& candidate : candidates) {
        if (candidate.status.ok()) {
            std::printf("stream at physical 0x%" PRIx64 " (file offset 0x%" PRIx64
                        "), %zu bytes: verifies\n",
                        candidate.physical_address, candidate.file_offset, candidate.stream_size);
            found = found ? found : &candidate;
        } else {
            std::printf("candidate at physical 0x%" PRIx64 " (file offset 0x%" PRIx64 "): %s: %s\n",
                        candidate.physical_address, candidate.file_offset,
                        error_code_name(candidate.status.error().code()),
                        candidate.status.error().message());
        }
    }
    if (found == nullptr) {
        if (candidates.size() == 1 && has_address) {
            return fail(image_path, candidates[0].status.error());
        }
        std::fprintf(stderr, "relay-dump: %s: no verifiable stream found (%zu candidates)\n",
                     image_path.c_str(), candidates.size());
        return kExitNoStream;
    }
    if (!output_path.empty()) {
        Status saved =
            write_file(output_path, image->data() + found->file_offset, found->stream_size);
        if (!saved.ok()) {
            return fail_io(saved.error());
        }
        std::printf("wrote %s\n", output_path.c_str());
    }
    return 0;
}

const Command kCommandTable[] = {
    {"show", "show FILE",
     "Prints a readable summary of a stream: header, preserved ranges, boot modules,\n"
     "domains with their vCPUs, memory extents and console, IOMMU units, update history.\n"
     "The stream is verified first; if it does not verify, the header (when it decodes)\n"
     "and the reason are printed and the exit status is non-zero.",
     run_show},
    {"json", "json FILE [--stored-only]",
     "Prints the payload as JSON through FlatBuffers reflection with the schema built into\n"
     "relay-dump. Every field is printed, defaults included; --stored-only prints only\n"
     "the fields stored in the stream. `relay-dump make` reads this JSON back.",
     run_json},
    {"verify", "verify FILE",
     "Verifies a stream as the hypervisor would (header, compatibility, digest, FlatBuffers\n"
     "verifier, semantic checks). Exit 0 and one line on success; otherwise the reason and\n"
     "a status naming the kind of failure (see relay-dump --help).",
     run_verify},
    {"diff", "diff A B",
     "Shows what changed from stream A to stream B (before and after an update): header\n"
     "fields, domains added or removed (by domid), vCPU registers (by vCPU id), memory\n"
     "extents, IOMMU state, update records appended. Exit 0 if identical, 1 if not.",
     run_diff},
    {"make", "make FILE.json OUT [--kind KIND] [--schema-minor N] [--unchecked]",
     "Builds a stream from JSON (the format `relay-dump json` prints). KIND is boot,\n"
     "live-update (default), restore or export; N writes an older schema minor and refuses\n"
     "fields introduced after it. Feature bits are derived from the content and the\n"
     "producer build id from producer.build_id. The result must verify unless --unchecked.",
     run_make},
    {"extract", "extract IMAGE [--at ADDR] [--base ADDR] [-o OUT]",
     "Finds streams in a raw memory image (QEMU pmemsave; --base gives the physical address\n"
     "of its first byte, default 0) or an ELF core (QEMU dump-guest-memory), by the magic at\n"
     "8-byte aligned addresses, or only at physical address ADDR with --at. Prints every\n"
     "candidate and whether it verifies; -o writes the first stream that verifies to OUT.",
     run_extract},
};

const Command& command_named(const char* name) {
    for (const Command& command : kCommandTable) {
        if (std::strcmp(command.name, name) == 0) {
            return command;
        }
    }
    std::abort();  // every caller names a command of the table
}

void print_overview(std::FILE* out) {
    std::fprintf(out,
                 "relay-dump: inspect Relay state streams (docs/relay-dump.md)\n\n"
                 "usage:\n");
    for (const Command& command : kCommandTable) {
        std::fprintf(out, "  relay-dump %s\n", command.usage);
    }
    std::fprintf(out,
                 "\n`relay-dump COMMAND --help` describes a command.\n\n"
                 "exit status: 0 ok (diff: identical), 1 diff found differences, 2 usage, 3 file\n"
                 "I/O, 10 truncated, 11 bad magic, 12 unknown format version or schema major,\n"
                 "13 digest mismatch, 14 corrupt, 15 unknown required feature, 16 limit exceeded,\n"
                 "17 invalid JSON or argument, 18 no stream found in an image.\n");
}

int run(int argc, char** argv) {
    if (argc < 2) {
        print_overview(stderr);
        return kExitUsage;
    }
    std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_overview(stdout);
        return 0;
    }
    for (const Command& command : kCommandTable) {
        if (name != command.name) {
            continue;
        }
        std::vector<std::string> arguments(argv + 2, argv + argc);
        for (const std::string& argument : arguments) {
            if (argument == "--help" || argument == "-h") {
                std::printf("usage: relay-dump %s\n\n%s\n", command.usage, command.help);
                return 0;
            }
        }
        return command.run(arguments);
    }
    std::fprintf(stderr, "relay-dump: unknown command \"%s\"\n\n", name.c_str());
    print_overview(stderr);
    return kExitUsage;
}

}  // namespace
}  // namespace relay::tools

int main(int argc, char** argv) {
    return relay::tools::run(argc, argv);
}
