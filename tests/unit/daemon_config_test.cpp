// DaemonConfig parsing: --port and --disk specs, the TOML file and the cross-field checks. Bad
// input must come back as an error whose message names the problem, never as a crash or a silent
// default.
#include "ringlane/control/daemon_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "ringlane/control/idle_policy.h"
#include "ringlane/virtio/spec.h"

namespace ringlane::control {
namespace {

using ::testing::HasSubstr;

// The error message of a failed result ("" when it unexpectedly succeeded).
template <typename R>
std::string error_of(const R& r) {
  return r.ok() ? std::string() : r.error().message();
}

TEST(ParsePortSpec, MinimalSpec) {
  auto port = parse_port_spec("name=vm0,path=/tmp/vm0.sock");
  ASSERT_TRUE(port.ok()) << error_of(port);
  EXPECT_EQ(port->name, "vm0");
  EXPECT_EQ(port->socket_path, "/tmp/vm0.sock");
  EXPECT_FALSE(port->client_mode);
  EXPECT_EQ(port->queue_pairs, 1);
  EXPECT_EQ(port->type, "vhost-user-net");
  EXPECT_TRUE(port->disabled_features.empty());
}

TEST(ParsePortSpec, EveryKey) {
  auto port = parse_port_spec(
      "name=vm1,path=/run/vm1.sock,mode=client,queues=16,disable=event_idx+mrg_rxbuf,"
      "type=vhost-user-net");
  ASSERT_TRUE(port.ok()) << error_of(port);
  EXPECT_TRUE(port->client_mode);
  EXPECT_EQ(port->queue_pairs, 16);
  EXPECT_EQ(port->disabled_features, (std::vector<std::string>{"event_idx", "mrg_rxbuf"}));
  auto server = parse_port_spec("mode=server,path=/p,name=n");
  ASSERT_TRUE(server.ok()) << error_of(server);
  EXPECT_FALSE(server->client_mode);
}

TEST(ParsePortSpec, BadSpecsNameTheProblem) {
  struct Case {
    const char* spec;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "expected key=value"},
           Case{"name=vm0", "missing path="},
           Case{"path=/tmp/x", "missing name="},
           Case{"name=vm0,path=/x,mode=listen", "socket mode must be 'server' or 'client'"},
           Case{"name=vm0,path=/x,queues=0", "queues must be 1-16"},
           Case{"name=vm0,path=/x,queues=17", "queues must be 1-16"},
           Case{"name=vm0,path=/x,queues=two", "queues must be 1-16"},
           Case{"name=vm0,path=/x,queues=-1", "queues must be 1-16"},
           Case{"name=vm0,path=/x,queues=2x", "queues must be 1-16"},
           Case{"name=vm0,path=/x,colour=blue", "unknown key 'colour'"},
           Case{"name=vm0,path", "expected key=value, got 'path'"},
           Case{"name=vm0,,path=/x", "expected key=value"},
           Case{"name=vm0,path=/x,=1", "expected key=value, got '=1'"},
           Case{"name=vm0,path=/x,Name=a",
                "--port 'name=vm0,path=/x,Name=a': unknown key 'Name' (known: name, kind, path, "
                "mode, queues, disable, type, ifname, xdp, zerocopy, devargs, vlan, trunk)"},
           // Once the first value would silently have lost to the second.
           Case{"name=vm0,path=/x,name=vm1",
                "--port 'name=vm0,path=/x,name=vm1': 'name' given twice"},
           Case{"name=vm0,path=/x,queues=2,queues=4", "'queues' given twice"},
       }) {
    auto port = parse_port_spec(c.spec);
    EXPECT_FALSE(port.ok()) << c.spec;
    EXPECT_THAT(error_of(port), HasSubstr(c.message)) << c.spec;
  }
}

TEST(ParsePortSpec, UplinkKinds) {
  auto afxdp = parse_port_spec("name=up,kind=afxdp,ifname=veth0,queues=2,xdp=generic,zerocopy=off");
  ASSERT_TRUE(afxdp.ok()) << error_of(afxdp);
  EXPECT_EQ(afxdp->kind, PortKind::afxdp);
  EXPECT_EQ(afxdp->ifname, "veth0");
  EXPECT_EQ(afxdp->queue_pairs, 2);
  EXPECT_EQ(afxdp->xdp, XdpAttach::generic);
  EXPECT_EQ(afxdp->zerocopy, ZeroCopy::off);
  auto dpdk = parse_port_spec("name=d,kind=dpdk,devargs=\"net_af_packet0,iface=veth0\",queues=2");
  ASSERT_TRUE(dpdk.ok()) << error_of(dpdk);
  EXPECT_EQ(dpdk->kind, PortKind::dpdk);
  EXPECT_EQ(dpdk->devargs, "net_af_packet0,iface=veth0");
  auto tap = parse_port_spec("name=t,kind=tap,ifname=rl-tap0,trunk=30+10+20");
  ASSERT_TRUE(tap.ok()) << error_of(tap);
  EXPECT_EQ(tap->kind, PortKind::tap);
  EXPECT_EQ(tap->trunk_vlans, (std::vector<uint16_t>{10, 20, 30}));
  auto access = parse_port_spec("name=vm0,path=/x,vlan=4094");
  ASSERT_TRUE(access.ok()) << error_of(access);
  EXPECT_EQ(access->kind, PortKind::vhost);
  EXPECT_EQ(access->access_vlan, 4094);
}

