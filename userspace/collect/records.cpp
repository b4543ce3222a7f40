#include "collect/records.h"

#include <cstring>

namespace memtrace {

std::string comm_string(const char (&comm)[MT_COMM_LEN])
{
    return std::string(comm, strnlen(comm, MT_COMM_LEN));
}

std::string join_cmdline(std::string_view raw)
{
    while (!raw.empty() && raw.back() == '\0')
        raw.remove_suffix(1);
    std::string out(raw);
    for (char &c : out)
        if (c == '\0' || c == '\n' || c == '\t')
            c = ' ';
    return out;
}

std::string path_from_names(std::string_view leaf_first)
{
    std::string path;
    while (!leaf_first.empty()) {
        size_t end = leaf_first.find('\0');
        std::string_view name = leaf_first.substr(0, end);
        if (!name.empty())
            path = "/" + std::string(name) + path;
        if (end == std::string_view::npos)
            break;
        leaf_first.remove_prefix(end + 1);
    }
    return path.empty() ? "/" : path;
}

namespace {

Record decode_stack(const mt_rec_hdr &hdr, std::span<const std::byte> bytes)
{
    mt_rec_stack rec{};
    if (bytes.size() < sizeof(rec))
        return MalformedRecord{"short stack record"};
    std::memcpy(&rec, bytes.data(), sizeof(rec));
    if (rec.size > MT_STACK_COPY_MAX || bytes.size() - sizeof(rec) < rec.size)
        return MalformedRecord{"stack record of " + std::to_string(bytes.size()) +
                               " bytes claims " + std::to_string(rec.size) + " bytes of stack"};
    StackRecord out;
    out.snapshot.pid = hdr.tgid;
    out.snapshot.tid = rec.tid;
    out.snapshot.ip = rec.ip;
    out.snapshot.sp = rec.sp;
    out.snapshot.bp = rec.bp;
    const auto *data = reinterpret_cast<const uint8_t *>(bytes.data()) + sizeof(rec);
    out.snapshot.stack.assign(data, data + rec.size);
    out.snapshot.ended_early = rec.flags & MT_COPY_ENDED_EARLY;
    out.weight = rec.weight;
    out.rss_pages = rec.rss;
    out.kernel_stack = rec.kernel_stack;
    out.label_tid = rec.tid;
    out.ts_ns = hdr.ts_ns;
    out.addr = rec.addr;
    for (uint32_t i = 0; i < rec.py_count && i < MT_PY_FRAMES; ++i)
        out.python.push_back({rec.py[i].code, rec.py[i].names, rec.py[i].instr,
                              (rec.py[i].flags & MT_PY_ENTRY) != 0});
    out.python_status = rec.py_status;
    return out;
}

} // namespace

Record decode_record(std::span<const std::byte> bytes)
{
    mt_rec_hdr hdr{};
    if (bytes.size() < sizeof(hdr))
        return MalformedRecord{"record of " + std::to_string(bytes.size()) + " bytes"};
    std::memcpy(&hdr, bytes.data(), sizeof(hdr));

    switch (hdr.type) {
    case MT_REC_EXEC: {
        mt_rec_exec rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short exec record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        size_t len = rec.args_len < MT_ARGS_LEN ? rec.args_len : MT_ARGS_LEN;
        return ExecRecord{hdr.tgid, rec.ppid, hdr.ts_ns, comm_string(rec.comm),
                          join_cmdline(std::string_view(rec.args, len)), rec.held != 0,
                          std::string(rec.filename, strnlen(rec.filename, MT_PATH_LEN))};
    }
    case MT_REC_MAPPING: {
        mt_rec_mapping rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short mapping record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        const size_t len = rec.path_len < sizeof(rec.path) ? rec.path_len : sizeof(rec.path);
        return MappingRecord{hdr.tgid, hdr.ts_ns, rec.start, rec.end, rec.pgoff, rec.file.dev, rec.file.ino,
                             rec.flags & MT_MAP_PATH_CUT ? "" : path_from_names(std::string_view(rec.path, len))};
    }
    case MT_REC_EXIT: {
        mt_rec_exit rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short exit record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        return ExitRecord{hdr.ts_ns, rec.proc};
    }
    case MT_REC_EXEC_MAP:
        return ExecMapRecord{hdr.tgid};
    case MT_REC_POINT: {
        mt_rec_point rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short point record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        return PointRecord{hdr.tgid, hdr.ts_ns, rec.rss_end, rec.rss_max};
    }
    case MT_REC_MARK: {
        mt_rec_mark rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short mark record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        return MarkRecord{hdr.tgid, rec.tid,  rec.func,    rec.entry_ns,     hdr.ts_ns,
                          rec.base, rec.peak, rec.rss_end, rec.returned != 0};
    }
    case MT_REC_RETSITE: {
        mt_rec_retsite rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short return-site record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        return RetsiteRecord{hdr.tgid, rec.func, rec.ret_addr};
    }
    case MT_REC_STACK:
        return decode_stack(hdr, bytes);
    case MT_REC_SAMPLE: {
        mt_rec_sample rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short sample record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        return SampleRecord{hdr.tgid, rec.tid, hdr.ts_ns, rec.user_stack, rec.kernel_stack,
                            rec.weight, rec.addr};
    }
    case MT_REC_RANGE: {
        mt_rec_range rec{};
        if (bytes.size() < sizeof(rec))
            return MalformedRecord{"short range record"};
        std::memcpy(&rec, bytes.data(), sizeof(rec));
        if (rec.kind < MT_RANGE_GONE || rec.kind > MT_RANGE_RESET)
            return MalformedRecord{"range record of unknown kind " + std::to_string(rec.kind)};
        return RangeRecord{hdr.tgid, rec.kind, hdr.ts_ns, rec.start, rec.len, rec.to, rec.new_len};
    }
    default:
        return MalformedRecord{"unknown record type " + std::to_string(hdr.type)};
    }
}

} // namespace memtrace
