// EventFd and UniqueFd: the counter semantics vring calls rely on, and fd ownership.
#include "ringlane/base/event_fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "ringlane/base/unique_fd.h"

namespace ringlane {
namespace {

TEST(EventFd, SignalsAccumulateAndDrainClears) {
  auto efd = EventFd::create();
  ASSERT_TRUE(efd.ok());
  EXPECT_EQ(efd->drain(), 0u);  // non-blocking: nothing pending is not an error
  ASSERT_TRUE(efd->signal().ok());
  ASSERT_TRUE(efd->signal().ok());
  signal_event_fd(efd->fd());
  EXPECT_EQ(efd->drain(), 3u);
  EXPECT_EQ(efd->drain(), 0u);
}

TEST(UniqueFd, ClosesOnDestructionAndMovesOwnership) {
  int raw = -1;
  {
    auto efd = EventFd::create();
    ASSERT_TRUE(efd.ok());
    UniqueFd a(::dup(efd->fd()));
    raw = a.get();
    ASSERT_GE(raw, 0);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
    EXPECT_GE(::fcntl(raw, F_GETFD), 0);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
}

TEST(UniqueFd, ReleaseGivesUpOwnership) {
  UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int raw = a.release();
  EXPECT_FALSE(a.valid());
  EXPECT_GE(::fcntl(raw, F_GETFD), 0);
  ::close(raw);
}

}  // namespace
}  // namespace ringlane
