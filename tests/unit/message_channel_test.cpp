// MessageChannel: framing of vhost-user messages on a stream socket, fds passed alongside,
// messages that arrive in pieces, and headers that announce more than a message may carry.
#include "ringlane/vhost_user/message_channel.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <vector>

#include "open_fds.h"
#include "ringlane/base/event_fd.h"

namespace ringlane::vhost_user {
namespace {

class MessageChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    raw_front_ = sv[0];
    front_.emplace(UniqueFd(sv[0]));
    back_.emplace(UniqueFd(sv[1]));
  }

  void write_raw(const void* data, size_t len) {
    ASSERT_EQ(::write(raw_front_, data, len), static_cast<ssize_t>(len));
  }

  int raw_front_ = -1;
  std::optional<MessageChannel> front_;
  std::optional<MessageChannel> back_;
};

TEST_F(MessageChannelTest, NothingPendingIsNotAnError) {
  auto m = back_->receive();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value());
}

TEST_F(MessageChannelTest, CarriesPayloadAndFds) {
  auto efd = EventFd::create();
  ASSERT_TRUE(efd.ok());
  uint64_t index = 3;
  int fd = efd->fd();
  ASSERT_TRUE(front_->send(Request::set_vring_call, 0, &index, 8, &fd, 1).ok());
  auto m = back_->receive();
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->has_value());
  Message& msg = **m;
  EXPECT_EQ(msg.request(), Request::set_vring_call);
  EXPECT_EQ(msg.header.flags, kVersion);
  EXPECT_EQ(msg.header.size, 8u);
  EXPECT_EQ(msg.u64(), 3u);
  ASSERT_EQ(msg.fds.size(), 1u);
  // A new descriptor for the same eventfd.
  EXPECT_NE(msg.fds[0].get(), fd);
  signal_event_fd(msg.fds[0].get());
  EXPECT_EQ(efd->drain(), 1u);
}

TEST_F(MessageChannelTest, MessageInPiecesIsAssembled) {
  uint8_t bytes[12 + 8];
  MessageHeader h{static_cast<uint32_t>(Request::set_features), kVersion, 8};
  uint64_t features = 0x1234567890abcdefull;
  std::memcpy(bytes, &h, 12);
  std::memcpy(bytes + 12, &features, 8);
  write_raw(bytes, 5);  // part of the header
  auto m = back_->receive();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value());
  write_raw(bytes + 5, 10);  // rest of the header and part of the payload
  m = back_->receive();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value());
  write_raw(bytes + 15, 5);
  m = back_->receive();
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->request(), Request::set_features);
  EXPECT_EQ((*m)->u64(), features);
}

TEST_F(MessageChannelTest, BackToBackMessagesAreSeparated) {
  uint64_t a = 1, b = 2;
  ASSERT_TRUE(front_->send(Request::set_features, 0, &a, 8).ok());
  ASSERT_TRUE(front_->send(Request::get_features, 0, nullptr, 0).ok());
  ASSERT_TRUE(front_->send(Request::set_protocol_features, 0, &b, 8).ok());
  std::vector<Request> seen;
  for (int i = 0; i < 3; ++i) {
    auto m = back_->receive();
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->has_value());
    seen.push_back((*m)->request());
    if (i == 2) {
      EXPECT_EQ((*m)->u64(), 2u);
    }
  }
  EXPECT_EQ(seen, (std::vector<Request>{Request::set_features, Request::get_features,
                                        Request::set_protocol_features}));
}

TEST_F(MessageChannelTest, HeaderAnnouncingTooLargeAPayloadIsRejected) {
  MessageHeader h{static_cast<uint32_t>(Request::set_mem_table), kVersion, kMaxPayload + 1};
  write_raw(&h, sizeof(h));
  auto m = back_->receive();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), EMSGSIZE);
}

TEST_F(MessageChannelTest, LargestPayloadIsAccepted) {
  std::vector<uint8_t> payload(kMaxPayload, 0xab);
  // Bigger than one socket write may be on a small buffer: receive until it is complete.
  ASSERT_TRUE(front_->send(Request::set_config, 0, payload.data(), kMaxPayload).ok());
  std::optional<Message> got;
  for (int i = 0; i < 100 && !got; ++i) {
    auto m = back_->receive();
    ASSERT_TRUE(m.ok());
    if (m->has_value()) got = std::move(**m);
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->header.size, kMaxPayload);
  EXPECT_EQ(got->payload[kMaxPayload - 1], 0xab);
}

TEST_F(MessageChannelTest, PeerClosingIsAnError) {
  front_.reset();
  auto m = back_->receive();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), ECONNRESET);
}

TEST_F(MessageChannelTest, ReplyCarriesTheReplyFlag) {
  uint64_t v = 0;
  ASSERT_TRUE(front_->send(Request::get_features, kFlagNeedReply, &v, 0).ok());
  auto request = back_->receive();
  ASSERT_TRUE(request.ok() && request->has_value());
  uint64_t features = 42;
  ASSERT_TRUE(back_->reply(**request, &features, 8).ok());
  auto reply = front_->receive();
  ASSERT_TRUE(reply.ok() && reply->has_value());
  EXPECT_EQ((*reply)->request(), Request::get_features);
  EXPECT_EQ((*reply)->header.flags, kVersion | kFlagReply);
  EXPECT_EQ((*reply)->u64(), 42u);
}

TEST_F(MessageChannelTest, TooManyFdsIsAnErrorAndLeaksNothing) {
  int before = count_open_fds();
  {
    std::vector<UniqueFd> owned;
    std::vector<int> fds;
    for (int i = 0; i < 9; ++i) {
      owned.emplace_back(::eventfd(0, EFD_CLOEXEC));
      fds.push_back(owned.back().get());
    }
    // MessageChannel::send refuses this, so build it by hand.
    MessageHeader h{static_cast<uint32_t>(Request::set_mem_table), kVersion, 0};
    iovec iov{&h, sizeof(h)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 9)]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * 9);
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * 9);
    ASSERT_EQ(::sendmsg(raw_front_, &msg, 0), static_cast<ssize_t>(sizeof(h)));
    auto m = back_->receive();
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code(), EBADMSG);
  }
  back_.reset();  // the half-assembled message goes with the channel
  EXPECT_EQ(count_open_fds(), before - 1);
}

TEST_F(MessageChannelTest, SendRefusesMoreThanEightFds) {
  int fds[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(front_->send(Request::set_mem_table, 0, nullptr, 0, fds, 9).ok());
}

}  // namespace
}  // namespace ringlane::vhost_user
