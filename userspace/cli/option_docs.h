// The option table as plain data, read from the one CLI11 parses, for the
// manual page and the shell completion: they cannot drift from --help.
#pragma once

#include <string>
#include <vector>

namespace memtrace {

struct OptionDoc {
    std::vector<std::string> names; // "-p", "--pid"
    std::string value;              // "PID[,PID...]", "touch|map|peak|end"; "" for a flag
    std::string description;
    std::string group;              // "Target", "Stacks", ...
};

// A subcommand (plot, report) or memtrace itself.
struct CommandDoc {
    std::string name;        // "memtrace", "plot", "report"
    std::string description; // its --help text before the options
    std::vector<OptionDoc> options;
    std::vector<OptionDoc> positionals; // names: the value's name ("files")
};

struct ManualDoc {
    std::string version;     // "memtrace 0.1.0"
    std::string summary;     // one line for NAME
    std::string usage;       // the usage block
    std::string description; // what it does
    std::string footer;      // examples, what the figures mean, requirements
    CommandDoc main;
    std::vector<CommandDoc> subcommands;
};

// The values an option takes, when it names them ("touch|map|peak|end"): none otherwise.
std::vector<std::string> option_choices(const OptionDoc &option);

} // namespace memtrace