TEST(ParsePortSpec, BadUplinkSpecsNameTheProblem) {
  struct Case {
    const char* spec;
    const char* message;
  };
  for (const Case& c : {
           Case{"name=u,kind=xdp,ifname=eth0", "kind must be vhost, afxdp, dpdk or tap, got 'xdp'"},
           Case{"name=u,kind=afxdp", "missing ifname="},
           Case{"name=u,kind=tap", "missing ifname="},
           Case{"name=u,kind=dpdk", "missing devargs="},
           Case{"name=u,kind=afxdp,ifname=eth0,path=/x",
                "'path' does not apply to a port of kind afxdp"},
           Case{"name=u,kind=tap,ifname=t0,queues=2",
                "'queues' does not apply to a port of kind tap"},
           Case{"name=u,kind=dpdk,devargs=x,ifname=eth0",
                "'ifname' does not apply to a port of kind dpdk"},
           Case{"name=u,path=/x,devargs=x", "'devargs' does not apply to a port of kind vhost"},
           Case{"name=u,kind=afxdp,ifname=eth0,xdp=skb", "xdp must be auto, native or generic"},
           Case{"name=u,kind=afxdp,ifname=eth0,zerocopy=yes", "zerocopy must be auto, on or off"},
           Case{"name=u,path=/x,vlan=0", "a VLAN id must be 1-4094, got '0'"},
           Case{"name=u,path=/x,vlan=4095", "a VLAN id must be 1-4094, got '4095'"},
           Case{"name=u,path=/x,vlan=ten", "a VLAN id must be 1-4094, got 'ten'"},
           Case{"name=u,path=/x,trunk=10+5000", "a VLAN id must be 1-4094, got '5000'"},
           Case{"name=u,path=/x,trunk=10+", "a VLAN id must be 1-4094, got ''"},
           Case{"name=u,path=/x,trunk=10+20+10", "VLAN 10 is in the trunk twice"},
           Case{"name=u,path=/x,vlan=10,trunk=20",
                "an access port (vlan=) or a trunk (trunk=), not both"},
           Case{"name=u,kind=dpdk,devargs=\"net_af_packet0,iface=x", "unterminated quote"},
       }) {
    auto port = parse_port_spec(c.spec);
    EXPECT_FALSE(port.ok()) << c.spec;
    EXPECT_THAT(error_of(port), HasSubstr(c.message)) << c.spec;
  }
}

TEST(ParseDiskSpec, MinimalSpec) {
  auto disk = parse_disk_spec("name=d0,path=/tmp/d0.sock,file=/var/d0.img");
  ASSERT_TRUE(disk.ok()) << error_of(disk);
  EXPECT_EQ(disk->name, "d0");
  EXPECT_EQ(disk->socket_path, "/tmp/d0.sock");
  EXPECT_EQ(disk->image_path, "/var/d0.img");
  EXPECT_FALSE(disk->client_mode);
  EXPECT_FALSE(disk->readonly);
  EXPECT_EQ(disk->queues, 1);
  EXPECT_FALSE(disk->direct.has_value()) << "unset: O_DIRECT where the store allows it";
  EXPECT_TRUE(disk->discard);
}

TEST(ParseDiskSpec, EveryKey) {
  auto disk = parse_disk_spec(
      "name=d1,path=/run/d1.sock,file=/dev/nvme0n1,mode=client,readonly,queues=16,direct=on,"
      "discard=off");
  ASSERT_TRUE(disk.ok()) << error_of(disk);
  EXPECT_EQ(disk->image_path, "/dev/nvme0n1");
  EXPECT_TRUE(disk->client_mode);
  EXPECT_TRUE(disk->readonly);
  EXPECT_EQ(disk->queues, 16);
  EXPECT_EQ(disk->direct, std::optional<bool>(true));
  EXPECT_FALSE(disk->discard);

  auto other = parse_disk_spec("file=/i,direct=off,mode=server,path=/p,name=n,discard=on");
  ASSERT_TRUE(other.ok()) << error_of(other);
  EXPECT_FALSE(other->client_mode);
  EXPECT_EQ(other->direct, std::optional<bool>(false));
  EXPECT_TRUE(other->discard);
}

TEST(ParseDiskSpec, ReadonlyBareOrOnOff) {
  for (const char* spec :
       {"readonly,name=d,path=/p,file=/f", "name=d,path=/p,file=/f,readonly",
        "name=d,readonly,path=/p,file=/f", "name=d,path=/p,file=/f,readonly=on"}) {
    auto disk = parse_disk_spec(spec);
    ASSERT_TRUE(disk.ok()) << spec << ": " << error_of(disk);
    EXPECT_TRUE(disk->readonly) << spec;
  }
  auto off = parse_disk_spec("name=d,path=/p,file=/f,readonly=off");
  ASSERT_TRUE(off.ok()) << error_of(off);
  EXPECT_FALSE(off->readonly);
}

TEST(ParseDiskSpec, ValuesMayHoldWhatOnlyLooksLikeAFlag) {
  // Only a whole item is a bare flag: a name or path that reads "readonly" stays a value.
  auto disk = parse_disk_spec("name=readonly,path=/p/readonly,file=readonly");
  ASSERT_TRUE(disk.ok()) << error_of(disk);
  EXPECT_EQ(disk->name, "readonly");
  EXPECT_EQ(disk->socket_path, "/p/readonly");
  EXPECT_EQ(disk->image_path, "readonly");
  EXPECT_FALSE(disk->readonly);
}

