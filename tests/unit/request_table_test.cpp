// The vhost-user request table: every Request has exactly one row, and each row's payload rule,
// fd counts, answer and handler agree with what validate() and the backend do with a message.
#include "ringlane/vhost_user/request_table.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ringlane/vhost_user/backend.h"
#include "ringlane/vhost_user/message_channel.h"
#include "ringlane/vhost_user/net_device.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::vhost_user {
namespace {

// Whether `code` is a value of Request. The switch names every value and -Wswitch is an error
// here, so a value added to the enum stops this test's build until it is named below, and then
// EveryRequestHasExactlyOneRow checks that the table has its row.
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wswitch"
bool is_request(uint32_t code) {
  switch (static_cast<Request>(code)) {
    case Request::get_features:
    case Request::set_features:
    case Request::set_owner:
    case Request::reset_owner:
    case Request::set_mem_table:
    case Request::set_log_base:
    case Request::set_log_fd:
    case Request::set_vring_num:
    case Request::set_vring_addr:
    case Request::set_vring_base:
    case Request::get_vring_base:
    case Request::set_vring_kick:
    case Request::set_vring_call:
    case Request::set_vring_err:
    case Request::get_protocol_features:
    case Request::set_protocol_features:
    case Request::get_queue_num:
    case Request::set_vring_enable:
    case Request::send_rarp:
    case Request::net_set_mtu:
    case Request::set_backend_req_fd:
    case Request::iotlb_msg:
    case Request::set_vring_endian:
    case Request::get_config:
    case Request::set_config:
    case Request::get_inflight_fd:
    case Request::set_inflight_fd:
    case Request::reset_device:
    case Request::vring_kick:
    case Request::get_max_mem_slots:
    case Request::add_mem_reg:
    case Request::rem_mem_reg:
    case Request::set_status:
    case Request::get_status:
      return true;
  }
  return false;
}
#pragma GCC diagnostic pop

// Request codes are small; this range holds every one the enum has (checked below).
constexpr uint32_t kCodes = 0x10000;

uint32_t code_of(const RequestInfo& row) {
  return static_cast<uint32_t>(row.request);
}

constexpr uint32_t kOneRegionTable = 8 + sizeof(virtio::RegionDescriptor);

// A message the row's rules accept: a zero payload of the size the rule fixes (a one-region
// table for mem_table), with `fds` eventfds.
// The configuration window a well-formed GET_CONFIG/SET_CONFIG carries.
constexpr uint32_t kConfigWindow = 8;

std::unique_ptr<Message> well_formed(const RequestInfo& row, size_t fds, uint32_t flags = 0) {
  auto m = std::make_unique<Message>();
  uint32_t size = payload_size(row.payload).value_or(kOneRegionTable);
  if (row.payload == Payload::mem_table) {
    uint32_t regions = 1;
    std::memcpy(m->payload, &regions, sizeof(regions));
  }
  if (row.payload == Payload::config) {
    ConfigHeader window{0, kConfigWindow, 0};
    std::memcpy(m->payload, &window, sizeof(window));
    size = sizeof(window) + kConfigWindow;
  }
  if (row.payload == Payload::inflight) {
    InflightDescription one_queue{0, 0, 1, 8, 0};
    std::memcpy(m->payload, &one_queue, sizeof(one_queue));
  }
  m->header = MessageHeader{code_of(row), kVersion | flags, size};
  if (row.payload == Payload::log) {
    // A dirty log of 64 bytes at the start of a file that holds it.
    LogDescription log{64, 0};
    std::memcpy(m->payload, &log, sizeof(log));
    for (size_t i = 0; i < fds; ++i) {
      UniqueFd fd(::memfd_create("request-table-test-log", MFD_CLOEXEC));
      if (::ftruncate(fd.get(), 64) != 0) fd.reset();
      m->fds.push_back(std::move(fd));
    }
    return m;
  }
  for (size_t i = 0; i < fds; ++i) m->fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  return m;
}

// The fds a well-formed message of the row carries: the most it may, but one for a one-region
// table.
size_t fds_for(const RequestInfo& row) {
  return row.payload == Payload::mem_table ? 1 : row.max_fds;
}

int code_of(const Status& s) {
  return s.ok() ? 0 : s.error().code();
}

TEST(RequestTable, EveryRequestHasExactlyOneRow) {
  size_t requests = 0;
  for (uint32_t code = 0; code < kCodes; ++code) {
    size_t rows = 0;
    for (const RequestInfo& row : request_table()) rows += code_of(row) == code ? 1 : 0;
    EXPECT_EQ(rows, is_request(code) ? 1u : 0u) << code;
    requests += is_request(code) ? 1 : 0;
  }
  // So no row has a code beyond the range searched.
  EXPECT_EQ(request_table().size(), requests);
}

TEST(RequestTable, RowsAreInCodeOrder) {
  auto table = request_table();
  for (size_t i = 1; i < table.size(); ++i) {
    EXPECT_LT(code_of(table[i - 1]), code_of(table[i])) << table[i].name;
  }
}

TEST(RequestTable, FindRequestFindsEveryRowAndNothingElse) {
  for (const RequestInfo& row : request_table()) EXPECT_EQ(find_request(code_of(row)), &row);
  for (uint32_t code : {0u, 26u, 41u, 999u, 0xffffffffu}) EXPECT_EQ(find_request(code), nullptr);
}

TEST(RequestTable, NamesAreUniqueAndSpelledAsInTheSpec) {
  std::set<std::string> names;
  for (const RequestInfo& row : request_table()) {
    std::string name = row.name;
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_"), std::string::npos) << name;
    EXPECT_STREQ(to_string(row.request), row.name);
  }
  EXPECT_STREQ(to_string(Request::set_vring_addr), "SET_VRING_ADDR");
}

TEST(RequestTable, ExactlyTheSupportedRequestsHaveHandlers) {
  for (const RequestInfo& row : request_table()) {
    SCOPED_TRACE(row.name);
    bool supported = row.payload != Payload::unsupported;
    EXPECT_EQ(row.handler != nullptr, supported);
    if (!supported) {
      EXPECT_EQ(row.min_fds, 0);
      EXPECT_EQ(row.max_fds, 0);
      EXPECT_EQ(row.answer, Answer::ack);
    }
  }
}

TEST(RequestTable, FdCountsFitInAMessage) {
  for (const RequestInfo& row : request_table()) {
    SCOPED_TRACE(row.name);
    EXPECT_LE(row.min_fds, row.max_fds);
    EXPECT_LE(row.max_fds, kMaxFdsPerMessage);
  }
}

TEST(RequestTable, EveryRuleAcceptsAWellFormedMessageAndNotOneByteMoreOrLess) {
  for (const RequestInfo& row : request_table()) {
    if (row.payload == Payload::unsupported) continue;
    SCOPED_TRACE(row.name);
    auto m = well_formed(row, fds_for(row));
    EXPECT_EQ(code_of(validate(*m)), 0);
    uint32_t size = m->header.size;
    m->header.size = size + 1;
    EXPECT_EQ(code_of(validate(*m)), EBADMSG);
    if (size > 0) {
      m->header.size = size - 1;
      EXPECT_EQ(code_of(validate(*m)), EBADMSG);
    }
  }
}

TEST(RequestTable, FixedSizeRulesAcceptTheRowsFdCountsAndNoOthers) {
  for (const RequestInfo& row : request_table()) {
    // These two narrow the counts by their payload: checked below.
    if (row.payload == Payload::unsupported || row.payload == Payload::vring_fd ||
        row.payload == Payload::mem_table) {
      continue;
    }
    SCOPED_TRACE(row.name);
    for (size_t fds = row.min_fds; fds <= row.max_fds; ++fds) {
      EXPECT_EQ(code_of(validate(*well_formed(row, fds))), 0) << fds;
    }
    if (row.min_fds > 0) {
      EXPECT_EQ(code_of(validate(*well_formed(row, row.min_fds - 1))), EBADMSG);
    }
    EXPECT_EQ(code_of(validate(*well_formed(row, row.max_fds + 1))), EBADMSG);
  }
}

TEST(RequestTable, VringFdRulesTakeNoFdInPollingMode) {
  for (const RequestInfo& row : request_table()) {
    if (row.payload != Payload::vring_fd) continue;
    SCOPED_TRACE(row.name);
    auto polling = well_formed(row, row.min_fds);
    uint64_t no_fd = kVringNoFd;
    std::memcpy(polling->payload, &no_fd, sizeof(no_fd));
    EXPECT_EQ(code_of(validate(*polling)), 0);
    EXPECT_EQ(code_of(validate(*well_formed(row, row.min_fds))), EBADMSG);  // an fd was promised
  }
}

TEST(RequestTable, MemTableRulesTakeAsManyRegionsAsTheFdCountsAllow) {
  for (const RequestInfo& row : request_table()) {
    if (row.payload != Payload::mem_table) continue;
    SCOPED_TRACE(row.name);
    for (uint32_t regions : {uint32_t{row.min_fds} - 1, uint32_t{row.max_fds} + 1}) {
      auto m = well_formed(row, 1);
      std::memcpy(m->payload, &regions, sizeof(regions));
      m->header.size = 8 + kMemTableRegions * sizeof(virtio::RegionDescriptor);
      EXPECT_EQ(code_of(validate(*m)), EBADMSG) << regions;
    }
    auto full = well_formed(row, row.max_fds);
    uint32_t regions = row.max_fds;
    std::memcpy(full->payload, &regions, sizeof(regions));
    full->header.size = 8 + regions * sizeof(virtio::RegionDescriptor);
    EXPECT_EQ(code_of(validate(*full)), 0);
  }
}

TEST(RequestTable, UnsupportedRowsAreRefusedWithTheirName) {
  for (const RequestInfo& row : request_table()) {
    if (row.payload != Payload::unsupported) continue;
    SCOPED_TRACE(row.name);
    for (uint32_t size : {0u, 8u}) {
      auto m = well_formed(row, 0);
      m->header.size = size;
      Status s = validate(*m);
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.error().code(), ENOSYS);
      EXPECT_EQ(s.error().message(), std::string("unsupported request ") + row.name + " (" +
                                         std::to_string(code_of(row)) + ")");
    }
  }
}

