#include "ringlane/vmm/nic/daemon_port.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ringlane/base/event_loop.h"
#include "ringlane/http/http_server.h"

namespace ringlane::vmm {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

NicSpec nic_with(const std::string& text) {
  Result<NicSpec> spec = parse_nic_spec(text, 0);
  EXPECT_TRUE(spec.ok()) << text << ": " << spec.error().message();
  return spec.ok() ? *spec : NicSpec{};
}

std::string spec_error(const std::string& text) {
  Result<NicSpec> spec = parse_nic_spec(text, 0);
  return spec.ok() ? std::string("(accepted)") : spec.error().message();
}

TEST(DaemonNicSpec, DaemonStandsInForSocketInVhostMode) {
  NicSpec spec = nic_with("mode=vhost,daemon=/run/rl/api.sock,port=guest1,peer=uplink");
  EXPECT_EQ(spec.mode, NicMode::vhost);
  EXPECT_EQ(spec.daemon, "/run/rl/api.sock");
  EXPECT_EQ(spec.port, "guest1");
  EXPECT_EQ(spec.peer, "uplink");
  EXPECT_TRUE(spec.socket.empty());
  // A NIC that starts in virtio mode and switches to vhost later.
  spec = nic_with("mode=virtio,tap=tap0,daemon=/run/rl/api.sock");
  EXPECT_EQ(spec.daemon, "/run/rl/api.sock");
  EXPECT_TRUE(spec.port.empty());
}

TEST(DaemonNicSpec, RefusesWhatCannotWork) {
  EXPECT_EQ(spec_error("mode=vhost"), "socket= or daemon= is required in mode vhost");
  EXPECT_EQ(spec_error("mode=vhost,socket=/x.sock,port=vm1"),
            "port= and peer= describe the port a ringlane daemon creates: they need daemon=");
  EXPECT_EQ(spec_error("mode=virtio,tap=tap0,peer=uplink"),
            "port= and peer= describe the port a ringlane daemon creates: they need daemon=");
  EXPECT_EQ(spec_error("mode=vhost,daemon="), "daemon= needs a value");
  EXPECT_EQ(spec_error("mode=vhost,daemon=/a.sock,port="), "port= needs a value");
  EXPECT_EQ(spec_error("mode=e1000,tap=tap0,daemon=/a.sock"),
            "daemon= serves a virtio-net card in vhost mode: it needs mode vhost or virtio");
  EXPECT_NE(spec_error("mode=passthrough,pci=00:02.0,daemon=/a.sock").find("only pci="),
            std::string::npos);
}

TEST(DaemonPortSpecTest, DefaultNameAndSocketBesideTheApiSocket) {
  EXPECT_EQ(default_daemon_port_name(4242, "net1"), "vm4242-net1");
  EXPECT_EQ(default_daemon_port_socket("/run/ringlane/api.sock", 7, "net0"),
            "/run/ringlane/ringlane-vmm-7-net0.sock");
  EXPECT_EQ(default_daemon_port_socket("/api.sock", 7, "net0"), "/ringlane-vmm-7-net0.sock");
  EXPECT_EQ(default_daemon_port_socket("api.sock", 7, "net0"), "ringlane-vmm-7-net0.sock");

  Result<DaemonPortSpec> spec =
      daemon_port_spec(nic_with("mode=vhost,daemon=/run/rl/api.sock"), 31, "/home/op");
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->api_socket, "/run/rl/api.sock");
  EXPECT_EQ(spec->name, "vm31-net0");
  EXPECT_EQ(spec->socket_path, "/run/rl/ringlane-vmm-31-net0.sock");
  EXPECT_EQ(spec->peer, "");
}

TEST(DaemonPortSpecTest, RelativePathsAreTheVmmsAndMadeAbsolute) {
  // The daemon resolves a relative path against its own working directory, not the VMM's.
  Result<DaemonPortSpec> spec =
      daemon_port_spec(nic_with("mode=vhost,daemon=run/api.sock"), 31, "/home/op");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->api_socket, "run/api.sock");  // the VMM connects from its own directory
  EXPECT_EQ(spec->socket_path, "/home/op/run/ringlane-vmm-31-net0.sock");
  spec = daemon_port_spec(nic_with("mode=vhost,daemon=api.sock,socket=vm.sock,port=g,peer=up"), 31,
                          "/");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->socket_path, "/vm.sock");
  EXPECT_EQ(spec->name, "g");
  EXPECT_EQ(spec->peer, "up");
}

