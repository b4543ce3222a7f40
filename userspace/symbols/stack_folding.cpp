#include "symbols/stack_folding.h"

#include <algorithm>

namespace memtrace {

bool frame_pointer_root(const std::string &frame)
{
    return frame == "__libc_start_call_main" || frame == "start_thread";
}

FoldedStacks fold_stacks(const RawStacks &raw, StackNamer &namer, const FoldOptions &options)
{
    FoldedStacks folded;
    fold_stacks(raw, namer, options, folded);
    return folded;
}

void fold_stacks(const RawStacks &raw, StackNamer &namer, const FoldOptions &options, FoldedStacks &folded)
{
    std::map<std::pair<uint32_t, int32_t>, std::vector<NamedFrame>> user_names; // by (pid, id)
    std::map<int32_t, std::vector<std::string>> kernel_names;
    for (const RawStackSample &s : raw.samples) {
        std::string comm = options.comm_of ? options.comm_of(s.tgid) : "";
        if (comm.empty())
            comm = "[pid " + std::to_string(s.tgid) + "]";
        std::vector<std::string> frames;
        std::vector<FrameSource> sources;
        bool per_pid = options.per_pid || options.per_thread;
        frames.push_back(folded_safe(per_pid ? comm + "-" + std::to_string(s.tgid) : comm));
        if (options.per_thread && s.tid) {
            auto name = raw.thread_names.find(s.tid);
            std::string thread = name != raw.thread_names.end() && !name->second.empty()
                                     ? name->second
                                     : "thread";
            frames.push_back(folded_safe(thread + "-" + std::to_string(s.tid)));
        }
        // A stack id names the same frames in every process but for address
        // frames, which depend on the process: cache per (pid, id) then.
        auto user = raw.user.find(s.user_id);
        if (s.user_id >= 0 && user != raw.user.end()) {
            const bool by_address = std::any_of(user->second.begin(), user->second.end(),
                                                [](const auto &f) { return f.kind == RawUserFrame::Ip; });
            auto key = std::make_pair(by_address ? s.tgid : 0u, s.user_id);
            auto cached = user_names.find(key);
            if (cached == user_names.end()) {
                std::vector<NamedFrame> names =
                    namer.named_user_frames(static_cast<pid_t>(s.tgid), user->second);
                if (options.trim_to_frame_pointer_roots) {
                    auto root = std::find_if(names.begin(), names.end(),
                                             [](const NamedFrame &f) { return frame_pointer_root(f.name); });
                    if (root != names.end())
                        names.erase(names.begin(), root);
                }
                cached = user_names.emplace(key, std::move(names)).first;
            }
            sources.resize(frames.size());
            for (const NamedFrame &f : cached->second) {
                frames.push_back(f.name);
                sources.push_back(f.source);
            }
        } else {
            frames.push_back("[stack not captured]");
        }
        auto kernel = raw.kernel.find(s.kernel_id);
        if (s.kernel_id >= 0 && kernel != raw.kernel.end()) {
            auto cached = kernel_names.find(s.kernel_id);
            if (cached == kernel_names.end())
                cached = kernel_names.emplace(s.kernel_id, namer.kernel_frames(kernel->second)).first;
            frames.push_back("-");
            frames.insert(frames.end(), cached->second.begin(), cached->second.end());
        }
        sources.resize(frames.size());
        folded.add(frames, s.bytes, sources);
    }
}

} // namespace memtrace
