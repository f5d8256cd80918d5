// dequeue_burst / complete_burst / enqueue_burst on packed rings, against the fake packed-ring
// driver: the same packets, headers, offloads and drops as on split rings (the code is shared),
// with buffer ids where split rings have heads, chains of several descriptors and indirect
// tables, mergeable receive buffers (more than the burst walked ahead), many laps of the ring,
// and a hostile chain that breaks the queue after the packets before it.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <numeric>
#include <vector>

#include "fake_guest.h"
#include "fake_packed_ring.h"
#include "log_capture.h"
#include "ringlane/base/event_fd.h"
#include "ringlane/net/rx.h"
#include "ringlane/net/tx.h"

namespace ringlane::net {
namespace {

using virtio::bit;
using virtio::Buf;

std::vector<uint8_t> frame(size_t len, uint8_t seed) {
  std::vector<uint8_t> out(len);
  for (size_t i = 0; i < len; ++i) out[i] = static_cast<uint8_t>(seed * 31u + i * 7u);
  return out;
}

std::vector<uint8_t> header_bytes(const virtio::NetHeader& h, size_t len = 12) {
  std::vector<uint8_t> out(len);
  std::memcpy(out.data(), &h, len);
  return out;
}

class PackedNetTest : public ::testing::Test {
 protected:
  void make(uint16_t size, bool event_idx = false) {
    ring_ = std::make_unique<virtio::FakePackedRing>(guest_, size);
    queue_.configure(&guest_.memory(), ring_->layout(), event_idx, true, {});
    queue_.set_label("vm0 queue 1 (tx of pair 0)");
    queue_.set_live(true);
  }
  Buf put(const std::vector<uint8_t>& bytes, bool writable = false) {
    return Buf{guest_.put(bytes), static_cast<uint32_t>(bytes.size()), writable};
  }
  Buf room(uint32_t len) { return Buf{guest_.alloc(len), len, true}; }

  virtio::FakeGuest guest_{{{virtio::FakeGuest::kDefaultBase, 4 << 20}}};
  std::unique_ptr<virtio::FakePackedRing> ring_;
  virtio::PackedQueue queue_;
};

// --- transmit ---------------------------------------------------------------------------------

class PackedTxTest : public PackedNetTest {
 protected:
  std::vector<uint8_t> bytes_of(const PacketView& p) const {
    std::vector<uint8_t> out;
    const virtio::HostSpan* spans = batch_.spans_of(p);
    for (uint16_t i = 0; i < p.span_count; ++i) {
      out.insert(out.end(), spans[i].data, spans[i].data + spans[i].len);
    }
    return out;
  }
  NetFeatures features_ = NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFCsum));
  PacketBatch batch_;
};

TEST_F(PackedTxTest, PacketsInRingOrderGoBackByBufferId) {
  make(16);
  auto f1 = frame(100, 1), f2 = frame(60, 2), f3 = frame(1500, 3);
  uint16_t a = ring_->offer({put(header_bytes({})), put(f1)});
  std::vector<uint8_t> one = header_bytes({});
  one.insert(one.end(), f2.begin(), f2.end());
  uint16_t b = ring_->offer({put(one)});
  uint16_t c = ring_->offer_indirect({put(header_bytes({})), put({f3.begin(), f3.begin() + 700}),
                                      put({f3.begin() + 700, f3.end()})});
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 3);
  EXPECT_EQ(batch_.packets[0].head, a);
  EXPECT_EQ(batch_.packets[1].head, b);
  EXPECT_EQ(batch_.packets[2].head, c);
  EXPECT_EQ(bytes_of(batch_.packets[0]), f1);
  EXPECT_EQ(bytes_of(batch_.packets[1]), f2);
  EXPECT_EQ(bytes_of(batch_.packets[2]), f3);
  EXPECT_EQ(queue_.stats().packets.get(), 3u);
  EXPECT_EQ(queue_.stats().bytes.get(), 1660u);
  EXPECT_FALSE(ring_->take_used().has_value());  // held until the packets are delivered
  complete_burst(queue_, batch_);
  for (uint16_t id : {a, b, c}) {
    auto used = ring_->take_used();
    ASSERT_TRUE(used.has_value());
    EXPECT_EQ(used->id, id);
  }
  EXPECT_EQ(queue_.position(), (virtio::PackedPosition{4, true, 4, true}));
}

TEST_F(PackedTxTest, MalformedHeaderIsDroppedAndItsBufferGoesBack) {
  make(8);
  virtio::NetHeader bad{};
  bad.flags = virtio::kNetHdrFNeedsCsum;
  bad.csum_start = 90;
  bad.csum_offset = 16;  // past the 100-byte frame
  uint16_t id = ring_->offer({put(header_bytes(bad)), put(frame(100, 1))});
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), 0);
  EXPECT_EQ(queue_.stats().drop_malformed.get(), 1u);
  // Nothing else in the burst: it went back at once.
  auto used = ring_->take_used();
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->id, id);
  EXPECT_FALSE(queue_.broken());
}

