// The protocol buffers wire format, as much of it as pprof's profile.proto
// needs: varints, 64-bit integers, strings and nested messages, packed
// repeated integers (protobuf.dev/programming-guides/encoding).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memtrace {

class ProtobufEncoder {
public:
    // Fields of value 0 or "" are written too: pprof's string_table[0] is "".
    void varint_field(uint32_t field, uint64_t value);
    void int64_field(uint32_t field, int64_t value) { varint_field(field, static_cast<uint64_t>(value)); }
    void bytes_field(uint32_t field, const std::string &bytes);
    void message_field(uint32_t field, const ProtobufEncoder &message) { bytes_field(field, message.bytes_); }
    void packed_field(uint32_t field, const std::vector<uint64_t> &values);

    const std::string &bytes() const { return bytes_; }

private:
    void varint(uint64_t value);
    void tag(uint32_t field, uint32_t wire_type) { varint((uint64_t{field} << 3) | wire_type); }
    std::string bytes_;
};

} // namespace memtrace
