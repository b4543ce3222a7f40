#include "session/verifier_log.h"

#include <array>

namespace memtrace {
namespace {

constexpr std::string_view kBegin = "-- BEGIN PROG LOAD LOG --";
constexpr std::string_view kEnd = "-- END PROG LOAD LOG --";

std::string_view trim(std::string_view s)
{
    const std::string_view space = " \t\r\n";
    size_t first = s.find_first_not_of(space);
    if (first == std::string_view::npos)
        return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// The closing statistics the verifier appends to every log, whatever happened.
bool is_statistics(std::string_view line)
{
    constexpr std::array<std::string_view, 5> prefixes = {
        "processed ", "verification time ", "stack depth ", "max_states_per_insn ", "peak_states "};
    for (std::string_view prefix : prefixes)
        if (line.starts_with(prefix))
            return true;
    return false;
}

std::string last_meaningful_line(std::string_view log)
{
    while (!log.empty()) {
        size_t newline = log.rfind('\n');
        std::string_view line = trim(newline == std::string_view::npos ? log : log.substr(newline + 1));
        if (!line.empty() && !is_statistics(line))
            return std::string(line);
        if (newline == std::string_view::npos)
            break;
        log = log.substr(0, newline);
    }
    return {};
}

// The NAME of the last "prog 'NAME'<suffix>" in `log` before `before`, and where it starts.
std::optional<std::pair<std::string, size_t>> last_program(std::string_view log, std::string_view suffix,
                                                           size_t before = std::string_view::npos)
{
    size_t at = log.rfind(suffix, before);
    if (at == std::string_view::npos)
        return std::nullopt;
    constexpr std::string_view prog = "prog '";
    size_t open = log.rfind(prog, at);
    if (open == std::string_view::npos || log.substr(open, at - open).find('\n') != std::string_view::npos)
        return std::nullopt;
    return std::pair(std::string(log.substr(open + prog.size(), at - open - prog.size())), open);
}

} // namespace

std::optional<VerifierRejection> find_verifier_rejection(std::string_view log)
{
    // libbpf, after the log: "prog 'NAME': failed to load: -13". Before it:
    // "prog 'NAME': BPF program load failed: Permission denied".
    auto failed = last_program(log, "': failed to load");
    if (!failed)
        failed = last_program(log, "': BPF program load failed");
    if (!failed)
        failed = last_program(log, std::string("': ") + std::string(kBegin));
    if (!failed)
        return std::nullopt;
    VerifierRejection rejection{failed->first, {}};

    // Its log: "prog 'NAME': -- BEGIN PROG LOAD LOG --\n...-- END PROG LOAD LOG --".
    // Its beginning may have been cut off (a long log is kept by its end): then
    // it is what precedes the last end marker before the failure.
    std::string begin_line = "prog '" + rejection.program + "': " + std::string(kBegin);
    size_t from = 0, end = std::string_view::npos;
    if (size_t begin = log.rfind(begin_line); begin != std::string_view::npos) {
        from = begin + begin_line.size();
        end = log.find(kEnd, from);
    } else {
        end = log.rfind(kEnd, failed->second);
        if (end != std::string_view::npos && end > 0)
            if (size_t previous = log.rfind(kEnd, end - 1); previous != std::string_view::npos)
                from = previous + kEnd.size();
    }
    if (end == std::string_view::npos)
        return rejection;
    rejection.reason = last_meaningful_line(log.substr(from, end - from));
    return rejection;
}

} // namespace memtrace