TEST_F(PackedTxTest, OffloadRequestIsReadFromTheHeader) {
  make(8);
  virtio::NetHeader h{};
  h.flags = virtio::kNetHdrFNeedsCsum;
  h.csum_start = 34;
  h.csum_offset = 16;
  ring_->offer({put(header_bytes(h)), put(frame(100, 1))});
  ASSERT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  EXPECT_EQ(batch_.packets[0].hdr.flags, virtio::kNetHdrFNeedsCsum);
  EXPECT_EQ(batch_.packets[0].hdr.csum_start, 34);
  EXPECT_EQ(batch_.packets[0].hdr.csum_offset, 16);
}

TEST_F(PackedTxTest, AWritableBufferBreaksTheQueueAfterTheGoodPackets) {
  make(8);
  LogCapture log;
  uint16_t good = ring_->offer({put(header_bytes({})), put(frame(64, 1))});
  uint16_t bad = ring_->offer({put(header_bytes({})), room(64)});
  ring_->offer({put(header_bytes({})), put(frame(64, 3))});
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  EXPECT_TRUE(queue_.broken());
  EXPECT_EQ(queue_.stats().ring_errors.get(), 1u);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "vm0 queue 1 (tx of pair 0): virtqueue broken: buffer of the wrong "
            "direction (buffer id " +
                std::to_string(bad) + ")");
  complete_burst(queue_, batch_);
  EXPECT_EQ(ring_->take_used()->id, good);
  EXPECT_FALSE(ring_->take_used().has_value());
}

TEST_F(PackedTxTest, ABadIdInTheRingBreaksTheQueueAfterTheGoodPackets) {
  make(8);
  LogCapture log;
  ring_->offer({put(header_bytes({})), put(frame(64, 1))});
  ring_->write_desc(ring_->next_avail(), put(header_bytes({})).gpa, 12, 200, ring_->avail_flags());
  EXPECT_EQ(dequeue_burst(queue_, features_, batch_), 1);
  EXPECT_TRUE(queue_.broken());
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "vm0 queue 1 (tx of pair 0): virtqueue broken: buffer id 200 out of range (queue "
            "size 8)");
}

TEST_F(PackedTxTest, ManyLapsOfTheRing) {
  make(7);
  uint8_t seed = 0;
  for (int round = 0; round < 100; ++round) {
    std::vector<std::vector<uint8_t>> sent;
    while (ring_->free_slots() >= 2 && sent.size() < 3) {
      sent.push_back(frame(60 + seed, seed));
      ring_->offer({put(header_bytes({})), put(sent.back())});
      ++seed;
    }
    batch_.clear();
    ASSERT_EQ(dequeue_burst(queue_, features_, batch_), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(bytes_of(batch_.packets[i]), sent[i]);
    complete_burst(queue_, batch_);
    for (size_t i = 0; i < sent.size(); ++i) ASSERT_TRUE(ring_->take_used().has_value());
  }
  EXPECT_EQ(queue_.stats().packets.get(), 300u);
  EXPECT_FALSE(queue_.broken());
}

// --- receive ----------------------------------------------------------------------------------

// Packets as a source queue's dequeue_burst would make them: bytes owned here.
class Source {
 public:
  void add(std::vector<uint8_t> bytes, const virtio::NetHeader& hdr = {}) {
    frames_.push_back(std::move(bytes));
    std::vector<uint8_t>& f = frames_.back();
    PacketView& p = batch_.packets[batch_.count++];
    p.first_span = batch_.spans_used;
    p.span_count = 1;
    p.head = 0;
    p.len = static_cast<uint32_t>(f.size());
    p.hdr = hdr;
    batch_.spans[batch_.spans_used++] = virtio::HostSpan{f.data(), f.size()};
  }
  const PacketBatch& batch() const { return batch_; }
  std::vector<uint16_t> all() const {
    std::vector<uint16_t> which(batch_.count);
    std::iota(which.begin(), which.end(), uint16_t{0});
    return which;
  }
  void clear() {
    frames_.clear();
    batch_.clear();
  }

 private:
  std::deque<std::vector<uint8_t>> frames_;
  PacketBatch batch_;
};

class PackedRxTest : public PackedNetTest {
 protected:
  uint16_t enqueue(const NetFeatures& features) {
    std::vector<uint16_t> which = source_.all();
    return enqueue_burst(queue_, features, source_.batch(), which);
  }
  virtio::NetHeader header_at(uint64_t gpa) const {
    virtio::NetHeader h{};
    guest_.read(gpa, &h, sizeof(h));
    return h;
  }
  NetFeatures plain_ = NetFeatures::from_bits(bit(virtio::kFVersion1));
  NetFeatures mergeable_ =
      NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFMrgRxbuf));
  Source source_;
};

