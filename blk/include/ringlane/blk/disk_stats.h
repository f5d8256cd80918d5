// Per-queue statistics of a disk: requests by type, bytes, errors by reason, latency. Written by
// the worker serving the queue only; read by the control thread for rate lines and the summary.
#pragma once

#include <array>
#include <cstdint>

#include "ringlane/base/counter.h"
#include "ringlane/base/latency_histogram.h"

namespace ringlane::blk {

enum class RequestKind : uint8_t { in, out, flush, get_id, discard, write_zeroes, other, count };
const char* to_string(RequestKind kind);

// Why a request did not end in OK. The first five are the guest's doing; io_error is the store's.
enum class DiskError : uint8_t {
  malformed,          // header, direction or length wrong: IOERR
  out_of_range,       // sectors beyond the capacity: IOERR
  read_only,          // a write, discard or write-zeroes on a read-only disk: IOERR
  unsupported,        // an unknown type, a range flag the type does not allow, or an operation the
                      // store cannot do (zero range on tmpfs): UNSUPP
  too_many_segments,  // more segments than seg_max allows: completed with nothing written
  io_error,           // the backing store failed or came up short: IOERR
  count
};
const char* to_string(DiskError error);

struct DiskQueueStats {
  std::array<Counter, static_cast<size_t>(RequestKind::count)> requests;
  std::array<Counter, static_cast<size_t>(DiskError::count)> errors;
  Counter bytes_read;     // from the store into the guest
  Counter bytes_written;  // from the guest into the store
  Counter completed;
  Counter resubmitted;              // in flight at a crash, taken up again from the inflight region
  Counter ring_errors;              // chains that broke the queue
  LatencyHistogram latency_cycles;  // from taking the request to its completion, TSC cycles

  Counter& requests_of(RequestKind kind) { return requests[static_cast<size_t>(kind)]; }
  Counter& errors_of(DiskError error) { return errors[static_cast<size_t>(error)]; }
  uint64_t total_requests() const {
    uint64_t n = 0;
    for (const Counter& c : requests) n += c.get();
    return n;
  }
  uint64_t total_errors() const {
    uint64_t n = 0;
    for (const Counter& c : errors) n += c.get();
    return n;
  }
};

}  // namespace ringlane::blk
