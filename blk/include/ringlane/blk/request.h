// A virtio-blk request as a guest wrote it, taken apart: the header, the data, the status byte.
// The chain is untrusted; each way it can be malformed has a fault of its own, so the device
// answers IOERR (or nothing, when there is no status byte to write) and counts the reason.
// Pure: no I/O, no queue; the spans come from walk_request_chain().
#pragma once

#include <cstdint>
#include <span>

#include "ringlane/virtio/guest_memory.h"
#include "ringlane/virtio/request_chain.h"

namespace ringlane::blk {

enum class RequestFault : uint8_t {
  none,
  no_header,        // fewer than 16 device-readable bytes: no header to read
  no_status,        // no device-writable byte: nowhere to put the status (answered with nothing)
  wrong_direction,  // data where the request type has none: readable for IN, writable for OUT
  bad_length,       // IN/OUT data not whole sectors; DISCARD/WRITE_ZEROES not whole ranges
};

const char* to_string(RequestFault fault);

struct Request {
  RequestFault fault = RequestFault::none;
  uint32_t type =
      0;  // virtio::kBlkT*; an unknown type is not a fault here (UNSUPP is the device's)
  uint64_t sector = 0;
  // The data: spans[first_span, first_span + span_count) of the caller's array, trimmed of the
  // header and the status byte; device-readable for OUT, DISCARD and WRITE_ZEROES, device-
  // writable for IN, GET_ID and GET_LIFETIME, none for FLUSH and unknown types.
  uint32_t first_span = 0;
  uint32_t span_count = 0;
  uint64_t data_bytes = 0;
  uint8_t* status = nullptr;  // the last device-writable byte; null only for no_status
};

// Takes apart the chain `walk` found, whose spans are `spans[0, walk.spans)`; trims those spans
// in place (the header off the front, the status byte off the back). `walk.status` must be ok.
Request parse_request(std::span<virtio::HostSpan> spans, const virtio::RequestChainWalk& walk);

// True when [sector, sector + bytes/512) lies inside a disk of `capacity` sectors, without
// overflowing on a hostile sector number.
bool within_capacity(uint64_t sector, uint64_t bytes, uint64_t capacity);

}  // namespace ringlane::blk