TEST(DaemonPortSpecTest, SocketPathMustFitAnAddress) {
  std::string dir = "/" + std::string(100, 'd');
  Result<DaemonPortSpec> spec =
      daemon_port_spec(nic_with("mode=vhost,daemon=" + dir + "/api.sock"), 123456, "/");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().code(), ENAMETOOLONG);
  EXPECT_NE(spec.error().message().find("give a shorter one with socket="), std::string::npos);
  spec = daemon_port_spec(nic_with("mode=vhost,daemon=" + dir + "/api.sock,socket=/tmp/short.sock"),
                          123456, "/");
  EXPECT_TRUE(spec.ok());
}

TEST(DaemonPortRequest, BodyIsAServerPortWithItsPeerWhenGiven) {
  DaemonPortSpec spec{"/run/api.sock", "vm9-net0", "/run/vm9.sock", ""};
  Json body = Json::parse(daemon_port_request_body(spec));
  EXPECT_EQ(body, (Json{{"name", "vm9-net0"}, {"path", "/run/vm9.sock"}, {"mode", "server"}}));
  spec.peer = "uplink0";
  body = Json::parse(daemon_port_request_body(spec));
  EXPECT_EQ(body["peer"], "uplink0");
  EXPECT_EQ(body.size(), 4U);
  // Names are escaped as JSON, not pasted in.
  spec.name = "a\"b";
  EXPECT_EQ(Json::parse(daemon_port_request_body(spec))["name"], "a\"b");
}

TEST(DaemonPortRequest, TargetEncodesTheName) {
  EXPECT_EQ(daemon_port_target("vm12-net0"), "/ports/vm12-net0");
  EXPECT_EQ(daemon_port_target("a b/c%"), "/ports/a%20b%2Fc%25");
}

TEST(DaemonRefusal, CarriesTheDaemonsMessageAndStatus) {
  Error e =
      daemon_refusal("daemon refused port 'x'", {409, R"({"error": "port 'x' already exists"})"});
  EXPECT_EQ(e.code(), EEXIST);
  EXPECT_EQ(e.message(), "daemon refused port 'x': HTTP 409: port 'x' already exists");
  EXPECT_EQ(daemon_refusal("w", {400, R"({"error": "bad"})"}).code(), EINVAL);
  EXPECT_EQ(daemon_refusal("w", {404, R"({"error": "no port 'up'"})"}).code(), ENOENT);
  EXPECT_EQ(daemon_refusal("w", {500, R"({"error": "boom"})"}).code(), EIO);
  // Something that is not the daemon's error shape is shown as it came, cut short.
  EXPECT_EQ(daemon_refusal("w", {502, "Bad Gateway"}).message(), "w: HTTP 502: Bad Gateway");
  EXPECT_EQ(daemon_refusal("w", {500, ""}).message(), "w: HTTP 500: (no message)");
  EXPECT_EQ(daemon_refusal("w", {500, R"({"error": 3})"}).message(),
            R"(w: HTTP 500: {"error": 3})");
  std::string long_body(1000, 'x');
  EXPECT_LT(daemon_refusal("w", {500, long_body}).message().size(), 300U);
}

TEST(DaemonRefusal, GoneMeansNobodyServesTheSocket) {
  EXPECT_TRUE(daemon_gone(Error(ENOENT, "cannot connect")));
  EXPECT_TRUE(daemon_gone(Error(ECONNREFUSED, "cannot connect")));
  EXPECT_FALSE(daemon_gone(Error(ETIMEDOUT, "no answer")));
  EXPECT_FALSE(daemon_gone(Error(EPROTO, "not HTTP")));
}

// A stand-in daemon: the real HTTP server on a loop of its own, answering from a script and
// recording what it was asked.
class FakeDaemon {
 public:
  struct Request {
    std::string method, target, body;
  };

  FakeDaemon() {
    char dir[] = "/tmp/rl-daemon-port-XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/api.sock";
    loop_ = std::move(*EventLoop::create());
    auto handler = [this](const http::HttpRequest& r) {
      std::lock_guard lock(mutex_);
      requests_.push_back({std::string(r.method), std::string(r.target), std::string(r.body)});
      if (answers_.empty()) return http::HttpAnswer{500, R"({"error": "no answer scripted"})"};
      http::HttpAnswer a = answers_.front();
      answers_.pop_front();
      return a;
    };
    auto refuse = [](int status, std::string_view) { return http::HttpAnswer{status, "{}"}; };
    server_ = std::move(*http::HttpServer::listen_unix(*loop_, path_, {}, handler, refuse));
    thread_ = std::thread([this] {
      while (!stop_) (void)loop_->run_once(20);
    });
  }
  ~FakeDaemon() {
    stop_ = true;
    thread_.join();
    server_.reset();
    ::rmdir(dir_.c_str());
  }
  void answer(int status, std::string body) {
    std::lock_guard lock(mutex_);
    answers_.push_back({status, std::move(body)});
  }
  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  DaemonPortSpec spec() const { return {path_, "vm1-net0", dir_ + "/vm1.sock", "up"}; }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<http::HttpServer> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::deque<http::HttpAnswer> answers_;
  std::vector<Request> requests_;
};

