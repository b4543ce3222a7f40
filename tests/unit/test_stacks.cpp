// Folding stacks: naming frames (real ELF files from the build), perf maps,
// kallsyms, frame-pointer detection, and the folded writer.
#include <catch2/catch.hpp>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "symbols/stack_folding.h"
#include "golden.h"
#include "report/folded_writer.h"
#include "symbols/elf_file.h"
#include "unwind/frame_pointers.h"
#include "symbols/module_index.h"
#include "symbols/stack_namer.h"
#include "symbols/symbolizer.h"
#include "temp_dir.h"

using namespace memtrace;
using memtrace::testing::TempDir;

namespace {

std::string workload(const std::string &name)
{
    return std::string(MT_BUILD_DIR) + "/workloads/" + name;
}

struct Fn {
    uint64_t offset; // file offset of its first byte
    uint64_t size;
};

Fn function(const ElfFile &elf, const std::string &name)
{
    for (const auto &f : elf.functions())
        if (f.name == name)
            return {*elf.file_offset(f.value), f.size};
    FAIL("no " << name);
    return {};
}

RawUserFrame frame(const std::string &build_id, uint64_t offset)
{
    RawUserFrame f;
    f.kind = RawUserFrame::BuildId;
    f.build_id = build_id;
    f.value = offset;
    return f;
}

} // namespace

TEST_CASE("folded stacks merge equal stacks, sort, and write one space and an integer")
{
    FoldedStacks folded;
    folded.add({"app", "main", "load;er", "fill"}, 4096);
    folded.add({"app", "main", "build"}, 8192);
    folded.add({"app", "main", "load;er", "fill"}, 4096);
    folded.add({"app", "main", "ignored"}, 0);
    CHECK(folded.size() == 2);
    CHECK(folded.total() == 16384);
    std::ostringstream out;
    write_folded(out, folded);
    check_golden("folded_small.txt", out.str());
    CHECK(out.str() == "app;main;build 8192\napp;main;load;er;fill 8192\n");
    CHECK(folded_safe("a;b\nc") == "a:b c");
    CHECK(folded_safe("") == "[unknown]");
}

TEST_CASE("frames by build-id: the leaf as is, callers one byte back")
{
    ElfFile elf(workload("stackwork"));
    std::string id = elf.build_id();
    Fn fill = function(elf, "fill"), load_table = function(elf, "load_table");
    ModuleIndex index;
    index.add_file(workload("stackwork"));
    Symbolizer symbols;
    StackNamer namer(index, symbols, nullptr);

    // leaf inside fill, caller inside load_table
    auto names = namer.user_frames(1, {frame(id, fill.offset + 4), frame(id, load_table.offset + 8)});
    CHECK(names == std::vector<std::string>{"load_table", "fill"});

    // a return address exactly at the start of the next function belongs to the call before it
    ElfFile again(workload("stackwork"));
    std::vector<std::pair<uint64_t, std::string>> by_offset;
    for (const auto &f : again.functions())
        by_offset.emplace_back(*again.file_offset(f.value), f.name);
    std::sort(by_offset.begin(), by_offset.end());
    for (size_t i = 1; i < by_offset.size(); ++i) {
        if (by_offset[i - 1].first + function(again, by_offset[i - 1].second).size != by_offset[i].first)
            continue; // only adjacent functions make the point
        auto pair = namer.user_frames(1, {frame(id, by_offset[i].first), frame(id, by_offset[i].first)});
        CHECK(pair[1] == by_offset[i].second);     // leaf: the function that starts there
        CHECK(pair[0] == by_offset[i - 1].second); // caller: the one before
        break;
    }

    // not in the file's loaded code, or an unknown file
    CHECK(namer.user_frames(1, {frame(id, 0xffffa9daa8fba000ull)})[0] == "[unknown]");
    CHECK(namer.user_frames(1, {frame("00112233445566778899", 0x10)})[0] ==
          "[build-id 001122334455+0x10]");
    CHECK(namer.files_seen().size() == 1);
}

TEST_CASE("frames by address: perf maps for JIT code, process mappings, [unknown]")
{
    TempDir dir;
    dir.write("perf-4242.map", "7f0000001000 20 jit_fill\n7f0000002000 10 other [js]\nbogus line\n");
    ModuleIndex index;
    REQUIRE(index.snapshot(getpid()));
    Symbolizer symbols;
    StackNamer namer(index, symbols, nullptr, dir.path().string());
    auto ip = [](uint64_t v) {
        RawUserFrame f;
        f.value = v;
        return f;
    };
    CHECK(namer.user_frames(4242, {ip(0x7f0000001004)})[0] == "jit_fill");
    CHECK(namer.user_frames(4242, {ip(0x7f0000002008)})[0] == "other [js]");
    CHECK(namer.user_frames(4242, {ip(0x7f0000003000)})[0] == "[unknown]");
    // an address in this very process: its function, found through the mappings
    auto here = reinterpret_cast<uint64_t>(&folded_safe);
    CHECK(namer.user_frames(getpid(), {ip(here + 1)})[0].find("folded_safe") != std::string::npos);
}

