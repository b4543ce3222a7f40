#include <catch2/catch.hpp>
#include <sstream>

#include "report/text_table.h"

using namespace memtrace;

TEST_CASE("TextTable aligns columns and leaves no trailing spaces")
{
    TextTable t;
    t.add_column("PID", TextTable::Align::Right);
    t.add_column("NAME", TextTable::Align::Left);
    t.add_column("SIZE", TextTable::Align::Right);
    t.add_column("NOTE", TextTable::Align::Left);
    t.add_row({"1", "init", "12.0 MiB", ""});
    t.add_row({"12345", "a", "0 B", "long note"});
    std::ostringstream out;
    t.write(out);
    CHECK(out.str() ==
          "  PID  NAME      SIZE  NOTE\n"
          "    1  init  12.0 MiB\n"
          "12345  a          0 B  long note\n");
}

TEST_CASE("TextTable pads missing cells")
{
    TextTable t;
    t.add_column("A", TextTable::Align::Left);
    t.add_column("B", TextTable::Align::Left);
    t.add_row({"x"});
    std::ostringstream out;
    t.write(out);
    CHECK(out.str() == "A  B\nx\n");
}