TEST(RequestTable, CodesWithoutARowAreUnknown) {
  auto m = std::make_unique<Message>();
  for (uint32_t code = 0; code < kCodes; ++code) {
    if (find_request(code) != nullptr) continue;
    m->header = MessageHeader{code, kVersion, 8};
    Status s = validate(*m);
    ASSERT_FALSE(s.ok()) << code;
    EXPECT_EQ(s.error().code(), ENOSYS);
    EXPECT_EQ(s.error().message(), "unsupported request UNKNOWN (" + std::to_string(code) + ")");
    EXPECT_STREQ(to_string(static_cast<Request>(code)), "UNKNOWN");
  }
}

// A device with a configuration space of 8 bytes, 0x11 each, for the requests that read it, and
// in-flight tracking.
class ConfigSpaceDevice : public VhostUserBackend {
 public:
  static constexpr uint64_t kProtocol = virtio::bit(protocol::kConfig) |
                                        virtio::bit(protocol::kInflightShmfd) |
                                        virtio::bit(protocol::kLogShmfd);
  ConfigSpaceDevice() : VhostUserBackend(config(), nullptr) {}

 private:
  static BackendConfig config() {
    BackendConfig c;
    c.protocol_features = kProtocol;
    return c;
  }

 protected:
  Status read_config(uint32_t offset, std::span<uint8_t> out) override {
    for (size_t i = 0; i < out.size() && offset + i < 8; ++i) out[i] = 0x11;
    return {};
  }
};

