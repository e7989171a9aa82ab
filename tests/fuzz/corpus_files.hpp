// The committed inputs of a fuzzer (tests/fuzz/corpus/<fuzzer>/), for the GoogleTests that
// replay them through the fuzz bodies under Bazel (also under ASan/UBSan with
// --config=sanitize), so that a bug a fuzzer found stays fixed.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace relay::tests {

struct CorpusFile {
    std::string name;  // file name only
    std::vector<unsigned char> bytes;
};

// Every regular file in `directory` (relative to the runfiles root) but README.md, sorted
// by name.
inline std::vector<CorpusFile> corpus_files(const std::string& directory) {
    std::vector<CorpusFile> files;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name == "README.md") {
            continue;
        }
        std::ifstream in(entry.path(), std::ios::binary);
        files.push_back(
            CorpusFile{name, std::vector<unsigned char>(std::istreambuf_iterator<char>(in),
                                                        std::istreambuf_iterator<char>())});
    }
    std::sort(files.begin(), files.end(),
              [](const CorpusFile& a, const CorpusFile& b) { return a.name < b.name; });
    return files;
}

}  // namespace relay::tests
