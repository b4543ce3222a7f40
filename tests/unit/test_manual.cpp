// memtrace.1 and the bash completion, generated from a fixed option table.
#include <catch2/catch.hpp>

#include "cli/bash_completion.h"
#include "cli/man_page.h"

using namespace memtrace;

namespace {

ManualDoc sample_doc()
{
    ManualDoc doc;
    doc.version = "memtrace 9.9";
    doc.summary = "memory, exactly";
    doc.usage = "  memtrace [options] -- CMD\n";
    doc.description = "Traces memory.\n.dot at a line's start\n";
    doc.footer = "\nExamples:\n  sudo memtrace -- ./a   trace a\\b\n\nNeeds root.\n";
    doc.main.name = "memtrace";
    doc.main.options = {{{"-p", "--pid"}, "PID[,PID...]", "Attach", "Target"},
                        {{"--stacks"}, "touch|map|peak|end", "What weighs a stack", "Stacks"},
                        {{"--folded"}, "FILE", "Stacks to FILE", "Stacks"},
                        {{"-q", "--quiet"}, "", "Quiet", "Output"}};
    doc.subcommands = {{"plot", "memtrace plot: plots.\n", {{{"--png"}, "", "PNG", "Options"}},
                        {{{"files"}, "FILE", "Recordings", "Options"}}}};
    return doc;
}

} // namespace

TEST_CASE("man page: sections, options by group, roff escapes", "[man]")
{
    const std::string page = man_page(sample_doc());
    CHECK(page.find(".TH MEMTRACE 1 \"\" \"memtrace 9.9\" \"User Commands\"\n") != std::string::npos);
    CHECK(page.find(".SH NAME\nmemtrace \\- memory, exactly\n") != std::string::npos);
    CHECK(page.find(".SS Target\n.TP\n\\fB\\-p\\fR, \\fB\\-\\-pid\\fR \\fIPID[,PID...]\\fR\nAttach\n") !=
          std::string::npos);
    CHECK(page.find(".SS Stacks\n.TP\n\\fB\\-\\-stacks\\fR \\fItouch|map|peak|end\\fR\n") != std::string::npos);
    CHECK(page.find("\\fB\\-q\\fR, \\fB\\-\\-quiet\\fR\nQuiet\n") != std::string::npos); // a flag: no value
    CHECK(page.find("\\&.dot at a line's start") != std::string::npos);
    CHECK(page.find(".SH \"EXAMPLES\"\n.PP\n.nf\n  sudo memtrace -- ./a   trace a\\eb\n.fi\n") != std::string::npos);
    CHECK(page.find(".SH NOTES\nNeeds root.\n") != std::string::npos);
    CHECK(page.find(".SS \"memtrace plot\"") != std::string::npos);
    CHECK(page.find("\\fBfiles\\fR \\fIFILE\\fR\nRecordings") != std::string::npos);
}

TEST_CASE("bash completion: option values, files, pids, subcommands' options", "[completion]")
{
    const std::string script = bash_completion(sample_doc());
    CHECK(script.find("    :--stacks|record:--stacks)\n        COMPREPLY=($(compgen -W 'touch map peak end' "
                      "-- \"$cur\"))\n") != std::string::npos);
    CHECK(script.find(":--folded|record:--folded)\n        _memtrace_files\n") != std::string::npos);
    CHECK(script.find(":-p|:--pid|record:-p|record:--pid)\n        COMPREPLY=($(compgen -W \"$(_memtrace_pids)\"") !=
          std::string::npos);
    CHECK(script.find("compgen -W '-p --pid --stacks --folded -q --quiet'") != std::string::npos);
    CHECK(script.find("plot) COMPREPLY=($(compgen -W '--png'") != std::string::npos);
    CHECK(script.find("complete -F _memtrace memtrace\n") != std::string::npos);
}

TEST_CASE("option_choices: the values an option names", "[completion]")
{
    CHECK(option_choices({{"--unwind"}, "fp|dwarf|auto", "", ""}) ==
          std::vector<std::string>{"fp", "dwarf", "auto"});
    CHECK(option_choices({{"--format"}, "mprof", "", ""}) == std::vector<std::string>{"mprof"});
    CHECK(option_choices({{"-o"}, "FILE", "", ""}).empty());
}