TEST_F(PackedRxTest, OneBufferPerFrame) {
  make(8);
  Buf a = room(2048), b = room(2048);
  uint16_t ida = ring_->offer({a});
  uint16_t idb = ring_->offer({b});
  source_.add(frame(100, 1));
  source_.add(frame(1500, 2));
  ASSERT_EQ(enqueue(plain_), 2);
  auto ua = ring_->take_used();
  auto ub = ring_->take_used();
  ASSERT_TRUE(ua && ub);
  EXPECT_EQ(ua->id, ida);
  EXPECT_EQ(ua->len, 112u);
  EXPECT_EQ(ua->flags & virtio::kDescFWrite, virtio::kDescFWrite);
  EXPECT_EQ(ub->id, idb);
  EXPECT_EQ(ub->len, 1512u);
  EXPECT_EQ(header_at(a.gpa).num_buffers, 1);
  EXPECT_EQ(guest_.read(a.gpa + 12, 100), frame(100, 1));
  EXPECT_EQ(guest_.read(b.gpa + 12, 1500), frame(1500, 2));
  EXPECT_EQ(queue_.stats().packets.get(), 2u);
  EXPECT_EQ(queue_.position(), (virtio::PackedPosition{2, true, 2, true}));
}

TEST_F(PackedRxTest, ChainedReceiveBuffer) {
  make(8);
  Buf h = room(12), d = room(1000);
  uint16_t id = ring_->offer({h, d});
  source_.add(frame(800, 4));
  ASSERT_EQ(enqueue(plain_), 1);
  auto u = ring_->take_used();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->id, id);
  EXPECT_EQ(u->len, 812u);
  EXPECT_EQ(guest_.read(d.gpa, 800), frame(800, 4));
  EXPECT_EQ(queue_.position().used_idx, 2);  // the used descriptor stands for both
}