TEST(ParseDiskSpec, BadSpecsNameTheProblem) {
  struct Case {
    const char* spec;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "expected key=value, got ''"},
           Case{"readonly", "missing name="},
           Case{"name=d0,file=/f", "missing path="},
           Case{"path=/p,file=/f", "missing name="},
           Case{"name=d0,path=/p", "--disk 'name=d0,path=/p': missing file="},
           Case{"name=,path=/p,file=/f", "missing name="},
           Case{"name=d0,path=/p,file=", "missing file="},
           Case{"name=d0,path=/p,file=/f,mode=listen",
                "socket mode must be 'server' or 'client', got 'listen'"},
           Case{"name=d0,path=/p,file=/f,queues=0", "queues must be 1-16, got '0'"},
           Case{"name=d0,path=/p,file=/f,queues=17", "queues must be 1-16, got '17'"},
           Case{"name=d0,path=/p,file=/f,queues=", "queues must be 1-16, got ''"},
           Case{"name=d0,path=/p,file=/f,queues=+2", "queues must be 1-16, got '+2'"},
           Case{"name=d0,path=/p,file=/f,queues=4k", "queues must be 1-16, got '4k'"},
           Case{"name=d0,path=/p,file=/f,readonly=yes",
                "--disk 'name=d0,path=/p,file=/f,readonly=yes': readonly must be 'on' or 'off', "
                "got 'yes'"},
           Case{"name=d0,path=/p,file=/f,readonly=", "readonly must be 'on' or 'off', got ''"},
           Case{"name=d0,path=/p,file=/f,direct=true", "direct must be 'on' or 'off', got 'true'"},
           Case{"name=d0,path=/p,file=/f,direct", "expected key=value, got 'direct'"},
           Case{"name=d0,path=/p,file=/f,discard=ON", "discard must be 'on' or 'off', got 'ON'"},
           Case{"name=d0,path=/p,file=/f,Readonly", "expected key=value, got 'Readonly'"},
           Case{"name=d0,path=/p,file=/f,size=1G",
                "unknown key 'size' (known: name, path, file, mode, readonly, queues, direct, "
                "discard)"},
           Case{"name=d0,path=/p,file=/f,disable=mq", "unknown key 'disable'"},
           Case{"name=d0,,path=/p,file=/f", "expected key=value, got ''"},
           Case{",name=d0,path=/p,file=/f", "expected key=value, got ''"},
           Case{"name=d0,path=/p,file=/f,", "expected key=value, got ''"},
           Case{"name=d0,path=/p,file=/f,file=/g", "'file' given twice"},
           // Bare and spelt out, or twice bare: one key given twice, as the operator wrote it.
           Case{"name=d0,path=/p,file=/f,readonly,readonly=off",
                "--disk 'name=d0,path=/p,file=/f,readonly,readonly=off': 'readonly' given twice"},
           Case{"name=d0,path=/p,file=/f,readonly,readonly", "'readonly' given twice"},
       }) {
    auto disk = parse_disk_spec(c.spec);
    EXPECT_FALSE(disk.ok()) << c.spec;
    EXPECT_THAT(error_of(disk), HasSubstr(c.message)) << c.spec;
    EXPECT_EQ(disk.ok() ? 0 : disk.error().code(), EINVAL) << c.spec;
  }
}

constexpr const char* kGoodToml = R"(
cores = "2-3"
mode = "l2"
stats_interval = 1.5
duration = 10
mac_aging = 60
summary = "/tmp/summary.json"
log_level = "debug"
xconnect = [["vm0", "vm1"]]

[[port]]
name = "vm0"
path = "/tmp/vm0.sock"

[[port]]
name = "vm1"
path = "/tmp/vm1.sock"
socket_mode = "client"
queues = 4
disable = ["event_idx", "indirect"]
type = "vhost-user-net"
)";

TEST(ApplyToml, GoodFile) {
  DaemonConfig config;
  Status s = apply_toml(kGoodToml, "good.toml", config);
  ASSERT_TRUE(s.ok()) << error_of(s);
  EXPECT_EQ(config.cores, "2-3");
  EXPECT_EQ(config.mode, "l2");
  EXPECT_DOUBLE_EQ(config.stats_interval, 1.5);
  EXPECT_DOUBLE_EQ(config.duration, 10);
  EXPECT_DOUBLE_EQ(config.mac_aging, 60);
  EXPECT_EQ(config.summary_path, "/tmp/summary.json");
  EXPECT_EQ(config.log_level, "debug");
  ASSERT_EQ(config.ports.size(), 2u);
  EXPECT_EQ(config.ports[0].name, "vm0");
  EXPECT_EQ(config.ports[0].socket_path, "/tmp/vm0.sock");
  EXPECT_FALSE(config.ports[0].client_mode);
  EXPECT_EQ(config.ports[0].queue_pairs, 1);
  EXPECT_TRUE(config.ports[1].client_mode);
  EXPECT_EQ(config.ports[1].queue_pairs, 4);
  EXPECT_EQ(config.ports[1].disabled_features, (std::vector<std::string>{"event_idx", "indirect"}));
  ASSERT_EQ(config.cross_connects.size(), 1u);
  EXPECT_EQ(config.cross_connects[0], (std::pair<std::string, std::string>{"vm0", "vm1"}));
  EXPECT_TRUE(validate(config).ok()) << error_of(validate(config));
}

TEST(ApplyToml, KeysNotInTheFileKeepTheirValues) {
  DaemonConfig config;
  config.mode = "l2";
  config.cores = "5";
  ASSERT_TRUE(apply_toml("duration = 3\n", "partial.toml", config).ok());
  EXPECT_EQ(config.mode, "l2");
  EXPECT_EQ(config.cores, "5");
  EXPECT_DOUBLE_EQ(config.duration, 3);
}

TEST(ApplyToml, CoresMayBeAnInteger) {
  DaemonConfig config;
  ASSERT_TRUE(apply_toml("cores = 3\n", "cores.toml", config).ok());
  EXPECT_EQ(config.cores, "3");
}

