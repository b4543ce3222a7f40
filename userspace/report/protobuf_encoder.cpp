#include "report/protobuf_encoder.h"

namespace memtrace {

namespace {
constexpr uint32_t kVarint = 0, kLengthDelimited = 2;
}

void ProtobufEncoder::varint(uint64_t value)
{
    while (value >= 0x80) {
        bytes_.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    bytes_.push_back(static_cast<char>(value));
}

void ProtobufEncoder::varint_field(uint32_t field, uint64_t value)
{
    tag(field, kVarint);
    varint(value);
}

void ProtobufEncoder::bytes_field(uint32_t field, const std::string &bytes)
{
    tag(field, kLengthDelimited);
    varint(bytes.size());
    bytes_ += bytes;
}

void ProtobufEncoder::packed_field(uint32_t field, const std::vector<uint64_t> &values)
{
    ProtobufEncoder packed;
    for (uint64_t v : values)
        packed.varint(v);
    bytes_field(field, packed.bytes_);
}

} // namespace memtrace