// A backend on one end of a socketpair, handed messages directly; its replies are read back.
class Connection {
 public:
  explicit Connection(VhostUserBackend& backend) : backend_(backend) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
      front_.emplace(UniqueFd(sv[0]));
      back_.emplace(UniqueFd(sv[1]));
    }
  }
  bool ok() const { return front_.has_value(); }
  Status handle(Message& m) { return backend_.handle(m, *back_); }
  // Every message the backend sent since the last call.
  std::vector<Message> replies() {
    std::vector<Message> out;
    for (;;) {
      auto m = front_->receive();
      if (!m.ok() || !m->has_value()) return out;
      out.push_back(std::move(**m));
    }
  }
  // Acks the features that let the frontend ask for a REPLY_ACK.
  void negotiate_reply_ack() { negotiate_protocol(virtio::bit(protocol::kReplyAck)); }
  void negotiate_protocol(uint64_t protocol) {
    uint64_t features = virtio::bit(kFProtocolFeatures);
    const std::pair<Request, uint64_t> steps[] = {{Request::set_features, features},
                                                  {Request::set_protocol_features, protocol}};
    for (auto [request, value] : steps) {
      Message m;
      m.header = MessageHeader{static_cast<uint32_t>(request), kVersion, sizeof(value)};
      std::memcpy(m.payload, &value, sizeof(value));
      ASSERT_TRUE(handle(m).ok());
    }
  }

 private:
  VhostUserBackend& backend_;
  std::optional<MessageChannel> front_;
  std::optional<MessageChannel> back_;
};