TEST(ApplyToml, ControlCoresAsListOrInteger) {
  DaemonConfig config;
  EXPECT_EQ(config.control_cores, "") << "default: chosen at start, apart from the workers";
  ASSERT_TRUE(apply_toml("control_cores = \"0,2-3\"\n", "c.toml", config).ok());
  EXPECT_EQ(config.control_cores, "0,2-3");
  ASSERT_TRUE(apply_toml("control_cores = 0\n", "c.toml", config).ok());
  EXPECT_EQ(config.control_cores, "0");
}

TEST(ApplyToml, BadFilesNameTheProblem) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"colour = \"blue\"\n", "unknown key 'colour'"},
           Case{"mode = 5\n", "'mode' must be a string"},
           Case{"cores = true\n", "'cores' must be a string"},
           Case{"control_cores = [0]\n", "'control_cores' must be a string"},
           Case{"summary = 1\n", "'summary' must be a string"},
           Case{"stats_interval = \"often\"\n", "'stats_interval' must be a number"},
           Case{"duration = -1\n", "'duration' must not be negative"},
           Case{"mac_aging = [1]\n", "'mac_aging' must be a number"},
           Case{"port = 1\n", "'port' must be an array of tables"},
           Case{"port = [1]\n", "port #1 is not a table"},
           Case{"[[port]]\nname = \"a\"\n", "'name' and 'path' are required"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\nsocket_mode = \"listen\"\n",
                "socket mode must be 'server' or 'client'"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\nqueues = 0\n",
                "'queues' must be an integer 1-16"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\nqueues = 17\n",
                "'queues' must be an integer 1-16"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\nqueues = \"2\"\n",
                "'queues' must be an integer 1-16"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\nqueues = true\n",
                "'queues' must be an integer 1-16"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\nqueues = 2.0\n",
                "'queues' must be an integer 1-16"},
           Case{"[[port]]\nname = 1\npath = \"/a\"\n", "'name' must be a string"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\nsockt = \"x\"\n",
                "port #1: unknown key 'sockt'"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\ndisable = \"mq\"\n",
                "'disable' must be an array of strings"},
           Case{"[[port]]\nname = \"a\"\npath = \"/a\"\ndisable = [1]\n",
                "'disable' must be an array of strings"},
           Case{"xconnect = \"a-b\"\n", "'xconnect' must be an array"},
           Case{"xconnect = [[\"a\"]]\n", "each 'xconnect' entry must be"},
           Case{"xconnect = [[\"a\", 2]]\n", "each 'xconnect' entry must be"},
       }) {
    DaemonConfig config;
    Status s = apply_toml(c.text, "bad.toml", config);
    EXPECT_FALSE(s.ok()) << c.text;
    EXPECT_THAT(error_of(s), HasSubstr(c.message)) << c.text;
    EXPECT_THAT(error_of(s), HasSubstr("bad.toml")) << c.text;
  }
}

TEST(ApplyToml, Disks) {
  DaemonConfig config;
  Status s = apply_toml(R"(
[[disk]]
name = "d0"
path = "/tmp/d0.sock"
file = "/var/d0.img"

[[disk]]
name = "d1"
path = "/tmp/d1.sock"
file = "/dev/sdb"
socket_mode = "client"
readonly = true
queues = 4
direct = false
discard = false
)",
                        "disks.toml", config);
  ASSERT_TRUE(s.ok()) << error_of(s);
  EXPECT_TRUE(config.ports.empty());
  ASSERT_EQ(config.disks.size(), 2u);
  const DiskConfig& d0 = config.disks[0];
  EXPECT_EQ(d0.name, "d0");
  EXPECT_EQ(d0.socket_path, "/tmp/d0.sock");
  EXPECT_EQ(d0.image_path, "/var/d0.img");
  EXPECT_FALSE(d0.client_mode);
  EXPECT_FALSE(d0.readonly);
  EXPECT_EQ(d0.queues, 1);
  EXPECT_FALSE(d0.direct.has_value());
  EXPECT_TRUE(d0.discard);
  const DiskConfig& d1 = config.disks[1];
  EXPECT_EQ(d1.image_path, "/dev/sdb");
  EXPECT_TRUE(d1.client_mode);
  EXPECT_TRUE(d1.readonly);
  EXPECT_EQ(d1.queues, 4);
  EXPECT_EQ(d1.direct, std::optional<bool>(false));
  EXPECT_FALSE(d1.discard);
  EXPECT_TRUE(validate(config).ok()) << "a disk-only daemon: " << error_of(validate(config));

  DaemonConfig direct;
  ASSERT_TRUE(apply_toml("[[disk]]\nname = \"d\"\npath = \"/p\"\nfile = \"/f\"\ndirect = true\n",
                         "d.toml", direct)
                  .ok());
  EXPECT_EQ(direct.disks.at(0).direct, std::optional<bool>(true));
}

TEST(ApplyToml, PortsAndDisksTogether) {
  DaemonConfig config;
  Status s = apply_toml(std::string(kGoodToml) + R"(
[[disk]]
name = "d0"
path = "/tmp/d0.sock"
file = "/var/d0.img"
)",
                        "both.toml", config);
  ASSERT_TRUE(s.ok()) << error_of(s);
  EXPECT_EQ(config.ports.size(), 2u);
  ASSERT_EQ(config.disks.size(), 1u);
  EXPECT_EQ(config.disks[0].name, "d0");
  EXPECT_TRUE(validate(config).ok()) << error_of(validate(config));
}

