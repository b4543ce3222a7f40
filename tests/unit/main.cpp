// Unit tests: pure logic (parsers, model, writers). They link the core library
// only, without libbpf, so they cannot need root.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
