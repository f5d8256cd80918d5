// VhostUserFrontend against a scripted backend on a socketpair: a request left unanswered ends
// the connection (so a late reply can never answer the next request), release() waits for the
// backend to close its end, and a backend that goes away is noticed.
#include "ringlane/vhost_user/frontend.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <thread>

namespace ringlane::vhost_user {
namespace {

using std::chrono::milliseconds;

class FrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    front_.emplace(VhostUserFrontend::adopt(UniqueFd(sv[0])));
    front_->set_timeout(milliseconds(100));
    back_.emplace(UniqueFd(sv[1]));
  }

  // The next message the backend side has, waiting up to a second.
  std::optional<Message> backend_receive() {
    for (int i = 0; i < 1000; ++i) {
      auto m = back_->receive();
      if (!m.ok()) return std::nullopt;
      if (m->has_value()) return std::move(**m);
      std::this_thread::sleep_for(milliseconds(1));
    }
    return std::nullopt;
  }
  // True once the backend side reads end-of-file.
  bool backend_sees_end_of_file() {
    for (int i = 0; i < 1000; ++i) {
      auto m = back_->receive();
      if (!m.ok()) return true;
      std::this_thread::sleep_for(milliseconds(1));
    }
    return false;
  }

  std::optional<VhostUserFrontend> front_;
  std::optional<MessageChannel> back_;
};

TEST_F(FrontendTest, AnsweredRequestsKeepTheConnection) {
  std::thread backend([&] {
    auto m = backend_receive();
    ASSERT_TRUE(m.has_value());
    uint64_t features = 1ULL << 32;
    ASSERT_TRUE(back_->reply(*m, &features, sizeof(features)).ok());
  });
  Result<uint64_t> features = front_->get_features();
  backend.join();
  ASSERT_TRUE(features.ok()) << features.error().to_string();
  EXPECT_EQ(*features, 1ULL << 32);
  EXPECT_TRUE(front_->usable());
}

TEST_F(FrontendTest, AnUnansweredRequestEndsTheConnection) {
  Result<uint16_t> base = front_->stop_vring(1);
  ASSERT_FALSE(base.ok());
  EXPECT_EQ(base.error().code(), ETIMEDOUT);
  EXPECT_FALSE(front_->usable());
  EXPECT_NE(front_->end_reason().find("GET_VRING_BASE"), std::string::npos) << front_->end_reason();
  // The backend got the request and then end-of-file: nothing more was sent.
  auto m = backend_receive();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->request(), Request::get_vring_base);
  // A late answer to it now cannot be read as the answer to another request: none is sent.
  VringState late{1, 4711};
  ASSERT_TRUE(back_->reply(*m, &late, sizeof(late)).ok());
  Result<uint16_t> again = front_->stop_vring(0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ENOTCONN);
  EXPECT_TRUE(backend_sees_end_of_file());
}

TEST_F(FrontendTest, ReleaseWaitsForTheBackendToCloseItsEnd) {
  ASSERT_FALSE(front_->stop_vring(1).ok());
  // The backend still holds the connection (stopped, hung): the rings may still be in use.
  EXPECT_FALSE(front_->release(milliseconds(100)));
  // It answers late, then closes, as ringlane does once its rings are stopped.
  std::thread backend([&] {
    auto m = backend_receive();
    ASSERT_TRUE(m.has_value());
    VringState late{1, 4711};
    ASSERT_TRUE(back_->reply(*m, &late, sizeof(late)).ok());
    std::this_thread::sleep_for(milliseconds(50));
    back_.reset();
  });
  EXPECT_TRUE(front_->release(milliseconds(2000)));
  backend.join();
}

TEST_F(FrontendTest, ABackendThatGoesAwayEndsTheConnectionAndHasReleased) {
  back_.reset();
  Result<uint16_t> base = front_->stop_vring(0);
  ASSERT_FALSE(base.ok());
  EXPECT_FALSE(front_->usable());
  EXPECT_TRUE(front_->release(milliseconds(0)));
}

TEST_F(FrontendTest, AnAnswerToAnotherRequestEndsTheConnection) {
  std::thread backend([&] {
    auto m = backend_receive();
    ASSERT_TRUE(m.has_value());
    // Answering as if it were another request: out of step.
    m->header.request = static_cast<uint32_t>(Request::get_protocol_features);
    uint64_t value = 0;
    ASSERT_TRUE(back_->reply(*m, &value, sizeof(value)).ok());
  });
  Result<uint64_t> features = front_->get_features();
  backend.join();
  ASSERT_FALSE(features.ok());
  EXPECT_EQ(features.error().code(), EPROTO);
  EXPECT_FALSE(front_->usable());
}

}  // namespace
}  // namespace ringlane::vhost_user
