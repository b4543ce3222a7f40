// IdleFiles: a file no process maps is let go only once it has stayed unused
// for the grace period; used again in between, it starts over.
#include <catch2/catch.hpp>

#include "collect/idle_files.h"

using namespace memtrace;

namespace {
constexpr uint64_t kSecond = 1'000'000'000ull;
}

TEST_CASE("idle files: released after the grace period unused, not before", "[idle-files]")
{
    ModuleFile cc1{"/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "", ""}, as{"/usr/bin/as", "", ""};
    IdleFiles idle(10 * kSecond);

    CHECK(idle.expired({&cc1}, 100 * kSecond).empty()); // unused from now on
    CHECK(idle.expired({&cc1, &as}, 105 * kSecond).empty());
    CHECK(idle.waiting() == 2);
    CHECK(idle.expired({&cc1, &as}, 110 * kSecond - 1).empty()); // one ns short
    CHECK(idle.expired({&cc1, &as}, 110 * kSecond) == std::set<const ModuleFile *>{&cc1});
    CHECK(idle.waiting() == 1); // released: forgotten (its address may be reused)
    CHECK(idle.expired({&as}, 115 * kSecond) == std::set<const ModuleFile *>{&as});
    CHECK(idle.waiting() == 0);
}

TEST_CASE("idle files: a file used again starts over", "[idle-files]")
{
    ModuleFile cc1{"/usr/lib/gcc/x86_64-linux-gnu/12/cc1", "", ""};
    IdleFiles idle(10 * kSecond);

    CHECK(idle.expired({&cc1}, 0).empty());
    CHECK(idle.expired({}, 9 * kSecond).empty()); // mapped again by the next compiler
    CHECK(idle.waiting() == 0);
    CHECK(idle.expired({&cc1}, 12 * kSecond).empty()); // unused again: 10 s from here
    CHECK(idle.expired({&cc1}, 21 * kSecond).empty());
    CHECK(idle.expired({&cc1}, 22 * kSecond) == std::set<const ModuleFile *>{&cc1});
}

TEST_CASE("idle files: no grace lets everything unused go at once", "[idle-files]")
{
    ModuleFile a{"/a", "", ""}, b{"/b", "", ""};
    IdleFiles idle(0);
    CHECK(idle.expired({&a, &b}, 7) == std::set<const ModuleFile *>{&a, &b});
    CHECK(idle.waiting() == 0);
}