TEST(ApplyToml, BadDisksNameTheProblem) {
  struct Case {
    const char* text;
    const char* message;
  };
  const std::string disk = "[[disk]]\nname = \"d\"\npath = \"/p\"\nfile = \"/f\"\n";
  for (const auto& [extra, message] : {
           std::pair<std::string, std::string>{"socket_mode = \"listen\"\n",
                                               "disk #1: socket mode must be 'server' or 'client'"},
           {"socket_mode = 1\n", "disk #1: 'socket_mode' must be a string"},
           {"mode = \"client\"\n", "disk #1: unknown key 'mode'"},
           {"readonly = \"yes\"\n", "disk #1: 'readonly' must be true or false"},
           {"readonly = 1\n", "disk #1: 'readonly' must be true or false"},
           {"direct = \"on\"\n", "disk #1: 'direct' must be true or false"},
           {"discard = 0\n", "disk #1: 'discard' must be true or false"},
           {"queues = 0\n", "disk #1: 'queues' must be an integer 1-16"},
           {"queues = 17\n", "disk #1: 'queues' must be an integer 1-16"},
           {"queues = \"2\"\n", "disk #1: 'queues' must be an integer 1-16"},
           {"queues = true\n", "disk #1: 'queues' must be an integer 1-16"},
           {"queues = 4.0\n", "disk #1: 'queues' must be an integer 1-16"},
           {"file = \"/g\"\n", "bad.toml:5:"},  // toml++ refuses the redefinition
           {"size = 1024\n", "disk #1: unknown key 'size'"},
           {"disable = [\"mq\"]\n", "disk #1: unknown key 'disable'"},
       }) {
    DaemonConfig config;
    Status s = apply_toml(disk + extra, "bad.toml", config);
    EXPECT_FALSE(s.ok()) << extra;
    EXPECT_THAT(error_of(s), HasSubstr(message)) << extra;
    EXPECT_THAT(error_of(s), HasSubstr("bad.toml")) << extra;
  }
  for (const Case& c : {
           Case{"disk = 1\n", "'disk' must be an array of tables ([[disk]])"},
           Case{"disk = [1]\n", "disk #1 is not a table"},
           Case{"[disk]\nname = \"d\"\n", "'disk' must be an array of tables"},
           Case{"[[disk]]\nname = \"d\"\npath = \"/p\"\n",
                "'name', 'path' and 'file' are required"},
           Case{"[[disk]]\npath = \"/p\"\nfile = \"/f\"\n",
                "'name', 'path' and 'file' are required"},
           Case{"[[disk]]\nname = \"d\"\nfile = \"/f\"\n",
                "'name', 'path' and 'file' are required"},
           Case{"[[disk]]\nname = \"\"\npath = \"/p\"\nfile = \"/f\"\n",
                "'name', 'path' and 'file' are required"},
           Case{"[[disk]]\nname = 1\npath = \"/p\"\nfile = \"/f\"\n",
                "disk #1: 'name' must be a string"},
           Case{"[[disk]]\nname = \"d\"\npath = \"/p\"\nfile = [\"/f\"]\n",
                "disk #1: 'file' must be a string"},
           Case{"[[disk]]\nname = \"d\"\npath = \"/p\"\nfile = \"/f\"\n[[disk]]\nname = \"e\"\n",
                "disk #2: 'name', 'path' and 'file' are required"},
       }) {
    DaemonConfig config;
    Status s = apply_toml(c.text, "bad.toml", config);
    EXPECT_FALSE(s.ok()) << c.text;
    EXPECT_THAT(error_of(s), HasSubstr(c.message)) << c.text;
    EXPECT_THAT(error_of(s), HasSubstr("bad.toml")) << c.text;
  }
}

TEST(ApplyToml, SyntaxErrorGivesTheLine) {
  DaemonConfig config;
  Status s = apply_toml("mode = \"l2\"\ncores = \"1\"\nduration = = 3\n", "broken.toml", config);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(error_of(s), HasSubstr("broken.toml:3:")) << error_of(s);
  Status unterminated = apply_toml("\n\nmode = \"l2\n", "broken.toml", config);
  ASSERT_FALSE(unterminated.ok());
  EXPECT_THAT(error_of(unterminated), HasSubstr("broken.toml:3:")) << error_of(unterminated);
}

TEST(ApplyToml, MalformedTableHeadersAreErrorsNotAborts) {
  // toml++ 3.3 asserts on these in builds with assertions (upstream tomlplusplus#301).
  for (const char* text : {"[\x1b]\n", "[[[1]]]\n", "[[=\n", "mode = 5\n[ \x01 ]\n"}) {
    DaemonConfig config;
    Status s = apply_toml(text, "header.toml", config);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_THAT(error_of(s), HasSubstr("header.toml:")) << text;
  }
}

TEST(ApplyToml, NonAsciiTextIsRefusedWithItsPosition) {
  // toml++ 3.3 has undefined behaviour on some of these (tomlplusplus#190, #295).
  DaemonConfig config;
  Status s = apply_toml("mode = \"l2\"\nsummary = \"/tmp/\xc3\xa9.json\"\n", "utf8.toml", config);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(error_of(s), HasSubstr("utf8.toml:2:17: only ASCII text is accepted"));
  EXPECT_FALSE(apply_toml("mode = \xcb\xa0\n", "utf8.toml", config).ok());
  EXPECT_FALSE(apply_toml("s = \"\"\"\\\n\xc2\xa7\"\"\"\n", "utf8.toml", config).ok());
  EXPECT_EQ(config.mode, "xconnect");  // nothing applied
}

PortConfig port(const char* name, const char* path) {
  PortConfig p;
  p.name = name;
  p.socket_path = path;
  return p;
}

