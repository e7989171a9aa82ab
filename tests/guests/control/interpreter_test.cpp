#include "tests/guests/control/interpreter.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tests/guests/control/fake_platform.hpp"

namespace relay::guest::control {
namespace {

using Lines = std::vector<std::string>;

struct ScriptRun {
    testing::FakePlatform platform;
    std::unique_ptr<Workspace> workspace = std::make_unique<Workspace>();
    ScriptSummary summary;

    ScriptSummary run(std::string_view script) {
        Interpreter interpreter(platform, *workspace);
        summary = interpreter.run(script);
        return summary;
    }
};

TEST(Interpreter, TheDefaultExampleScript) {
    ScriptRun run;
    run.run("list;sleep 2;pause 3;sleep 1;unpause 3;list");
    EXPECT_EQ(run.platform.lines,
              (Lines{
                  "control: script: 6 commands",
                  "control: domain 1 name=control lifecycle=running vcpus=1 memory_kib=16384 "
                  "roles=control,boot",
                  "control: domain 2 name=memtest1 lifecycle=running vcpus=1 memory_kib=32768 "
                  "roles=-",
                  "control: domain 3 name=memtest2 lifecycle=running vcpus=2 memory_kib=32768 "
                  "roles=-",
                  "control: list: ok 3 domains",
                  "control: sleep 2: ok",
                  "control: pause 3: ok",
                  "control: sleep 1: ok",
                  "control: unpause 3: ok",
                  "control: domain 1 name=control lifecycle=running vcpus=1 memory_kib=16384 "
                  "roles=control,boot",
                  "control: domain 2 name=memtest1 lifecycle=running vcpus=1 memory_kib=32768 "
                  "roles=-",
                  "control: domain 3 name=memtest2 lifecycle=running vcpus=2 memory_kib=32768 "
                  "roles=-",
                  "control: list: ok 3 domains",
                  "control: script done: 6 commands, 0 errors, 0 unexpected",
              }));
    EXPECT_EQ(run.platform.calls, (Lines{"domain_list", "sleep 2000000", "domain_pause 3",
                                         "sleep 1000000", "domain_unpause 3", "domain_list"}));
    EXPECT_TRUE(run.summary.accepted);
    EXPECT_EQ(run.summary.commands, 6u);
    EXPECT_FALSE(run.summary.stopped);
}

TEST(Interpreter, ErrorsAreReportedWithNameAndCode) {
    ScriptRun run;
    run.run("pause 9;unpause 2;destroy 0x7fef");
    EXPECT_EQ(run.platform.lines,
              (Lines{"control: script: 3 commands", "control: pause 9: error ENOENT (-2)",
                     "control: unpause 2: error ESTATE (-10)",
                     "control: destroy 0x7fef: error ENOENT (-2)",
                     "control: script done: 3 commands, 3 errors, 0 unexpected"}));
    EXPECT_EQ(run.summary.errors, 3u);
}

TEST(Interpreter, UnprivilegedControlDomainSeesEperm) {
    ScriptRun run;
    run.platform.privileged = false;
    run.run("list;pause 2;info 2;info 1");
    EXPECT_EQ(run.platform.lines[1], "control: list: error EPERM (-1)");
    EXPECT_EQ(run.platform.lines[2], "control: pause 2: error EPERM (-1)");
    EXPECT_EQ(run.platform.lines[3], "control: info 2: error EPERM (-1)");
    EXPECT_EQ(run.platform.lines[4].rfind("control: info 1: ok domain 1 name=control", 0), 0u);
}

TEST(Interpreter, ExpectChecksResults) {
    ScriptRun run;
    run.run(
        "expect ENOENT pause 9;expect ok pause 3;expect error pause 3;expect ok pause 3;"
        "expect EPERM unpause 3;expect -2 info 44");
    EXPECT_EQ(run.platform.lines,
              (Lines{
                  "control: script: 6 commands",
                  "control: expect ENOENT pause 9: ok (error ENOENT (-2) as expected)",
                  "control: expect ok pause 3: ok (ok as expected)",
                  "control: expect error pause 3: ok (error ESTATE (-10) as expected)",
                  "control: expect ok pause 3: UNEXPECTED: error ESTATE (-10) (expected ok)",
                  "control: expect EPERM unpause 3: UNEXPECTED: ok (expected error EPERM (-1))",
                  "control: expect -2 info 44: ok (error ENOENT (-2) as expected)",
                  "control: script done: 6 commands, 0 errors, 2 unexpected",
              }));
    EXPECT_EQ(run.summary.unexpected, 2u);
    EXPECT_EQ(run.summary.errors, 0u);
}

TEST(Interpreter, InfoLine) {
    ScriptRun run;
    run.platform.domains[3].pause_count = 2;
    run.run("info 3");
    EXPECT_EQ(run.platform.lines[1],
              "control: info 3: ok domain 3 name=memtest2 lifecycle=running vcpus=2 "
              "memory_kib=32768 roles=- uuid=52000000-0000-0000-0000-000000000003 pause_count=2 "
              "exits=3000 run_time_ms=4500");
}

TEST(Interpreter, CrashedAndOddDomainsAreShownSafely) {
    ScriptRun run;
    run.platform.add_domain(4, "rogue", 0x4, 0x7, 1, 16384);
    relay_domain_entry& rogue = run.platform.domains[4].entry;
    rogue.lifecycle = RELAY_DOMAIN_CRASHED;
    rogue.shutdown_reason = RELAY_SHUTDOWN_CRASH;
    run.platform.add_domain(5, "", 0, 0, 1, 4096);
    relay_domain_entry& odd = run.platform.domains[5].entry;
    std::memset(odd.name, 'x', sizeof(odd.name));  // not NUL-terminated
    odd.name[3] = '\n';
    odd.lifecycle = 77;
    run.run("list");
    EXPECT_EQ(run.platform.lines[4],
              "control: domain 4 name=rogue lifecycle=crashed vcpus=1 memory_kib=16384 "
              "roles=boot,permissions:0x4,functions:0x6 reason=crash");
    EXPECT_EQ(run.platform.lines[5],
              "control: domain 5 name=xxx?xxxxxxxxxxxxxxxxxxxxxxxxxxxx lifecycle=unknown(77) "
              "vcpus=1 memory_kib=4096 roles=-");
    EXPECT_EQ(run.platform.lines[6], "control: list: ok 5 domains");
}

TEST(Interpreter, TheWidestInfoLineIsNotCut) {
    ScriptRun run;
    relay_domain_info& info = run.platform.domains[3];
    std::memset(info.entry.name, 'n', sizeof(info.entry.name));
    info.entry.domid = 65535;
    run.platform.domains[65535] = info;
    relay_domain_info& wide = run.platform.domains[65535];
    wide.entry.lifecycle = RELAY_DOMAIN_SHUT_DOWN;
    wide.entry.shutdown_reason = 200;
    wide.entry.permissions = ~0u;
    wide.entry.functions = ~0u;
    wide.entry.vcpus = 65535;
    wide.entry.memory_kib = ~0ull;
    wide.pause_count = ~0ull;
    wide.exits = ~0ull;
    wide.run_time_ns = ~0ull;
    std::memset(wide.uuid, 0xff, sizeof(wide.uuid));
    run.run("info 65535");
    EXPECT_EQ(run.platform.lines[1],
              "control: info 65535: ok domain 65535 name=nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn "
              "lifecycle=shut-down vcpus=65535 memory_kib=18446744073709551615 "
              "roles=control,hardware,boot,permissions:0xfffffffc,functions:0xfffffffe "
              "reason=200 uuid=ffffffff-ffff-ffff-ffff-ffffffffffff "
              "pause_count=18446744073709551615 exits=18446744073709551615 "
              "run_time_ms=18446744073709");
}

TEST(Interpreter, ListLongerThanTheBufferSaysSo) {
    ScriptRun run;
    for (u16 domid = 10; domid < 10 + kDomainListCapacity; ++domid) {
        run.platform.add_domain(domid, "many", 0, 0, 1, 4096);
    }
    run.run("list");
    EXPECT_EQ(run.platform.lines.size(), 1 + kDomainListCapacity + 1 + 1);
    EXPECT_EQ(run.platform.lines[1 + kDomainListCapacity],
              "control: list: ok 67 domains (64 shown)");
}

TEST(Interpreter, WaitPollsUntilTheStateOrTimeout) {
    ScriptRun run;
    int polls = 0;
    run.platform.on_domain_info = [&](u64 domid) {
        if (domid == 3 && ++polls == 5) {
            run.platform.domains[3].entry.lifecycle = RELAY_DOMAIN_CRASHED;
        }
    };
    run.run(
        "wait 3 crashed;wait 2 paused 0.12;wait 3 running 0;destroy 3;wait 3 gone;"
        "wait 2 gone 0;wait 9 running");
    EXPECT_EQ(run.platform.lines,
              (Lines{
                  "control: script: 7 commands",
                  "control: wait 3 crashed: ok after 0.200 s",
                  "control: wait 2 paused 0.12: error timeout (domain 2 is running after 0.120 s)",
                  "control: wait 3 running 0: error timeout (domain 3 is crashed after 0.000 s)",
                  "control: destroy 3: ok",
                  "control: wait 3 gone: ok after 0.000 s",
                  "control: wait 2 gone 0: error timeout (domain 2 is running after 0.000 s)",
                  "control: wait 9 running: error ENOENT (-2)",
                  "control: script done: 7 commands, 4 errors, 0 unexpected",
              }));
}

TEST(Interpreter, SleepEchoVersion) {
    ScriptRun run;
    run.run("sleep 0.25;echo phase two  begins;version");
    EXPECT_EQ(run.platform.lines[1], "control: sleep 0.25: ok");
    EXPECT_EQ(run.platform.lines[2], "control: echo phase two  begins: ok");
    EXPECT_EQ(run.platform.lines[3], "control: version: ok 1.1");
    EXPECT_EQ(run.platform.now, 1'250'000u);
    run.platform.version_result = (2 << 16) | 3;
    run.platform.lines.clear();
    run.run("version");
    EXPECT_EQ(run.platform.lines[1], "control: version: ok 2.3 (this guest speaks ABI 1.1)");
}

TEST(Interpreter, ShutdownStopsTheScript) {
    ScriptRun run;
    run.run("expect EINVAL shutdown 99;shutdown;list");
    EXPECT_EQ(run.platform.lines,
              (Lines{
                  "control: script: 3 commands",
                  "control: expect EINVAL shutdown 99: shutting down (reason 99)",
                  "control: expect EINVAL shutdown 99: ok (error EINVAL (-3) as expected)",
                  "control: shutdown: shutting down (poweroff)",
              }));
    EXPECT_TRUE(run.summary.stopped);
    EXPECT_EQ(run.platform.calls, (Lines{"shutdown 99", "shutdown 1"}));
}

TEST(Interpreter, RejectedScriptRunsNothing) {
    ScriptRun run;
    run.run("pause 3;sleep forever");
    EXPECT_EQ(run.platform.lines,
              (Lines{"control: script rejected: command 2 (\"sleep forever\"): sleep: "
                     "\"forever\" is not a time in seconds (0 to 1000000, up to 6 decimals: 2, "
                     "0.5)"}));
    EXPECT_TRUE(run.platform.calls.empty());
    EXPECT_FALSE(run.summary.accepted);
}

// A newc archive as tools/build/make_cpio.py writes it.
std::string cpio(const std::vector<std::pair<std::string, std::string>>& files) {
    std::string archive;
    auto add = [&](const std::string& name, const std::string& data) {
        char header[111];
        std::snprintf(header, sizeof(header),
                      "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 1u, 0100644u,
                      0u, 0u, 1u, 0u, static_cast<unsigned>(data.size()), 0u, 0u, 0u, 0u,
                      static_cast<unsigned>(name.size() + 1), 0u);
        archive += header;
        archive += name;
        archive += '\0';
        archive.resize((archive.size() + 3) / 4 * 4, '\0');
        archive += data;
        archive.resize((archive.size() + 3) / 4 * 4, '\0');
    };
    for (const auto& [name, data] : files) {
        add(name, data);
    }
    add("TRAILER!!!", "");
    return archive;
}

TEST(Interpreter, StageUpdateUnstage) {
    ScriptRun run;
    run.platform.ramdisk_bytes = cpio({{"relay.elf", "AAAA"}, {"relay_b.elf", "BBBBBB"}});
    run.run(
        "stage relay_b.elf;update;expect ESTATE update;stage relay.elf;unstage;expect ESTATE "
        "unstage;"
        "stage missing.elf");
    EXPECT_EQ(run.platform.lines,
              (Lines{
                  "control: script: 7 commands",
                  "control: stage relay_b.elf: ok 6 bytes",
                  "control: update: ok in 1234 us",
                  "control: expect ESTATE update: ok (error ESTATE (-10) as expected)",
                  "control: stage relay.elf: ok 4 bytes",
                  "control: unstage: ok",
                  "control: expect ESTATE unstage: ok (error ESTATE (-10) as expected)",
                  "control: stage missing.elf: error (no file \"missing.elf\" in the archive)",
                  "control: script done: 7 commands, 1 error, 0 unexpected",
              }));
    EXPECT_EQ(run.platform.updates, 1);
}

TEST(Interpreter, UpdateErrorsAreNamed) {
    ScriptRun run;
    run.platform.ramdisk_bytes = cpio({{"relay_incompatible.elf", "I"}});
    run.platform.update_result = RELAY_EINCOMPATIBLE;
    run.run("stage relay_incompatible.elf;expect EINCOMPATIBLE update;update");
    EXPECT_EQ(run.platform.lines[2],
              "control: expect EINCOMPATIBLE update: ok (error EINCOMPATIBLE (-11) as expected)");
    EXPECT_EQ(run.platform.lines[3], "control: update: error EINCOMPATIBLE (-11)");
    run.platform.update_result = RELAY_EROLLEDBACK;
    run.platform.lines.clear();
    run.run("stage relay_incompatible.elf;update");
    EXPECT_EQ(run.platform.lines[2], "control: update: error EROLLEDBACK (-12)");
}

TEST(Interpreter, StageWithoutARamdisk) {
    ScriptRun run;
    run.run("stage relay.elf");
    EXPECT_EQ(
        run.platform.lines[1],
        "control: stage relay.elf: error (this domain has no ramdisk to stage \"relay.elf\" from)");
    EXPECT_TRUE(run.platform.calls.empty());
}

TEST(Interpreter, ExportPrintsBase64LinesAndAChecksum) {
    ScriptRun run;
    run.platform.exported = std::string(60, 'x') + "foobar";  // 66 bytes: two lines
    run.run("export");
    ASSERT_EQ(run.platform.lines.size(), 5u);
    EXPECT_EQ(run.platform.lines[1],
              "control: export data " + std::string(76, 'e').replace(0, 76, [] {
                  std::string line;
                  for (int i = 0; i < 19; ++i) {
                      line += "eHh4";
                  }
                  return line;
              }()));
    EXPECT_EQ(run.platform.lines[2], "control: export data eHh4Zm9vYmFy");
    // FNV-1a 64 of the 66 bytes.
    u64 fnv = 0xcbf29ce484222325ull;
    for (char c : run.platform.exported) {
        fnv = (fnv ^ static_cast<u8>(c)) * 0x100000001b3ull;
    }
    char expected[80];
    std::snprintf(expected, sizeof(expected), "control: export: ok 66 bytes fnv1a64=%016llx",
                  static_cast<unsigned long long>(fnv));
    EXPECT_EQ(run.platform.lines[3], expected);
    run.platform.exported.assign(5000, 'y');  // larger than the 4096-byte buffer
    run.platform.lines.clear();
    run.run("export");
    EXPECT_EQ(run.platform.lines[1], "control: export: error ERANGE (-8)");
}

TEST(Interpreter, LoopsRepeatTheirBody) {
    ScriptRun run;
    run.platform.ramdisk_bytes = cpio({{"a.elf", "A"}, {"b.elf", "B"}});
    run.run("loop 2;stage b.elf;update;stage a.elf;update;end;list");
    EXPECT_EQ(run.platform.updates, 4);
    EXPECT_EQ(run.platform.lines[1], "control: loop 2: pass 1 of 2");
    EXPECT_EQ(run.platform.lines[6], "control: loop 2: pass 2 of 2");
    EXPECT_EQ(run.platform.lines[11], "control: loop 2: ok (2 passes)");
    EXPECT_EQ(run.platform.lines.back(),
              "control: script done: 11 commands, 0 errors, 0 unexpected");
}

TEST(Interpreter, NestedLoops) {
    ScriptRun run;
    run.run("loop 3;loop 2;version;end;end");
    usize versions = 0;
    for (const std::string& call : run.platform.calls) {
        versions += call == "version" ? 1 : 0;
    }
    EXPECT_EQ(versions, 6u);
}

TEST(Interpreter, UnpairedLoopsAreRejected) {
    for (const char* bad :
         {"loop 2;version", "version;end", "loop 2;loop 2;end", "loop 0;end",
          "loop 1;loop 1;loop 1;loop 1;loop 1;end;end;end;end;end", "expect ok loop 2;end"}) {
        ScriptRun run;
        run.run(bad);
        EXPECT_FALSE(run.summary.accepted) << bad;
        EXPECT_TRUE(run.platform.calls.empty()) << bad;
    }
}

TEST(Interpreter, EmptyScript) {
    ScriptRun run;
    run.run("");
    EXPECT_EQ(run.platform.lines,
              (Lines{"control: script: 0 commands",
                     "control: script done: 0 commands, 0 errors, 0 unexpected"}));
}

}  // namespace
}  // namespace relay::guest::control