TEST(DaemonPortTest, CreatedThenRemovedWhenDestroyed) {
  FakeDaemon daemon;
  daemon.answer(201, R"({"name": "vm1-net0"})");
  daemon.answer(200, R"({"removed": "vm1-net0"})");
  {
    Result<DaemonPort> port = DaemonPort::create(daemon.spec(), 2000ms);
    ASSERT_TRUE(port.ok()) << port.error().message();
    EXPECT_TRUE(port->exists());
    DaemonPort moved = std::move(*port);  // one owner: the moved-from object deletes nothing
    EXPECT_FALSE(port->exists());
    EXPECT_TRUE(moved.exists());
  }
  std::vector<FakeDaemon::Request> asked = daemon.requests();
  ASSERT_EQ(asked.size(), 2U);
  EXPECT_EQ(asked[0].method, "POST");
  EXPECT_EQ(asked[0].target, "/ports");
  EXPECT_EQ(Json::parse(asked[0].body), Json::parse(daemon_port_request_body(daemon.spec())));
  EXPECT_EQ(asked[1].method, "DELETE");
  EXPECT_EQ(asked[1].target, "/ports/vm1-net0");
  EXPECT_EQ(asked[1].body, "");
}

TEST(DaemonPortTest, RefusalCarriesTheDaemonsWordsAndLeavesNothingToRemove) {
  FakeDaemon daemon;
  daemon.answer(400, R"({"error": "no port named 'up' to connect to"})");
  Result<DaemonPort> port = DaemonPort::create(daemon.spec(), 2000ms);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().code(), EINVAL);
  EXPECT_EQ(port.error().message(), "ringlane daemon (API " + daemon.path() +
                                        ") refused to create port 'vm1-net0': HTTP 400: no port "
                                        "named 'up' to connect to");
  EXPECT_EQ(daemon.requests().size(), 1U);
}

TEST(DaemonPortTest, FailedRemovalKeepsThePortAndTriesAgain) {
  FakeDaemon daemon;
  daemon.answer(201, "{}");
  daemon.answer(500, R"({"error": "busy"})");
  daemon.answer(404, R"({"error": "no port 'vm1-net0'"})");  // someone else removed it meanwhile
  Result<DaemonPort> port = DaemonPort::create(daemon.spec(), 2000ms);
  ASSERT_TRUE(port.ok());
  Status removed = port->remove();
  ASSERT_FALSE(removed.ok());
  EXPECT_NE(removed.error().message().find("refused to remove port 'vm1-net0': HTTP 500: busy"),
            std::string::npos);
  EXPECT_TRUE(port->exists());
  EXPECT_TRUE(port->remove().ok());  // 404: gone is what was wanted
  EXPECT_FALSE(port->exists());
  EXPECT_TRUE(port->remove().ok());  // nothing more is asked
  EXPECT_EQ(daemon.requests().size(), 3U);
}

TEST(DaemonPortTest, NoDaemonAtTheSocket) {
  DaemonPortSpec spec{"/nonexistent/rl-api.sock", "vm1-net0", "/tmp/x.sock", ""};
  Result<DaemonPort> port = DaemonPort::create(spec, 1000ms);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().code(), ENOENT);
  EXPECT_NE(port.error().message().find("cannot ask the ringlane daemon for port 'vm1-net0'"),
            std::string::npos);
  EXPECT_NE(port.error().message().find("/nonexistent/rl-api.sock"), std::string::npos);
}

TEST(DaemonPortTest, ADaemonThatIsGoneTookItsPortsWithIt) {
  std::optional<DaemonPort> port;
  {
    FakeDaemon daemon;
    daemon.answer(201, "{}");
    Result<DaemonPort> made = DaemonPort::create(daemon.spec(), 2000ms);
    ASSERT_TRUE(made.ok());
    port.emplace(std::move(*made));
  }
  EXPECT_TRUE(port->remove().ok());
  EXPECT_FALSE(port->exists());
}

}  // namespace
}  // namespace ringlane::vmm