DaemonConfig two_ports() {
  DaemonConfig c;
  c.ports = {port("a", "/tmp/a.sock"), port("b", "/tmp/b.sock")};
  c.cross_connects = {{"a", "b"}};
  return c;
}

TEST(Validate, GoodConfig) {
  DaemonConfig c = two_ports();
  EXPECT_TRUE(validate(c).ok()) << error_of(validate(c));
  c.mode = "l2";
  c.cross_connects.clear();
  EXPECT_TRUE(validate(c).ok());
}

TEST(Validate, PortCountIsLimitedOnlyByTheIndexWidth) {
  DaemonConfig c;
  c.mode = "l2";
  PortConfig port;
  for (size_t i = 0; i < kMaxPorts; ++i) {
    port.name = std::to_string(i);
    port.socket_path = "/run/" + port.name;
    c.ports.push_back(port);
  }
  EXPECT_TRUE(validate(c).ok()) << error_of(validate(c));
  port.name = port.socket_path = "one-more";
  c.ports.push_back(port);
  EXPECT_THAT(error_of(validate(c)), HasSubstr("65536 ports configured; at most 65535"));
}

TEST(Validate, TimesMustBeFiniteAndInRange) {
  // "nan" and "inf" parse as numbers (CLI11 and toml++ both accept them).
  struct Case {
    double stats_interval, duration, mac_aging;
    const char* needle;
  };
  for (const Case& c : {Case{NAN, 0, 300, "stats_interval"}, Case{-1, 0, 300, "stats_interval"},
                        Case{0, INFINITY, 300, "duration"}, Case{0, NAN, 300, "duration"},
                        Case{0, 0, 0, "mac_aging"}, Case{0, 0, INFINITY, "mac_aging"},
                        Case{0, 0, NAN, "mac_aging"}}) {
    DaemonConfig config;
    config.stats_interval = c.stats_interval;
    config.duration = c.duration;
    config.mac_aging = c.mac_aging;
    Status s = validate(config);
    ASSERT_FALSE(s.ok()) << c.needle;
    EXPECT_NE(s.error().message().find(c.needle), std::string::npos) << s.error().message();
  }
  DaemonConfig fine;
  fine.stats_interval = 0.5;
  fine.duration = 10;
  fine.mac_aging = 0.001;
  EXPECT_TRUE(validate(fine).ok());
}

TEST(Validate, IdleSleepIsFiniteMicrosecondsUpToASecond) {
  for (double bad : {-1.0, 1e6 + 1, static_cast<double>(NAN), static_cast<double>(INFINITY)}) {
    DaemonConfig config;
    config.idle_sleep_us = bad;
    EXPECT_THAT(error_of(validate(config)), HasSubstr("idle_sleep_us")) << bad;
  }
  DaemonConfig config;
  ASSERT_TRUE(apply_toml("idle_sleep_us = 25\n", "t.toml", config).ok());
  EXPECT_DOUBLE_EQ(config.idle_sleep_us, 25);
  EXPECT_TRUE(validate(config).ok());
}

TEST(IdlePolicy, PollSleepAndSleepWithATime) {
  EXPECT_FALSE(parse_idle_policy("poll")->sleeps());
  EXPECT_DOUBLE_EQ(parse_idle_policy("sleep")->sleep_after_us, kDefaultIdleSleepUs);
  EXPECT_DOUBLE_EQ(parse_idle_policy("sleep:250")->sleep_after_us, 250);
  EXPECT_DOUBLE_EQ(parse_idle_policy("sleep:0.5e3")->sleep_after_us, 500);
  for (const char* bad : {"", "Poll", "sleep:", "sleep:0", "sleep:-5", "sleep:2e6", "sleep:1x",
                          "sleep:nan", "sleep:inf", "sleep 100", "spin"}) {
    EXPECT_FALSE(parse_idle_policy(bad).ok()) << bad;
  }
  EXPECT_EQ(to_string(IdlePolicy{}), "poll");
  EXPECT_EQ(to_string(IdlePolicy{100}), "sleep:100");
  EXPECT_DOUBLE_EQ(parse_idle_policy(to_string(IdlePolicy{12.5}))->sleep_after_us, 12.5);
}

TEST(Toml, ControlPlaneKeys) {
  DaemonConfig config;
  ASSERT_TRUE(apply_toml("idle = \"sleep:100\"\napi_sock = \"/run/rl.sock\"\n"
                         "api_sock_mode = \"0660\"\napi_sock_owner = \"root:adm\"\n"
                         "metrics = \"127.0.0.1:9470\"\nrebalance_interval = 10\n",
                         "t.toml", config)
                  .ok());
  EXPECT_DOUBLE_EQ(config.idle_sleep_us, 100);
  EXPECT_EQ(config.api_sock, "/run/rl.sock");
  EXPECT_EQ(config.api_sock_mode, "0660");
  EXPECT_EQ(config.api_sock_owner, "root:adm");
  EXPECT_EQ(config.metrics, "127.0.0.1:9470");
  EXPECT_DOUBLE_EQ(config.rebalance_interval, 10);
  DaemonConfig bad;
  EXPECT_THAT(error_of(apply_toml("idle = \"nap\"\n", "t.toml", bad)), HasSubstr("'idle'"));
  EXPECT_THAT(error_of(apply_toml("idle = \"poll\"\nidle_sleep_us = 5\n", "t.toml", bad)),
              HasSubstr("exclude"));
  EXPECT_THAT(error_of(apply_toml("metrics = 9470\n", "t.toml", bad)), HasSubstr("string"));
}

