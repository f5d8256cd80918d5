#include "ringlane/blk/request.h"

#include <cstring>

#include "ringlane/virtio/blk_spec.h"

namespace ringlane::blk {

const char* to_string(RequestFault fault) {
  switch (fault) {
    case RequestFault::none:
      return "none";
    case RequestFault::no_header:
      return "request header missing or short";
    case RequestFault::no_status:
      return "no device-writable byte for the status";
    case RequestFault::wrong_direction:
      return "data in the wrong direction for the request type";
    case RequestFault::bad_length:
      return "data length not a whole number of sectors or ranges";
  }
  return "unknown";
}

namespace {

// Copies `len` bytes from the front of spans[*index...] into `out` and consumes them, so that
// spans[*index] then starts right after them.
void take_front(std::span<virtio::HostSpan> spans, uint32_t* index, uint8_t* out, uint64_t len) {
  while (len > 0) {
    virtio::HostSpan& s = spans[*index];
    uint64_t n = s.len < len ? s.len : len;
    std::memcpy(out, s.data, n);
    out += n;
    len -= n;
    s.data += n;
    s.len -= n;
    if (s.len == 0) ++*index;
  }
}

enum class DataSide : uint8_t { none, readable, writable };

DataSide data_side(uint32_t type) {
  switch (type) {
    case virtio::kBlkTOut:
    case virtio::kBlkTDiscard:
    case virtio::kBlkTWriteZeroes:
      return DataSide::readable;
    case virtio::kBlkTIn:
    case virtio::kBlkTGetId:
    case virtio::kBlkTGetLifetime:
      return DataSide::writable;
    default:
      return DataSide::none;
  }
}

}  // namespace

Request parse_request(std::span<virtio::HostSpan> spans, const virtio::RequestChainWalk& walk) {
  Request r;
  uint64_t writable_bytes = walk.bytes - walk.readable_bytes;
  // The status byte first: without it not even IOERR can be said.
  if (writable_bytes == 0) {
    r.fault = RequestFault::no_status;
    return r;
  }
  virtio::HostSpan& last = spans[walk.spans - 1];
  r.status = last.data + last.len - 1;
  last.len -= 1;
  uint32_t writable_end = last.len == 0 ? walk.spans - 1 : walk.spans;
  writable_bytes -= 1;

  if (walk.readable_bytes < sizeof(virtio::BlkRequestHeader)) {
    r.fault = RequestFault::no_header;
    return r;
  }
  virtio::BlkRequestHeader header;
  uint32_t readable_first = 0;
  take_front(spans, &readable_first, reinterpret_cast<uint8_t*>(&header), sizeof(header));
  r.type = header.type;
  r.sector = header.sector;
  uint64_t readable_bytes = walk.readable_bytes - sizeof(header);

  switch (data_side(r.type)) {
    case DataSide::readable:
      if (writable_bytes != 0) r.fault = RequestFault::wrong_direction;
      r.first_span = readable_first;
      r.span_count = walk.readable_spans - readable_first;
      r.data_bytes = readable_bytes;
      break;
    case DataSide::writable:
      if (readable_bytes != 0) r.fault = RequestFault::wrong_direction;
      r.first_span = walk.readable_spans;
      r.span_count = writable_end - walk.readable_spans;
      r.data_bytes = writable_bytes;
      break;
    case DataSide::none:
      // FLUSH carries nothing; an unknown type is answered UNSUPP whatever it carries.
      if (r.type == virtio::kBlkTFlush && (readable_bytes != 0 || writable_bytes != 0)) {
        r.fault = RequestFault::wrong_direction;
      }
      break;
  }
  if (r.fault != RequestFault::none) return r;
  switch (r.type) {
    case virtio::kBlkTIn:
    case virtio::kBlkTOut:
      if (r.data_bytes % virtio::kBlkSectorSize != 0) r.fault = RequestFault::bad_length;
      break;
    case virtio::kBlkTDiscard:
    case virtio::kBlkTWriteZeroes:
      if (r.data_bytes == 0 || r.data_bytes % sizeof(virtio::BlkDiscardWriteZeroes) != 0) {
        r.fault = RequestFault::bad_length;
      }
      break;
    default:
      break;
  }
  return r;
}

bool within_capacity(uint64_t sector, uint64_t bytes, uint64_t capacity) {
  uint64_t sectors = bytes / virtio::kBlkSectorSize + (bytes % virtio::kBlkSectorSize != 0);
  return sector <= capacity && sectors <= capacity - sector;
}

}  // namespace ringlane::blk
