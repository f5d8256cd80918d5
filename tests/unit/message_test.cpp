// validate(): the size and fd-count rules for every vhost-user request, checked before any
// handler reads a payload a hostile frontend wrote.
#include "ringlane/vhost_user/message.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>

#include <memory>
#include <string>

namespace ringlane::vhost_user {
namespace {

std::unique_ptr<Message> make(Request request, uint32_t size, size_t fds = 0,
                              uint32_t flags = kVersion) {
  auto m = std::make_unique<Message>();
  m->header = MessageHeader{static_cast<uint32_t>(request), flags, size};
  std::memset(m->payload, 0, sizeof(m->payload));
  for (size_t i = 0; i < fds; ++i) m->fds.emplace_back(::eventfd(0, EFD_CLOEXEC));
  return m;
}

int code_of(const Message& m) {
  Status s = validate(m);
  return s.ok() ? 0 : s.error().code();
}

std::string name(Request r) {
  return to_string(r);
}

TEST(Validate, RequestsWithoutPayload) {
  for (Request r : {Request::get_features, Request::set_owner, Request::reset_owner,
                    Request::get_protocol_features, Request::get_queue_num,
                    Request::get_max_mem_slots, Request::get_status, Request::reset_device}) {
    SCOPED_TRACE(name(r));
    EXPECT_EQ(code_of(*make(r, 0)), 0);
    EXPECT_EQ(code_of(*make(r, 8)), EBADMSG);
    EXPECT_EQ(code_of(*make(r, 0, 1)), EBADMSG);
  }
}

TEST(Validate, RequestsWithAU64) {
  for (Request r : {Request::set_features, Request::set_protocol_features, Request::net_set_mtu,
                    Request::set_status}) {
    SCOPED_TRACE(name(r));
    EXPECT_EQ(code_of(*make(r, 8)), 0);
    EXPECT_EQ(code_of(*make(r, 0)), EBADMSG);
    EXPECT_EQ(code_of(*make(r, 4)), EBADMSG);
    EXPECT_EQ(code_of(*make(r, 16)), EBADMSG);
    EXPECT_EQ(code_of(*make(r, 8, 1)), EBADMSG);
  }
}

TEST(Validate, RequestsWithAVringState) {
  for (Request r : {Request::set_vring_num, Request::set_vring_base, Request::get_vring_base,
                    Request::set_vring_enable}) {
    SCOPED_TRACE(name(r));
    EXPECT_EQ(code_of(*make(r, sizeof(VringState))), 0);
    EXPECT_EQ(code_of(*make(r, 4)), EBADMSG);
    EXPECT_EQ(code_of(*make(r, sizeof(VringAddr))), EBADMSG);
    EXPECT_EQ(code_of(*make(r, sizeof(VringState), 1)), EBADMSG);
  }
}

TEST(Validate, SetVringAddr) {
  EXPECT_EQ(code_of(*make(Request::set_vring_addr, sizeof(VringAddr))), 0);
  EXPECT_EQ(code_of(*make(Request::set_vring_addr, sizeof(VringAddr) - 8)), EBADMSG);
  EXPECT_EQ(code_of(*make(Request::set_vring_addr, sizeof(VringState))), EBADMSG);
  EXPECT_EQ(code_of(*make(Request::set_vring_addr, sizeof(VringAddr), 1)), EBADMSG);
}

TEST(Validate, VringFdRequestsNeedAnFdUnlessNoFdIsSet) {
  for (Request r : {Request::set_vring_kick, Request::set_vring_call, Request::set_vring_err}) {
    SCOPED_TRACE(name(r));
    auto with_fd = make(r, 8, 1);
    EXPECT_EQ(code_of(*with_fd), 0);
    EXPECT_EQ(code_of(*make(r, 8, 0)), EBADMSG);  // an fd was promised
    EXPECT_EQ(code_of(*make(r, 8, 2)), EBADMSG);
    EXPECT_EQ(code_of(*make(r, 4, 1)), EBADMSG);
    EXPECT_EQ(code_of(*make(r, 16, 1)), EBADMSG);
    auto polling = make(r, 8, 0);
    uint64_t no_fd = kVringNoFd | 1;
    std::memcpy(polling->payload, &no_fd, 8);
    EXPECT_EQ(code_of(*polling), 0);
    auto polling_with_fd = make(r, 8, 1);
    std::memcpy(polling_with_fd->payload, &no_fd, 8);
    EXPECT_EQ(code_of(*polling_with_fd), EBADMSG);
  }
}

std::unique_ptr<Message> mem_table(uint32_t regions, uint32_t size, size_t fds) {
  auto m = make(Request::set_mem_table, size, fds);
  std::memcpy(m->payload, &regions, sizeof(regions));
  return m;
}

constexpr uint32_t kRegion = sizeof(virtio::RegionDescriptor);

TEST(Validate, SetMemTable) {
  EXPECT_EQ(code_of(*mem_table(1, 8 + kRegion, 1)), 0);
  EXPECT_EQ(code_of(*mem_table(8, 8 + 8 * kRegion, 8)), 0);
  // Some frontends always send the full eight-entry array.
  EXPECT_EQ(code_of(*mem_table(2, 8 + 8 * kRegion, 2)), 0);
  EXPECT_EQ(code_of(*mem_table(0, 8, 0)), EBADMSG);
  EXPECT_EQ(code_of(*mem_table(0, 8 + 8 * kRegion, 0)), EBADMSG);
  EXPECT_EQ(code_of(*mem_table(9, 8 + 9 * kRegion, 8)), EBADMSG);
  EXPECT_EQ(code_of(*mem_table(0xffffffff, 8 + 8 * kRegion, 8)), EBADMSG);
  EXPECT_EQ(code_of(*mem_table(2, 8 + 2 * kRegion, 1)), EBADMSG);  // fd count
  EXPECT_EQ(code_of(*mem_table(1, 8 + kRegion, 2)), EBADMSG);
  EXPECT_EQ(code_of(*mem_table(1, 8 + kRegion, 0)), EBADMSG);
  EXPECT_EQ(code_of(*mem_table(2, 8 + kRegion, 2)), EBADMSG);  // size vs count
  EXPECT_EQ(code_of(*mem_table(1, 8 + kRegion + 1, 1)), EBADMSG);
  EXPECT_EQ(code_of(*mem_table(1, 4, 1)), EBADMSG);
}

TEST(Validate, AddAndRemoveMemReg) {
  EXPECT_EQ(code_of(*make(Request::add_mem_reg, 8 + kRegion, 1)), 0);
  EXPECT_EQ(code_of(*make(Request::add_mem_reg, 8 + kRegion, 0)), EBADMSG);
  EXPECT_EQ(code_of(*make(Request::add_mem_reg, 8 + kRegion, 2)), EBADMSG);
  EXPECT_EQ(code_of(*make(Request::add_mem_reg, kRegion, 1)), EBADMSG);
  EXPECT_EQ(code_of(*make(Request::rem_mem_reg, 8 + kRegion, 0)), 0);
  EXPECT_EQ(code_of(*make(Request::rem_mem_reg, 8 + kRegion, 1)), 0);
  EXPECT_EQ(code_of(*make(Request::rem_mem_reg, 8 + kRegion, 2)), EBADMSG);
  EXPECT_EQ(code_of(*make(Request::rem_mem_reg, 8, 0)), EBADMSG);
}

TEST(Validate, VersionMustBeOne) {
  EXPECT_EQ(code_of(*make(Request::get_features, 0, 0, 0)), EPROTO);
  EXPECT_EQ(code_of(*make(Request::get_features, 0, 0, 2)), EPROTO);
  EXPECT_EQ(code_of(*make(Request::get_features, 0, 0, 3)), EPROTO);
  EXPECT_EQ(code_of(*make(Request::get_features, 0, 0, kFlagNeedReply)), EPROTO);
  EXPECT_EQ(code_of(*make(Request::get_features, 0, 0, kVersion | kFlagNeedReply)), 0);
}

TEST(Validate, PayloadLargerThanTheMaximum) {
  EXPECT_EQ(code_of(*make(Request::set_mem_table, kMaxPayload + 1, 1)), EMSGSIZE);
  EXPECT_EQ(code_of(*make(Request::get_features, 0xffffffff)), EMSGSIZE);
  EXPECT_EQ(code_of(*make(static_cast<Request>(999), kMaxPayload + 1)), EMSGSIZE);
}

TEST(Validate, UnsupportedRequestsAreENOSYS) {
  for (uint32_t r : {0u, 7u, 19u, 22u, 23u, 26u, 35u, 41u, 999u, 0xffffffffu}) {
    SCOPED_TRACE(r);
    EXPECT_EQ(code_of(*make(static_cast<Request>(r), 8)), ENOSYS);
  }
}

TEST(Message, TakeFdOnlyWithExactlyOne) {
  auto none = make(Request::set_vring_kick, 8, 0);
  EXPECT_FALSE(none->take_fd().valid());
  auto two = make(Request::set_vring_kick, 8, 2);
  EXPECT_FALSE(two->take_fd().valid());
  auto one = make(Request::set_vring_kick, 8, 1);
  int raw = one->fds[0].get();
  UniqueFd fd = one->take_fd();
  EXPECT_EQ(fd.get(), raw);
  EXPECT_FALSE(one->fds[0].valid());
}

TEST(Message, RequestNamesForLogs) {
  EXPECT_STREQ(to_string(Request::set_mem_table), "SET_MEM_TABLE");
  EXPECT_STREQ(to_string(Request::get_max_mem_slots), "GET_MAX_MEM_SLOTS");
  EXPECT_STREQ(to_string(static_cast<Request>(999)), "UNKNOWN");
}

}  // namespace
}  // namespace ringlane::vhost_user