TEST(Validate, DuplicateNames) {
  DaemonConfig c = two_ports();
  c.ports[1].name = "a";
  c.cross_connects.clear();
  EXPECT_THAT(error_of(validate(c)), HasSubstr("duplicate port name 'a'"));
}

TEST(Validate, DuplicatePaths) {
  DaemonConfig c = two_ports();
  c.ports[1].socket_path = "/tmp/a.sock";
  EXPECT_THAT(error_of(validate(c)),
              HasSubstr("socket path '/tmp/a.sock' is used by port 'a' and port 'b'"));
}

DiskConfig disk(const char* name, const char* path) {
  DiskConfig d;
  d.name = name;
  d.socket_path = path;
  d.image_path = std::string("/var/") + name + ".img";
  return d;
}

TEST(Validate, DisksBesidePorts) {
  DaemonConfig c = two_ports();
  c.disks = {disk("d0", "/tmp/d0.sock"), disk("d1", "/tmp/d1.sock")};
  c.disks[1].queues = kMaxDiskQueues;
  c.disks[1].image_path = c.disks[0].image_path;  // not this check's business (shared, readonly)
  EXPECT_TRUE(validate(c).ok()) << error_of(validate(c));
}

TEST(Validate, DisksOnly) {
  DaemonConfig c;
  c.disks = {disk("d0", "/tmp/d0.sock")};
  EXPECT_TRUE(validate(c).ok()) << error_of(validate(c));
  c.mode = "l2";
  EXPECT_TRUE(validate(c).ok()) << error_of(validate(c));
}

TEST(Validate, ImagesAreNotLookedAt) {
  // The image opens with the disk; the configuration names it only.
  DaemonConfig c;
  c.disks = {disk("d0", "/tmp/d0.sock")};
  c.disks[0].image_path = "/nonexistent/ringlane/d0.img";
  c.disks[0].direct = true;
  EXPECT_TRUE(validate(c).ok()) << error_of(validate(c));
}

TEST(Validate, BadDisksNameTheProblem) {
  struct Case {
    void (*change)(DaemonConfig&);
    const char* message;
  };
  for (const Case& c : {
           Case{[](DaemonConfig& c) { c.disks[1].name = "d0"; }, "duplicate disk name 'd0'"},
           Case{[](DaemonConfig& c) { c.disks[1].name = "a"; },
                "disk 'a': a port has that name too; ports and disks share one namespace (the "
                "statistics and ringlane-ctl name either)"},
           Case{[](DaemonConfig& c) { c.disks[1].socket_path = "/tmp/d0.sock"; },
                "socket path '/tmp/d0.sock' is used by disk 'd0' and disk 'd1'"},
           Case{[](DaemonConfig& c) { c.disks[0].socket_path = "/tmp/b.sock"; },
                "socket path '/tmp/b.sock' is used by port 'b' and disk 'd0'"},
           Case{[](DaemonConfig& c) { c.disks[1].queues = 0; },
                "disk 'd1': queues must be 1-16, got '0'"},
           Case{[](DaemonConfig& c) { c.disks[1].queues = kMaxDiskQueues + 1; },
                "disk 'd1': queues must be 1-16, got '17'"},
           Case{[](DaemonConfig& c) { c.disks[0].image_path.clear(); }, "disk 'd0': no image file"},
           Case{[](DaemonConfig& c) { c.disks[0].socket_path.clear(); },
                "disk 'd0': no socket path"},
           Case{[](DaemonConfig& c) { c.disks[0].name.clear(); }, "a disk has no name"},
           Case{[](DaemonConfig& c) {
                  c.cross_connects = {{"a", "d0"}};
                },
                "cross-connect names disk 'd0'; only ports forward frames"},
       }) {
    DaemonConfig config = two_ports();
    config.disks = {disk("d0", "/tmp/d0.sock"), disk("d1", "/tmp/d1.sock")};
    c.change(config);
    Status s = validate(config);
    EXPECT_FALSE(s.ok()) << c.message;
    EXPECT_THAT(error_of(s), HasSubstr(c.message));
  }
}

TEST(Validate, CrossConnectToAnUnknownPort) {
  DaemonConfig c = two_ports();
  c.cross_connects = {{"a", "c"}};
  EXPECT_THAT(error_of(validate(c)), HasSubstr("unknown port 'c'"));
}

TEST(Validate, CrossConnectToItself) {
  DaemonConfig c = two_ports();
  c.cross_connects = {{"a", "a"}};
  EXPECT_THAT(error_of(validate(c)), HasSubstr("cannot cross-connect port 'a' to itself"));
}

TEST(Validate, PortInTwoCrossConnects) {
  DaemonConfig c = two_ports();
  c.ports.push_back(port("c", "/tmp/c.sock"));
  c.cross_connects = {{"a", "b"}, {"c", "a"}};
  EXPECT_THAT(error_of(validate(c)), HasSubstr("port 'a' is in more than one cross-connect"));
}

TEST(Validate, BadMode) {
  DaemonConfig c = two_ports();
  c.mode = "hub";
  EXPECT_THAT(error_of(validate(c)), HasSubstr("mode must be 'xconnect' or 'l2', got 'hub'"));
}