TEST(RequestTable, TheBackendAnswersARequestOfItsOwnExactlyWhenTheRowSaysSo) {
  for (const RequestInfo& row : request_table()) {
    SCOPED_TRACE(row.name);
    // A payload answer comes from a device's own space; the net device has none to read.
    NetDevice net(NetDeviceConfig{}, nullptr);
    ConfigSpaceDevice with_config;
    VhostUserBackend& device =
        row.answer == Answer::payload ? static_cast<VhostUserBackend&>(with_config) : net;
    Connection connection(device);
    ASSERT_TRUE(connection.ok());
    if (row.answer == Answer::payload) connection.negotiate_protocol(ConfigSpaceDevice::kProtocol);
    auto request = well_formed(row, fds_for(row));
    Status s = connection.handle(*request);
    std::vector<Message> replies = connection.replies();
    if (row.answer == Answer::ack) {
      // Nothing unless asked for; whether the request worked is not the point here.
      EXPECT_TRUE(replies.empty());
      continue;
    }
    EXPECT_TRUE(s.ok());
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].header.request, code_of(row));
    EXPECT_NE(replies[0].header.flags & kFlagReply, 0u);
    if (row.answer != Answer::payload) {
      EXPECT_EQ(replies[0].header.size, sizeof(uint64_t));
      continue;
    }
    if (row.request == Request::get_inflight_fd) {
      // The region's description, and its fd.
      ASSERT_EQ(replies[0].header.size, sizeof(InflightDescription));
      EXPECT_EQ(replies[0].read<InflightDescription>().mmap_size, InflightRegion::queue_bytes(8));
      EXPECT_EQ(replies[0].fds.size(), 1u);
      continue;
    }
    if (row.request == Request::set_log_base) {
      // QEMU waits for a reply without payload.
      EXPECT_EQ(replies[0].header.size, 0u);
      EXPECT_TRUE(replies[0].fds.empty());
      continue;
    }
    // The request's own window, filled in.
    ASSERT_EQ(replies[0].header.size, sizeof(ConfigHeader) + kConfigWindow);
    EXPECT_EQ(replies[0].read<ConfigHeader>().size, kConfigWindow);
    for (uint32_t i = 0; i < kConfigWindow; ++i) {
      EXPECT_EQ(replies[0].payload[sizeof(ConfigHeader) + i], 0x11) << i;
    }
  }
}

// The spec: a request with an answer of its own gets no REPLY_ACK besides.
TEST(RequestTable, AFrontendThatAsksForAnAckGetsOneReplyToEveryRequest) {
  for (const RequestInfo& row : request_table()) {
    if (row.payload == Payload::unsupported) continue;
    SCOPED_TRACE(row.name);
    NetDevice device(NetDeviceConfig{}, nullptr);
    Connection connection(device);
    ASSERT_TRUE(connection.ok());
    connection.negotiate_reply_ack();
    auto m = well_formed(row, fds_for(row), kFlagNeedReply);
    if (row.request == Request::set_protocol_features) {
      // A zero payload would withdraw REPLY_ACK before its own ack is due.
      uint64_t keep = virtio::bit(protocol::kReplyAck);
      std::memcpy(m->payload, &keep, sizeof(keep));
    }
    // One message back either way: the answer, or the ack (0 or 1: success is not the point).
    EXPECT_TRUE(connection.handle(*m).ok());
    std::vector<Message> replies = connection.replies();
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].header.size, sizeof(uint64_t));
  }
}

TEST(RequestTable, ABackendWithoutDeviceRequestsRefusesThem) {
  VhostUserBackend backend(BackendConfig{}, nullptr);
  Connection connection(backend);
  ASSERT_TRUE(connection.ok());
  const RequestInfo* row = find_request(static_cast<uint32_t>(Request::net_set_mtu));
  ASSERT_NE(row, nullptr);
  Status s = connection.handle(*well_formed(*row, 0));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ENOSYS);
  EXPECT_EQ(s.error().message(), "unsupported request NET_SET_MTU");
}

}  // namespace
}  // namespace ringlane::vhost_user
