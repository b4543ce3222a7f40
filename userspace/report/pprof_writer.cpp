#include "report/pprof_writer.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "report/gzip.h"
#include "report/protobuf_encoder.h"

namespace memtrace {
namespace {

// profile.proto's field numbers.
namespace field {
constexpr uint32_t kSampleType = 1, kSample = 2, kMapping = 3, kLocation = 4, kFunction = 5,
                   kStringTable = 6, kTimeNanos = 9, kDurationNanos = 10, kPeriodType = 11,
                   kPeriod = 12, kComment = 13, kDefaultSampleType = 14;
}

std::string weight_description(const std::string &kind)
{
    if (kind == "map")
        return "memory mapped (mmap, brk, mremap)";
    if (kind == "peak")
        return "memory brought in and still resident at the process's peak RSS";
    if (kind == "end")
        return "memory brought in and still resident when the process ended or tracing stopped";
    return "memory brought into RSS (pages touched)";
}

// The tables a Profile refers to by index or id, filled as samples come.
class ProfileTables {
public:
    int64_t string_index(const std::string &s)
    {
        auto [it, added] = strings_.try_emplace(s, static_cast<int64_t>(string_list_.size()));
        if (added)
            string_list_.push_back(s);
        return it->second;
    }

    uint64_t location_id(const std::string &name, const FrameSource &source)
    {
        auto key = std::make_tuple(name, source.module, source.build_id, source.offset, source.file,
                                   source.line);
        auto [it, added] = locations_.try_emplace(key, locations_.size() + 1);
        if (added) {
            ProtobufEncoder loc;
            loc.varint_field(1, it->second);
            if (uint64_t mapping = mapping_id(source)) {
                loc.varint_field(2, mapping);
                loc.varint_field(3, source.offset);
            }
            ProtobufEncoder line;
            line.varint_field(1, function_id(name, source.file));
            if (source.line > 0)
                line.int64_field(2, source.line);
            loc.message_field(4, line);
            location_messages_.push_back(loc);
        }
        return it->second;
    }

    void write(ProtobufEncoder &profile)
    {
        // pprof takes the first mapping for the program ("File:"): programs before libraries.
        std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> order(mappings_.begin(),
                                                                                   mappings_.end());
        std::stable_partition(order.begin(), order.end(), [](const auto &m) {
            return m.first.first.find(".so") == std::string::npos;
        });
        for (const auto &[key, id] : order) {
            ProtobufEncoder m;
            m.varint_field(1, id);
            m.varint_field(2, 0);                            // memory_start: addresses are offsets
            m.varint_field(3, mapping_limits_[id - 1] + 1);  // memory_limit
            m.varint_field(4, 0);                            // file_offset
            m.int64_field(5, string_index(key.first));
            m.int64_field(6, string_index(key.second));
            m.varint_field(7, 1); // has_functions: pprof must not symbolize again
            profile.message_field(field::kMapping, m);
        }
        for (const ProtobufEncoder &loc : location_messages_)
            profile.message_field(field::kLocation, loc);
        for (const ProtobufEncoder &f : function_messages_)
            profile.message_field(field::kFunction, f);
        for (const std::string &s : string_list_)
            profile.bytes_field(field::kStringTable, s);
    }

private:
    uint64_t mapping_id(const FrameSource &source)
    {
        if (source.module.empty() && source.build_id.empty())
            return 0;
        auto [it, added] = mappings_.try_emplace({source.module, source.build_id}, mappings_.size() + 1);
        if (added)
            mapping_limits_.push_back(0);
        uint64_t &limit = mapping_limits_[it->second - 1];
        limit = std::max(limit, source.offset);
        return it->second;
    }

    uint64_t function_id(const std::string &name, const std::string &file)
    {
        auto [it, added] = functions_.try_emplace({name, file}, functions_.size() + 1);
        if (added) {
            ProtobufEncoder f;
            f.varint_field(1, it->second);
            f.int64_field(2, string_index(name));
            f.int64_field(3, string_index(name)); // system_name
            f.int64_field(4, string_index(file));
            function_messages_.push_back(f);
        }
        return it->second;
    }

    std::map<std::string, int64_t> strings_{{"", 0}};
    std::vector<std::string> string_list_{""};
    std::map<std::tuple<std::string, std::string, std::string, uint64_t, std::string, int64_t>, uint64_t>
        locations_;
    std::vector<ProtobufEncoder> location_messages_;
    std::map<std::pair<std::string, std::string>, uint64_t> mappings_; // (file, build-id) -> id
    std::vector<uint64_t> mapping_limits_;                              // highest offset, by id - 1
    std::map<std::pair<std::string, std::string>, uint64_t> functions_; // (name, file) -> id
    std::vector<ProtobufEncoder> function_messages_;
};

ProtobufEncoder value_type(ProfileTables &tables, const std::string &type, const std::string &unit)
{
    ProtobufEncoder v;
    v.int64_field(1, tables.string_index(type));
    v.int64_field(2, tables.string_index(unit));
    return v;
}

} // namespace

std::string pprof_profile(const FoldedStacks &stacks, const PprofHeader &header)
{
    ProfileTables tables;
    ProtobufEncoder profile;
    profile.message_field(field::kSampleType, value_type(tables, "space", "bytes"));
    for (const FoldedLine &line : stacks.lines()) {
        std::vector<uint64_t> ids; // leaf first
        for (size_t i = line.frames.size(); i-- > 0;)
            ids.push_back(tables.location_id(line.frames[i], i < line.sources.size() ? line.sources[i]
                                                                                     : FrameSource{}));
        ProtobufEncoder sample;
        sample.packed_field(1, ids);
        sample.packed_field(2, {line.bytes});
        profile.message_field(field::kSample, sample);
    }
    if (header.time_nanos)
        profile.int64_field(field::kTimeNanos, header.time_nanos);
    if (header.duration_nanos)
        profile.int64_field(field::kDurationNanos, header.duration_nanos);
    profile.message_field(field::kPeriodType, value_type(tables, "space", "bytes"));
    profile.int64_field(field::kPeriod, static_cast<int64_t>(header.sample_bytes));
    profile.int64_field(field::kComment,
                        tables.string_index("memtrace --stacks " + header.kind + ": " +
                                            weight_description(header.kind) + ", in bytes"));
    profile.int64_field(field::kDefaultSampleType, tables.string_index("space"));
    tables.write(profile);
    return profile.bytes();
}

std::string pprof_file(const FoldedStacks &stacks, const PprofHeader &header)
{
    return gzip_compress(pprof_profile(stacks, header));
}

} // namespace memtrace
