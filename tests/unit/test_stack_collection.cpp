// The stack collection's bookkeeping of mappings, driven by a fake kernel side.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <optional>

#include "collect/stack_collection.h"
#include "fake_kernel.h"
#include "symbols/elf_file.h"

using namespace memtrace;
using memtrace::testing::FakeKernel;

namespace {

class QuietProgress final : public Progress {
public:
    std::vector<std::string> warnings;
    void info(const std::string &) override {}
    void warning(const std::string &line) override { warnings.push_back(line); }
    void detail(const std::string &) override {}
    void hot(const HotFunction &) override {}
    void live(double, const std::vector<LiveProcess> &, size_t) override {}
};

// The kernel side's record of `path`'s executable segment mapped at `base`
// in this process (as at exec, or at a library's mmap).
MappingRecord code_mapping(const std::string &path, uint64_t base)
{
    ElfOpen elf = ElfFile::try_open(path);
    REQUIRE(elf.file);
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    for (const LoadSegment &seg : elf.file->segments())
        if (seg.executable) {
            MappingRecord m;
            m.pid = static_cast<uint32_t>(getpid());
            m.ts_ns = 1;
            m.start = base + (seg.vaddr & ~0xfffull);
            m.end = base + ((seg.vaddr + seg.memsz + 0xfff) & ~0xfffull);
            m.offset = seg.offset & ~0xfffull;
            m.dev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
            m.ino = st.st_ino;
            m.path = path;
            return m;
        }
    FAIL("no executable segment in " << path);
    return {};
}

// --folded (stack copies, Python frames unless turned off) over a fake kernel side.
struct Folded {
    explicit Folded(bool python_frames = true)
    {
        config.stacks = StackWeight::Touch;
        config.fold_stacks = true;
        config.python_frames = python_frames;
        stacks.emplace(kernel, config, progress);
    }
    FakeKernel kernel;
    QuietProgress progress;
    TraceConfig config;
    std::optional<StackCollection> stacks;
};

} // namespace

TEST_CASE("stack collection: a Python interpreter is registered as its code is reported mapped, "
          "before any copy is unwound", "[python]")
{
    Folded f;
    // a program that is not Python: nothing to register
    f.stacks->add_mapping(code_mapping("/bin/true", 0x555555554000));
    CHECK(f.kernel.python.empty());
    // Debian's python3 (the runtime in the executable): registered at once,
    // not after the drain (after_drain() is not called here)
    f.stacks->add_mapping(code_mapping("/usr/bin/python3.11", 0x7f0000000000));
    REQUIRE(f.kernel.python.size() == 1);
    CHECK(f.kernel.python[0] == static_cast<uint32_t>(getpid()));
    // its later mappings do not register it again
    f.stacks->add_mapping(code_mapping("/usr/bin/python3.11", 0x7f0000000000));
    CHECK(f.kernel.python.size() == 1);
    CHECK(f.stacks->python_processes() == 1);
    CHECK(f.progress.warnings.empty());
}

TEST_CASE("stack collection: --no-python-frames registers no interpreter", "[python]")
{
    Folded f(/*python_frames=*/false);
    f.stacks->add_mapping(code_mapping("/usr/bin/python3.11", 0x7f0000000000));
    CHECK(f.kernel.python.empty());
}

TEST_CASE("stack collection: a Python process that execs Python again is registered again", "[python]")
{
    Folded f;
    const uint32_t pid = static_cast<uint32_t>(getpid());
    f.stacks->add_mapping(code_mapping("/usr/bin/python3.11", 0x7f0000000000));
    REQUIRE(f.kernel.python.size() == 1);
    // os.execv(sys.executable, ...) without ASLR: the same interpreter at the
    // same address; the kernel side dropped it at the exec
    f.stacks->program_changed(pid, 2);
    f.stacks->add_mapping(code_mapping("/usr/bin/python3.11", 0x7f0000000000));
    CHECK(f.kernel.python == std::vector<uint32_t>{pid, pid});
    CHECK(f.stacks->python_processes() == 1); // one process, whatever it runs
}
