// UniqueFd closes what it owns exactly once; ElfFile::try_open says why it
// refuses a file instead of throwing, and its callers keep or pass on the why.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include "error.h"
#include "probes/probe_planner.h"
#include "symbols/elf_file.h"
#include "temp_dir.h"
#include "unique_fd.h"

using namespace memtrace;

namespace {

bool is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

int open_null()
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

} // namespace

TEST_CASE("UniqueFd: closes on destruction and on reset, not after release")
{
    int raw = open_null();
    REQUIRE(raw >= 0);
    {
        UniqueFd fd(raw);
        CHECK(fd);
        CHECK(fd.get() == raw);
    }
    CHECK_FALSE(is_open(raw));

    UniqueFd fd(open_null());
    int first = fd.get();
    fd.reset(open_null());
    CHECK_FALSE(is_open(first));
    CHECK(is_open(fd.get()));

    int kept = fd.release();
    CHECK_FALSE(fd);
    CHECK(fd.get() == -1);
    CHECK(is_open(kept));
    close(kept);

    CHECK_FALSE(UniqueFd());
}

TEST_CASE("UniqueFd: a move hands the descriptor over")
{
    UniqueFd a(open_null());
    int raw = a.get();
    UniqueFd b(std::move(a));
    CHECK_FALSE(a);
    CHECK(b.get() == raw);

    UniqueFd c(open_null());
    int other = c.get();
    c = std::move(b);
    CHECK_FALSE(is_open(other)); // what c owned before is closed
    CHECK(c.get() == raw);
    CHECK(is_open(raw));
}

TEST_CASE("ElfFile::try_open: a reason for each file it refuses, no exception")
{
    memtrace::testing::TempDir dir;
    ElfOpen missing = ElfFile::try_open((dir.path() / "missing").string());
    CHECK_FALSE(missing.file);
    CHECK(missing.why.find("cannot read") != std::string::npos);
    CHECK(missing.why.find("No such file") != std::string::npos);

    ElfOpen text = ElfFile::try_open(dir.write("notes.txt", "not an ELF file\n").string());
    CHECK_FALSE(text.file);
    CHECK(text.why.find("is not an ELF file") != std::string::npos);

    // the throwing constructor says the same
    CHECK_THROWS_WITH(ElfFile((dir.path() / "notes.txt").string()), text.why);

    ElfOpen real = ElfFile::try_open(std::string(MT_BUILD_DIR) + "/workloads/funcwork");
    REQUIRE(real.file);
    CHECK(real.why.empty());
    CHECK_FALSE(real.file->segments().empty());
    CHECK_FALSE(real.file->build_id().empty());
}

TEST_CASE("plan: a module the pattern names but cannot read says why; one it does not name is skipped")
{
    memtrace::testing::TempDir dir;
    std::string text = dir.write("libnotes.so", "not an ELF file\n").string();
    std::string funcwork = std::string(MT_BUILD_DIR) + "/workloads/funcwork";
    PlanRequest req;
    req.modules = {{funcwork, funcwork, true}, {text, text, false}};

    req.patterns = parse_function_patterns(text + ":keep_memory");
    CHECK_THROWS_WITH(plan_function_probes(req), "'" + text + "' is not an ELF file");

    req.patterns = parse_function_patterns("keep_memory");
    auto probes = plan_function_probes(req);
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].module == funcwork);
}
