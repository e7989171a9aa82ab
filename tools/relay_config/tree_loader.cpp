#include "tools/relay_config/tree_loader.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

extern char** environ;

namespace relay::config_tool {
namespace {

constexpr u8 kBlobMagic[] = {0xD0, 0x0D, 0xFE, 0xED};

bool read_file(const std::string& path, std::vector<u8>* bytes) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        return false;
    }
    bytes->assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    return !file.bad();
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool looks_like_blob(const std::vector<u8>& bytes) {
    return bytes.size() >= sizeof(kBlobMagic) &&
           std::memcmp(bytes.data(), kBlobMagic, sizeof(kBlobMagic)) == 0;
}

std::string trim_trailing_newlines(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

// A temporary directory removed with everything in it when this goes out of scope.
class TemporaryDirectory {
public:
    TemporaryDirectory() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern =
            std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/relay-config.XXXXXX";
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (mkdtemp(buffer.data()) != nullptr) {
            path_ = buffer.data();
        }
    }
    ~TemporaryDirectory() {
        if (!path_.empty()) {
            std::remove((path_ + "/tree.dtb").c_str());
            std::remove((path_ + "/dtc.log").c_str());
            rmdir(path_.c_str());
        }
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

    bool ok() const { return !path_.empty(); }
    std::string file(const char* name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// Runs `dtc -I dts -O dtb -o OUTPUT SOURCE` with its stderr in LOG; returns the exit
// status, or -1 when dtc could not be started (errno says why).
int run_dtc(const std::string& source, const std::string& output, const std::string& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> arguments = {"dtc", "-I", "dts", "-O", "dtb", "-o", output, source};
    std::vector<char*> argv;
    for (std::string& argument : arguments) {
        argv.push_back(argument.data());
    }
    argv.push_back(nullptr);
    pid_t child = 0;
    int spawn_error = posix_spawnp(&child, "dtc", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawn_error != 0) {
        errno = spawn_error;
        return -1;
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

LoadResult compile_source(const std::string& path) {
    LoadResult result;
    TemporaryDirectory directory;
    if (!directory.ok()) {
        result.error = std::string("cannot create a temporary directory: ") + std::strerror(errno);
        return result;
    }
    const std::string output = directory.file("tree.dtb");
    const std::string log_path = directory.file("dtc.log");
    int status = run_dtc(path, output, log_path);
    std::vector<u8> log;
    read_file(log_path, &log);
    std::string messages = trim_trailing_newlines(std::string(log.begin(), log.end()));
    if (status < 0) {
        result.error =
            std::string("cannot run dtc (device-tree-compiler): ") + std::strerror(errno);
        return result;
    }
    if (status != 0) {
        result.error = "dtc failed (exit status " + std::to_string(status) + ")" +
                       (messages.empty() ? "" : ":\n" + messages);
        return result;
    }
    std::vector<u8> bytes;
    if (!read_file(output, &bytes)) {
        result.error = "dtc succeeded but wrote no tree";
        return result;
    }
    result.ok = true;
    result.compiled = true;
    result.tree = LoadedTree(bytes);
    result.warnings = messages;
    return result;
}

}  // namespace

LoadedTree::LoadedTree(const std::vector<u8>& bytes)
    : storage_((bytes.size() + sizeof(u64) - 1) / sizeof(u64), 0), size_(bytes.size()) {
    if (!bytes.empty()) {
        std::memcpy(storage_.data(), bytes.data(), bytes.size());
    }
}

LoadResult load_tree(const std::string& path) {
    LoadResult result;
    std::vector<u8> bytes;
    if (!read_file(path, &bytes)) {
        result.error = std::string("cannot read it: ") + std::strerror(errno);
        return result;
    }
    if (ends_with(path, ".dtb") || looks_like_blob(bytes)) {
        result.ok = true;
        result.tree = LoadedTree(bytes);
        return result;
    }
    return compile_source(path);
}

std::string write_tree(const LoadedTree& tree, const std::string& path) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) {
        return "cannot write " + path + ": " + std::strerror(errno);
    }
    file.write(reinterpret_cast<const char*>(tree.bytes().data()),
               static_cast<std::streamsize>(tree.bytes().size()));
    file.close();
    if (!file) {
        return "cannot write " + path + ": " + std::strerror(errno);
    }
    return "";
}

}  // namespace relay::config_tool