TEST_F(PackedRxTest, MergeableSpreadsAJumboFrameOverSeveralBuffers) {
  make(16);
  std::vector<Buf> bufs;
  std::vector<uint16_t> ids;
  for (int i = 0; i < 8; ++i) {
    bufs.push_back(room(2048));
    ids.push_back(ring_->offer({bufs.back()}));
  }
  std::vector<uint8_t> jumbo = frame(9000, 5);
  source_.add(jumbo);
  ASSERT_EQ(enqueue(mergeable_), 1);
  EXPECT_EQ(header_at(bufs[0].gpa).num_buffers, 5);
  std::vector<uint8_t> got;
  uint32_t total = 0;
  for (int i = 0; i < 5; ++i) {
    auto u = ring_->take_used();
    ASSERT_TRUE(u);
    EXPECT_EQ(u->id, ids[i]);
    EXPECT_EQ(u->len, i < 4 ? 2048u : 9012u - 4 * 2048u);
    total += u->len;
    auto part = guest_.read(bufs[i].gpa, u->len);
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_FALSE(ring_->take_used().has_value());
  EXPECT_EQ(total, 9012u);
  EXPECT_EQ(std::vector<uint8_t>(got.begin() + 12, got.end()), jumbo);
  // The three buffers left are found again by the next burst.
  source_.clear();
  source_.add(frame(60, 6));
  ASSERT_EQ(enqueue(mergeable_), 1);
  EXPECT_EQ(ring_->take_used()->id, ids[5]);
}

// Two frames, each needing many more receive chains than a burst walks ahead: the packed ring
// is scanned further as the frames need it.
TEST_F(PackedRxTest, MergeableBeyondTheChainsWalkedAhead) {
  make(64);
  std::vector<Buf> bufs;
  for (int i = 0; i < 40; ++i) {
    bufs.push_back(room(512));
    ring_->offer({bufs.back()});
  }
  source_.add(frame(9000, 7));
  source_.add(frame(9000, 8));
  ASSERT_EQ(enqueue(mergeable_), 2);
  EXPECT_EQ(header_at(bufs[0].gpa).num_buffers, 18);  // 9012 bytes in 512-byte buffers
  EXPECT_EQ(header_at(bufs[18].gpa).num_buffers, 18);
  std::vector<uint8_t> second = frame(9000, 8);
  second.resize(500);
  EXPECT_EQ(guest_.read(bufs[18].gpa + 12, 500), second);
  int used = 0;
  while (ring_->take_used()) ++used;
  EXPECT_EQ(used, 36);
  EXPECT_EQ(queue_.occupancy(), 4);
}

TEST_F(PackedRxTest, TooFewBuffersDropsTheRest) {
  make(8);
  ring_->offer({room(2048)});
  source_.add(frame(100, 1));
  source_.add(frame(100, 2));
  source_.add(frame(100, 3));
  EXPECT_EQ(enqueue(plain_), 1);
  EXPECT_EQ(queue_.stats().drop_no_buffers.get(), 2u);
  // A mergeable frame that does not fit what is there takes nothing.
  ring_->offer({room(1000)});
  source_.clear();
  source_.add(frame(3000, 4));
  EXPECT_EQ(enqueue(mergeable_), 0);
  EXPECT_EQ(queue_.stats().drop_no_buffers.get(), 3u);
  EXPECT_EQ(queue_.occupancy(), 1);
}

TEST_F(PackedRxTest, FrameTooLargeForANonMergeableBuffer) {
  make(8);
  ring_->offer({room(100)});
  uint16_t big = ring_->offer({room(2048)});
  source_.add(frame(1000, 1));
  EXPECT_EQ(enqueue(plain_), 0);
  EXPECT_EQ(queue_.stats().drop_too_large.get(), 1u);
  EXPECT_FALSE(ring_->take_used().has_value());
  (void)big;
}

TEST_F(PackedRxTest, OffloadsPassToAReceiverThatNegotiatedThem) {
  make(8);
  Buf a = room(2048);
  ring_->offer({a});
  virtio::NetHeader h{};
  h.flags = virtio::kNetHdrFNeedsCsum;
  h.csum_start = 34;
  h.csum_offset = 16;
  source_.add(frame(200, 1), h);
  NetFeatures csum = NetFeatures::from_bits(bit(virtio::kFVersion1) | bit(virtio::kNetFGuestCsum));
  ASSERT_EQ(enqueue(csum), 1);
  virtio::NetHeader got = header_at(a.gpa);
  EXPECT_EQ(got.flags, virtio::kNetHdrFNeedsCsum);
  EXPECT_EQ(got.csum_start, 34);
  EXPECT_EQ(got.csum_offset, 16);
}

TEST_F(PackedRxTest, AReadableBufferBreaksTheQueue) {
  make(8);
  LogCapture log;
  ring_->offer({room(2048)});
  uint16_t bad = ring_->offer({put(frame(64, 0))});  // device-readable
  source_.add(frame(100, 1));
  source_.add(frame(100, 2));
  source_.add(frame(100, 3));
  EXPECT_EQ(enqueue(plain_), 1);
  EXPECT_TRUE(queue_.broken());
  EXPECT_EQ(queue_.stats().ring_errors.get(), 1u);
  EXPECT_EQ(queue_.stats().drop_queue_down.get(), 2u);
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0],
            "vm0 queue 1 (tx of pair 0): virtqueue broken: buffer of the wrong "
            "direction (buffer id " +
                std::to_string(bad) + ")");
  EXPECT_EQ(ring_->take_used()->len, 112u);  // the frame before it was delivered
}

TEST_F(PackedRxTest, MergeableOverManyLapsWithInterruptsAtTheEventDescriptor) {
  make(6, true);
  auto call = EventFd::create();
  ASSERT_TRUE(call.ok());
  queue_.set_call_fd(call->fd());
  int calls = 0;
  std::deque<Buf> offered;  // in ring order: frames take them from the front
  for (int round = 0; round < 60; ++round) {
    while (ring_->free_slots() > 0) {
      offered.push_back(room(1024));
      ring_->offer({offered.back()});
    }
    // Interrupt me when the device passes the descriptor two after the next used one.
    uint16_t off = static_cast<uint16_t>((ring_->last_used() + 2) % 6);
    bool wrap = ring_->used_wrap() ^ (ring_->last_used() + 2 >= 6);
    ring_->set_driver_event(virtio::kRingEventFlagsDesc,
                            static_cast<uint16_t>(off | (wrap ? virtio::kRingEventWrapBit : 0)));
    source_.clear();
    std::vector<uint8_t> f = frame(2500 + round, static_cast<uint8_t>(round));  // 3 buffers
    source_.add(f);
    ASSERT_EQ(enqueue(mergeable_), 1) << round;
    std::vector<uint8_t> got;
    for (int i = 0; i < 3; ++i) {
      auto u = ring_->take_used();
      ASSERT_TRUE(u) << round;
      auto part = guest_.read(offered.front().gpa, u->len);
      offered.pop_front();
      got.insert(got.end(), part.begin(), part.end());
    }
    EXPECT_EQ(std::vector<uint8_t>(got.begin() + 12, got.end()), f);
    calls += static_cast<int>(call->drain());
  }
  EXPECT_EQ(calls, 60);  // every frame passes the descriptor asked for
  EXPECT_FALSE(queue_.broken());
}

}  // namespace
}  // namespace ringlane::net
