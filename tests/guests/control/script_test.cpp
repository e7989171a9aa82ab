#include "tests/guests/control/script.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "hv/abi/hypercall.h"
#include "tests/guests/control/commands.hpp"

namespace relay::guest::control {
namespace {

std::unique_ptr<Script> parse_ok(std::string_view text) {
    auto script = std::make_unique<Script>();
    Status status = parse_script(text, script.get());
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().message());
    return script;
}

std::string parse_error(std::string_view text) {
    auto script = std::make_unique<Script>();
    Status status = parse_script(text, script.get());
    EXPECT_FALSE(status.ok()) << text;
    return status.ok() ? "" : status.error().message();
}

TEST(Script, TheDefaultExampleScript) {
    auto script = parse_ok("list;sleep 2;pause 3;sleep 1;unpause 3;list");
    ASSERT_EQ(script->count, 6u);
    EXPECT_STREQ(script->commands[0].spec->name, "list");
    EXPECT_EQ(script->commands[0].argument_count, 0u);
    EXPECT_STREQ(script->commands[1].spec->name, "sleep");
    EXPECT_EQ(script->commands[1].arguments[0].number, 2'000'000u);
    EXPECT_STREQ(script->commands[2].spec->name, "pause");
    EXPECT_EQ(script->commands[2].arguments[0].number, 3u);
    EXPECT_EQ(script->commands[2].text, "pause 3");
    EXPECT_EQ(script->commands[2].expectation.kind, Expectation::Kind::kNone);
    EXPECT_STREQ(script->commands[4].spec->name, "unpause");
}

TEST(Script, SpacesAndEmptyCommandsAreForgiven) {
    auto script = parse_ok("  list ;; pause   3  ;\tsleep 0.5;");
    ASSERT_EQ(script->count, 3u);
    EXPECT_EQ(script->commands[0].text, "list");
    EXPECT_EQ(script->commands[1].text, "pause   3");
    EXPECT_EQ(script->commands[1].arguments[0].number, 3u);
    EXPECT_EQ(script->commands[2].arguments[0].number, 500'000u);
    EXPECT_EQ(parse_ok("")->count, 0u);
    EXPECT_EQ(parse_ok(" ; ;")->count, 0u);
}

TEST(Script, EveryCommandParses) {
    auto script = parse_ok(
        "list;info 2;pause 2;unpause 2;destroy 0x10;wait 4 crashed;wait 4 gone 2.5;sleep 1;"
        "version;echo hello  world;echo;shutdown;shutdown reboot;shutdown 99");
    ASSERT_EQ(script->count, 14u);
    EXPECT_EQ(script->commands[4].arguments[0].number, 16u);
    EXPECT_EQ(script->commands[5].argument_count, 2u);
    EXPECT_EQ(script->commands[5].arguments[1].number, static_cast<u64>(RELAY_DOMAIN_CRASHED));
    EXPECT_EQ(script->commands[6].argument_count, 3u);
    EXPECT_EQ(script->commands[6].arguments[2].number, 2'500'000u);
    EXPECT_EQ(script->commands[9].arguments[0].text, "hello  world");
    EXPECT_EQ(script->commands[10].arguments[0].text, "");
    EXPECT_EQ(script->commands[11].argument_count, 0u);
    EXPECT_EQ(script->commands[12].arguments[0].number, static_cast<u64>(RELAY_SHUTDOWN_REBOOT));
    EXPECT_EQ(script->commands[13].arguments[0].number, 99u);
}

TEST(Script, ExpectPrefix) {
    auto script = parse_ok(
        "expect ENOENT pause 9;expect ok list;expect error destroy 1;"
        "expect -3 shutdown 99;expect timeout wait 2 crashed 0.1");
    ASSERT_EQ(script->count, 5u);
    const Command& first = script->commands[0];
    EXPECT_STREQ(first.spec->name, "pause");
    EXPECT_EQ(first.text, "expect ENOENT pause 9");
    EXPECT_EQ(first.expectation.kind, Expectation::Kind::kError);
    EXPECT_EQ(first.expectation.code, RELAY_ENOENT);
    EXPECT_EQ(first.arguments[0].number, 9u);
    EXPECT_EQ(script->commands[1].expectation.kind, Expectation::Kind::kOk);
    EXPECT_EQ(script->commands[2].expectation.kind, Expectation::Kind::kAnyError);
    EXPECT_EQ(script->commands[3].expectation.code, RELAY_EINVAL);
    EXPECT_EQ(script->commands[4].expectation.kind, Expectation::Kind::kTimeout);
}

TEST(Script, ErrorsNameTheCommandByPositionAndText) {
    EXPECT_EQ(parse_error("list;sleep 1;pase 3"),
              "command 3 (\"pase 3\"): unknown command \"pase\" (commands: list, info, pause, "
              "unpause, destroy, wait, sleep, version, echo, shutdown, stage, unstage, update, "
              "export, loop, end)");
    EXPECT_EQ(parse_error("list;;pause"),
              "command 2 (\"pause\"): pause needs DOMID (usage: pause DOMID)");
    EXPECT_EQ(parse_error("pause 3 4"),
              "command 1 (\"pause 3 4\"): pause: too many arguments (usage: pause DOMID)");
    EXPECT_EQ(parse_error("list x"),
              "command 1 (\"list x\"): list: too many arguments (usage: list)");
    EXPECT_EQ(parse_error("pause x"),
              "command 1 (\"pause x\"): pause: \"x\" is not a domain id (0 to 65535, decimal "
              "or 0x hex)");
    EXPECT_EQ(parse_error("sleep -1"),
              "command 1 (\"sleep -1\"): sleep: \"-1\" is not a time in seconds (0 to 1000000, "
              "up to 6 decimals: 2, 0.5)");
    EXPECT_EQ(parse_error("wait 3"),
              "command 1 (\"wait 3\"): wait needs STATE (usage: wait DOMID STATE [SECONDS])");
    EXPECT_EQ(parse_error("expect"),
              "command 1 (\"expect\"): expect needs a result and a command (usage: expect "
              "RESULT COMMAND...)");
    EXPECT_EQ(parse_error("expect ok"),
              "command 1 (\"expect ok\"): expect needs a result and a command (usage: expect "
              "RESULT COMMAND...)");
    EXPECT_EQ(parse_error("expect EFOO list"),
              "command 1 (\"expect EFOO list\"): \"EFOO\" is not a result (ok, error, timeout, "
              "an error name like ENOENT, or a negative number)");
    EXPECT_EQ(parse_error("expect ok expect ok list"),
              "command 1 (\"expect ok expect ok list\"): expect cannot be nested");
}

TEST(Script, CommandLimit) {
    std::string many;
    for (usize i = 0; i < kMaxCommands; ++i) {
        many += "version;";
    }
    EXPECT_EQ(parse_ok(many)->count, kMaxCommands);
    EXPECT_EQ(parse_error(many + "version"), "more than 128 commands");
}

TEST(Script, HostileInputNeverCrashes) {
    // Every prefix of a script with every command, and some noise.
    std::string text =
        "expect ENOENT pause 9;wait 4 gone 0.5;echo a;b;;info 0xffff;shutdown crash;\x01\xff";
    auto script = std::make_unique<Script>();
    for (usize length = 0; length <= text.size(); ++length) {
        (void)parse_script(std::string_view(text.data(), length), script.get());
    }
    (void)parse_script(std::string(4096, ';'), script.get());
    (void)parse_script(std::string(4096, ' '), script.get());
    (void)parse_script(std::string(300, 'x'), script.get());
}

TEST(Script, UsageLines) {
    EXPECT_EQ(command_usage(*find_command("wait")).view(), "wait DOMID STATE [SECONDS]");
    EXPECT_EQ(command_usage(*find_command("echo")).view(), "echo [TEXT...]");
    EXPECT_EQ(command_usage(*find_command("shutdown")).view(), "shutdown [REASON]");
    EXPECT_EQ(find_command("expect"), nullptr);
}

}  // namespace
}  // namespace relay::guest::control
