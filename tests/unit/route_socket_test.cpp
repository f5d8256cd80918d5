// RouteSocket against this machine's kernel, read-only: a dump of the links (a multi-part
// answer), one link's VF information, and a refusal.
#include "ringlane/sriov/route_socket.h"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "ringlane/sriov/vf_host.h"
#include "ringlane/sriov/vf_link.h"
#include "ringlane/sriov/vf_link_messages.h"

namespace ringlane::sriov {
namespace {

TEST(RouteSocket, CollectsEveryPartOfADump) {
  auto socket = RouteSocket::open();
  ASSERT_TRUE(socket.ok()) << socket.error().to_string();
  NetlinkMessageBuilder b(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, socket->next_sequence());
  ifinfomsg header{};
  b.put_header(header);
  auto answer = socket->transact(std::move(b).finish(), "dump the links");
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  auto messages = split_messages(*answer);
  ASSERT_TRUE(messages.ok()) << messages.error().to_string();
  bool saw_lo = false;
  for (const auto& m : *messages) {
    EXPECT_EQ(m.type, RTM_NEWLINK);
    auto header = read_struct<ifinfomsg>(m.payload, "ifinfomsg");
    ASSERT_TRUE(header.ok());
    if (header->ifi_index == static_cast<int>(if_nametoindex("lo"))) saw_lo = true;
  }
  EXPECT_TRUE(saw_lo);
  // The socket is ready for the next request: nothing of the dump is left over.
  auto again = socket->transact(build_get_vfs_request(socket->next_sequence(), 1), "read lo");
  ASSERT_TRUE(again.ok()) << again.error().to_string();
}

TEST(RouteSocket, LoopbackHasNoVfs) {
  auto link = VfLink::open();
  ASSERT_TRUE(link.ok()) << link.error().to_string();
  auto vfs = link->vf_settings("lo");
  ASSERT_TRUE(vfs.ok()) << vfs.error().to_string();
  EXPECT_EQ(vfs->name, "lo");
  EXPECT_TRUE(vfs->vfs.empty());
  EXPECT_EQ(vfs->num_vfs, std::nullopt);
}

TEST(RouteSocket, RefusalCarriesTheKernelsErrno) {
  auto socket = RouteSocket::open();
  ASSERT_TRUE(socket.ok());
  // No interface has this index.
  auto answer = socket->transact(build_get_vfs_request(socket->next_sequence(), 0x7ffffff0),
                                 "read link 2147483632");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code(), ENODEV);
  EXPECT_EQ(answer.error().message().rfind("read link 2147483632", 0), 0u)
      << answer.error().message();

  auto link = VfLink::open();
  ASSERT_TRUE(link.ok());
  auto missing = link->vf_settings("rl-no-such0");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ENODEV);
  EXPECT_EQ(missing.error().message(), "no network interface named 'rl-no-such0'");
}

TEST(RouteSocket, RefusalCarriesTheKernelsExtendedAck) {
  auto socket = RouteSocket::open();
  ASSERT_TRUE(socket.ok());
  // IFLA_EXT_MASK is a u32: two bytes fail the kernel's attribute policy, which explains itself.
  NetlinkMessageBuilder b(RTM_GETLINK, NLM_F_REQUEST, socket->next_sequence());
  ifinfomsg header{};
  header.ifi_index = static_cast<int>(if_nametoindex("lo"));
  b.put_header(header);
  b.put_attribute(IFLA_EXT_MASK, uint16_t{1});
  auto answer = socket->transact(std::move(b).finish(), "read lo");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code(), ERANGE);
  // The kernel's own words after the request's name ("read lo: Attribute failed policy
  // validation" on 6.x), not just strerror's.
  const std::string& message = answer.error().message();
  EXPECT_EQ(message.rfind("read lo: ", 0), 0u) << message;
  EXPECT_GT(message.size(), std::string("read lo: ").size()) << message;
}

// The PCI side is the subclass's; here it has nothing.
class NoPciHost : public NetlinkVfHost {
 public:
  using NetlinkVfHost::NetlinkVfHost;
  Result<std::vector<HostVf>> vfs() override { return std::vector<HostVf>{}; }
  Status bind(const vfio::PciAddress&, const std::string&) override { return {}; }
  Status restore_driver(const vfio::PciAddress&, const std::string&) override { return {}; }
};

TEST(RouteSocket, NetlinkVfHostNamesAVfThePfDoesNotHave) {
  auto link = VfLink::open();
  ASSERT_TRUE(link.ok());
  NoPciHost host(std::move(*link));
  auto settings = host.settings("lo", 0);
  ASSERT_FALSE(settings.ok());
  EXPECT_EQ(settings.error().code(), ENOENT);
  EXPECT_EQ(settings.error().message(), "lo has no VF 0 (it reports 0 VFs)");
}

}  // namespace
}  // namespace ringlane::sriov