TEST(ApplyToml, UplinkPortsAndDpdk) {
  DaemonConfig config;
  Status s = apply_toml(
      "[dpdk]\nno_huge = true\nfile_prefix = \"rl-test\"\nmemory_mb = 128\n"
      "[[port]]\nname = \"up\"\nkind = \"afxdp\"\nifname = \"veth0\"\ntrunk = [20, 10]\n"
      "[[port]]\nname = \"d\"\nkind = \"dpdk\"\ndevargs = \"net_af_packet0,iface=v1\"\n"
      "[[port]]\nname = \"vm\"\npath = \"/tmp/vm.sock\"\nvlan = 10\n",
      "up.toml", config);
  ASSERT_TRUE(s.ok()) << error_of(s);
  ASSERT_EQ(config.ports.size(), 3u);
  EXPECT_EQ(config.ports[0].kind, PortKind::afxdp);
  EXPECT_EQ(config.ports[0].trunk_vlans, (std::vector<uint16_t>{10, 20}));
  EXPECT_EQ(config.ports[1].devargs, "net_af_packet0,iface=v1");
  EXPECT_EQ(config.ports[2].access_vlan, 10);
  EXPECT_TRUE(config.dpdk.no_huge);
  EXPECT_EQ(config.dpdk.file_prefix, "rl-test");
  EXPECT_EQ(config.dpdk.memory_mb, 128u);
  EXPECT_THAT(error_of(validate(config)), HasSubstr("port 'up': VLANs need the L2 switch"));
  config.mode = "l2";
  EXPECT_TRUE(validate(config).ok()) << error_of(validate(config));
}

TEST(ApplyToml, BadUplinkTablesNameTheProblem) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"[[port]]\nname = \"u\"\nkind = \"afxdp\"\n", "missing ifname="},
           Case{"[[port]]\nname = \"u\"\nkind = \"tap\"\nifname = \"t\"\npath = \"/x\"\n",
                "'path' does not apply to a port of kind tap"},
           Case{"[[port]]\nname = \"u\"\npath = \"/x\"\nvlan = \"10\"\n",
                "'vlan' must be a VLAN id (an integer)"},
           Case{"[[port]]\nname = \"u\"\npath = \"/x\"\ntrunk = [\"10\"]\n",
                "'trunk' must be an array of VLAN ids"},
           Case{"[[port]]\nname = \"u\"\npath = \"/x\"\ntrunk = [10, 9999]\n",
                "a VLAN id must be 1-4094, got '9999'"},
           Case{"[dpdk]\nhuge = false\n", "[dpdk]: unknown key 'huge'"},
           Case{"[dpdk]\nmemory_mb = 1\n", "'memory_mb' must be an integer 64-1048576"},
           Case{"dpdk = 1\n", "[dpdk] must be a table"},
       }) {
    DaemonConfig config;
    Status s = apply_toml(c.text, "bad.toml", config);
    EXPECT_THAT(error_of(s), HasSubstr(c.message)) << c.text;
  }
}

TEST(Validate, TwoPortsOnOneInterface) {
  DaemonConfig c;
  PortConfig a;
  a.name = "a";
  a.kind = PortKind::afxdp;
  a.ifname = "eth1";
  PortConfig b = a;
  b.name = "b";
  b.kind = PortKind::tap;
  c.ports = {a, b};
  EXPECT_THAT(error_of(validate(c)),
              HasSubstr("interface 'eth1' is used by port 'a' and port 'b'"));
}

TEST(Validate, DpdkSettingsOnlyMatterWithADpdkPort) {
  DaemonConfig c;
  c.dpdk.file_prefix = "a/b";
  EXPECT_TRUE(validate(c).ok());
  PortConfig d;
  d.name = "d";
  d.kind = PortKind::dpdk;
  d.devargs = "net_null0";
  c.ports = {d};
  EXPECT_THAT(error_of(validate(c)), HasSubstr("file prefix"));
  c.dpdk.file_prefix = "ok";
  c.dpdk.memory_mb = 10;
  EXPECT_THAT(error_of(validate(c)), HasSubstr("must be 64-1048576 MiB"));
}

TEST(Validate, UnsupportedPortType) {
  DaemonConfig c = two_ports();
  c.ports[0].type = "tap";
  EXPECT_THAT(error_of(validate(c)), HasSubstr("unsupported type 'tap'"));
}

TEST(Validate, UnknownDisabledFeature) {
  DaemonConfig c = two_ports();
  c.ports[1].disabled_features = {"event_idx", "warp_drive"};
  EXPECT_THAT(error_of(validate(c)), HasSubstr("port 'b': unknown feature 'warp_drive'"));
}

TEST(FeatureMask, KnownNamesMapToVirtioBits) {
  using namespace virtio;
  auto none = feature_mask({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
  auto mask = feature_mask({"event_idx", "mrg_rxbuf", "indirect", "mq", "mtu"});
  ASSERT_TRUE(mask.ok());
  EXPECT_EQ(*mask, bit(kFRingEventIdx) | bit(kNetFMrgRxbuf) | bit(kFRingIndirectDesc) |
                       bit(kNetFMq) | bit(kNetFMtu));
  auto csum = feature_mask({"csum"});
  ASSERT_TRUE(csum.ok());
  EXPECT_NE(*csum & bit(kNetFCsum), 0u);
  EXPECT_NE(*csum & bit(kNetFHostTso4), 0u);  // TSO needs the checksum offload
  auto guest = feature_mask({"guest_csum"});
  ASSERT_TRUE(guest.ok());
  EXPECT_NE(*guest & bit(kNetFGuestCsum), 0u);
  EXPECT_NE(*guest & bit(kNetFGuestTso6), 0u);
}

TEST(FeatureMask, UnknownNameIsAnError) {
  auto mask = feature_mask({"event_idx", "Event_Idx"});
  ASSERT_FALSE(mask.ok());
  EXPECT_EQ(mask.error().code(), EINVAL);
  EXPECT_THAT(mask.error().message(), HasSubstr("unknown feature 'Event_Idx'"));
  EXPECT_FALSE(feature_mask({""}).ok());
}

}  // namespace
}  // namespace ringlane::control