TEST_CASE("the perf map of a process gone: trusted if its user, noted while it lived, owns it")
{
    if (geteuid() != 0)
        return; // files owned by another user need root (CI runs unit tests as root too)
    TempDir dir;
    // pid 4194303: above pid_max here, so no process has it; its map is "nobody's"
    auto path = dir.write("perf-4194303.map", "7f0000001000 20 jit_fill\n");
    REQUIRE(chown(path.c_str(), 65534, 65534) == 0);
    ModuleIndex index;
    Symbolizer symbols;
    RawUserFrame jit;
    jit.value = 0x7f0000001004;
    StackNamer unknown_user(index, symbols, nullptr, dir.path().string());
    CHECK(unknown_user.user_frames(4194303, {jit})[0] == "[unknown]"); // only root's maps, as before
    StackNamer noted(index, symbols, nullptr, dir.path().string());
    noted.set_process_uids({{4194303, 65534}});
    CHECK(noted.user_frames(4194303, {jit})[0] == "jit_fill");
    StackNamer other(index, symbols, nullptr, dir.path().string());
    other.set_process_uids({{4194303, 1000}});
    CHECK(other.user_frames(4194303, {jit})[0] == "[unknown]");
    CHECK(PerfMap::ignored_because(path.string(), 65534).empty());
    CHECK_FALSE(PerfMap::ignored_because(path.string(), 1000).empty());
}

TEST_CASE("perf maps and kallsyms parse what they should and skip the rest")
{
    PerfMap map = PerfMap::parse("1000 10 a\n2000 0 zero-size\nzz 10 bad\n3000 8 c d e\n");
    CHECK(map.name_at(0x1008) == "a");
    CHECK(map.name_at(0x1010).empty());
    CHECK(map.name_at(0x2000).empty());
    CHECK(map.name_at(0x3004) == "c d e");

    TempDir dir;
    auto kallsyms = dir.write("kallsyms", "ffffffff81000000 T _stext\n"
                                          "ffffffff81001000 t handle_mm_fault\n"
                                          "ffffffff81002000 D some_data\n"
                                          "0000000000000000 T hidden\n");
    KernelSymbols ksyms(kallsyms.string());
    CHECK(ksyms.name_at(0xffffffff81001234) == "handle_mm_fault");
    CHECK(ksyms.name_at(0xffffffff81000010) == "_stext");
    CHECK(ksyms.name_at(0x10).empty());
}

TEST_CASE("frame pointers: detected in clang -fno-omit-frame-pointer code, not in -O2 code")
{
    CHECK(detect_frame_pointers(ElfFile(workload("stackwork"))) == FramePointers::Yes);
    CHECK(detect_frame_pointers(ElfFile(workload("funcwork"))) == FramePointers::No);
}

TEST_CASE("folding: the process root, thread frames, lost stacks, kernel frames below '-'")
{
    ElfFile elf(workload("stackwork"));
    std::string id = elf.build_id();
    Fn fill = function(elf, "fill");
    ModuleIndex index;
    index.add_file(workload("stackwork"));
    Symbolizer symbols;
    KernelSymbols none("/nonexistent");
    StackNamer namer(index, symbols, &none);

    RawStacks raw;
    raw.user[7] = {frame(id, fill.offset + 4)};
    raw.kernel[3] = {0xffffffff81001000, 0xffffffff81000000};
    raw.thread_names[101] = "worker";
    raw.samples = {{100, 101, 7, 3, 4096}, {100, 101, -1, -1, 8192}, {100, 0, 7, -1, 4096}};
    FoldOptions options;
    options.comm_of = [](uint32_t pid) { return pid == 100 ? std::string("app") : std::string(); };

    auto lines = [&](const FoldOptions &o) {
        std::vector<std::string> out;
        for (const auto &l : fold_stacks(raw, namer, o).lines())
            out.push_back(l.stack + " " + std::to_string(l.bytes));
        return out;
    };
    CHECK(lines(options) == std::vector<std::string>{"app;[stack not captured] 8192",
                                                     "app;fill 4096",
                                                     "app;fill;-;[kernel];[kernel] 4096"});
    options.per_thread = true;
    CHECK(lines(options) ==
          std::vector<std::string>{"app-100;fill 4096", "app-100;worker-101;[stack not captured] 8192",
                                   "app-100;worker-101;fill;-;[kernel];[kernel] 4096"});
}

TEST_CASE("mappings the kernel side reported: the file by path and identity, after the process is gone")
{
    TempDir dir; // an empty /proc: the process is gone
    ModuleIndex index(dir.path().string());
    const std::string self = "/proc/self/exe";
    struct stat st {};
    REQUIRE(stat(self.c_str(), &st) == 0);
    const uint64_t dev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
    char real[4096] = {};
    REQUIRE(readlink(self.c_str(), real, sizeof(real) - 1) > 0);

    index.add_mapping(4242, {0x400000, 0x500000, 0x1000, real, dev, st.st_ino});
    MappedAddress at = index.find(4242, 0x400010);
    REQUIRE(at.file);
    CHECK(at.file->path == real);
    CHECK(at.file_offset == 0x1010);

    // another file at that path now (inode differs): not named from it, but
    // the region keeps the path; a file already known is found by identity
    index.add_mapping(4243, {0x400000, 0x500000, 0, real, dev, st.st_ino + 1});
    CHECK_FALSE(index.find(4243, 0x400010).file);
    CHECK(index.find(4243, 0x400010).region == real);
    index.add_mapping(4244, {0x600000, 0x700000, 0, "/nowhere/renamed", dev, st.st_ino});
    REQUIRE(index.find(4244, 0x600000).file);
    CHECK(index.find(4244, 0x600000).file->path == real);

    // a later mapping replaces what it overlaps, not the rest; exec forgets all
    index.add_mapping(4242, {0x500000, 0x510000, 0, "/nowhere/other", dev, st.st_ino + 7});
    CHECK(index.find(4242, 0x400010).file);
    index.add_mapping(4242, {0x480000, 0x490000, 0, "/nowhere/other", dev, st.st_ino + 7});
    CHECK_FALSE(index.find(4242, 0x400010).file);
    CHECK(index.find(4242, 0x480010).region == "/nowhere/other");
    index.forget(4242);
    CHECK_FALSE(index.find(4242, 0x400010).file);
}
