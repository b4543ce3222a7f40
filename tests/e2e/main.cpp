// End-to-end tests: the real memtrace binary, as root, against workloads whose
// memory behaviour is known by construction. They load BPF: they run in CI and
// fail (never skip) when a prerequisite is missing.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
