#include "ringlane/sriov/vf_pool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include "ringlane/base/atomic_file.h"

namespace ringlane::sriov {
namespace {

vfio::PciAddress pci(const char* text) {
  return *vfio::PciAddress::parse(text);
}
MacAddress mac(const char* text) {
  return *MacAddress::parse(text);
}

// A process that dies after `steps_left` more host calls or state writes: the one that would be
// next fails, and so does everything after it, as nothing a dead process does reaches the host
// or the disk. Negative: never.
struct Crash {
  int steps_left = -1;
  bool dead = false;

  bool step() {
    if (dead) return false;
    if (steps_left == 0) {
      dead = true;
      return false;
    }
    if (steps_left > 0) --steps_left;
    return true;
  }
};

Error crashed() {
  return Error(EIO, "(simulated crash)");
}

VfSettings factory_settings(const char* address) {
  VfSettings s;
  s.mac = mac(address);
  s.vlan = VfVlan{};
  s.spoof_check = true;
  s.trust = false;
  s.rate = VfRate{};
  s.link_state = VfLinkState::automatic;
  return s;
}

// Two VFs on one PF, as a driver that reports every field keeps them.
class FakeHost : public VfHost {
 public:
  struct Vf {
    HostVf host;
    VfSettings settings;
  };

  explicit FakeHost(Crash& crash) : crash_(crash) {
    vfs_.push_back({{pci("0000:01:00.0"), "pf0", 0, pci("0000:01:02.0"), "iavf"},
                    factory_settings("02:00:00:00:00:a0")});
    vfs_.push_back({{pci("0000:01:00.0"), "pf0", 1, pci("0000:01:02.1"), ""},
                    factory_settings("02:00:00:00:00:a1")});
  }

  Result<std::vector<HostVf>> vfs() override {
    if (!crash_.step()) return crashed();
    std::vector<HostVf> out;
    for (const auto& v : vfs_) out.push_back(v.host);
    return out;
  }

  Result<VfSettings> settings(const std::string& pf, uint32_t index) override {
    if (!crash_.step()) return crashed();
    Vf* v = find(pf, index);
    if (v == nullptr) return Error(ENOENT, "no such VF");
    return v->settings;
  }

  // Field by field in the kernel's order, stopping at the first refused, as do_setvfinfo does.
  Status apply(const std::string& pf, uint32_t index, const VfSettings& change) override {
    if (!crash_.step()) return crashed();
    Vf* v = find(pf, index);
    if (v == nullptr) return Error(ENOENT, "no such VF");
    ++applies;
    if (change.mac) v->settings.mac = change.mac;
    if (change.vlan) v->settings.vlan = change.vlan;
    if (change.rate) {
      if (refuse_rate) return Error(EOPNOTSUPP, "set VF rate");
      v->settings.rate = change.rate;
    }
    if (change.spoof_check) v->settings.spoof_check = change.spoof_check;
    if (change.link_state) v->settings.link_state = change.link_state;
    if (change.trust) v->settings.trust = change.trust;
    return {};
  }

  Status bind(const vfio::PciAddress& address, const std::string& driver) override {
    if (!crash_.step()) return crashed();
    if (refuse_bind) return Error(EBUSY, "bind " + address.to_string());
    find(address)->host.driver = driver;
    return {};
  }

  Status restore_driver(const vfio::PciAddress& address, const std::string& original) override {
    if (!crash_.step()) return crashed();
    find(address)->host.driver = original;
    return {};
  }

  Vf* find(const std::string& pf, uint32_t index) {
    for (auto& v : vfs_) {
      if (v.host.pf_ifname == pf && v.host.index == index) return &v;
    }
    return nullptr;
  }
  Vf* find(const vfio::PciAddress& address) {
    for (auto& v : vfs_) {
      if (v.host.address == address) return &v;
    }
    return nullptr;
  }

  std::vector<Vf> vfs_;
  int applies = 0;
  bool refuse_rate = false;
  bool refuse_bind = false;

 private:
  Crash& crash_;
};

VfRequest guest_request() {
  VfRequest r;
  r.settings.mac = mac("52:54:00:00:00:01");
  r.settings.vlan = VfVlan{100, 2, VlanProtocol::dot1q};
  r.settings.trust = true;
  r.settings.spoof_check = false;
  return r;
}

class VfPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/rl-vfpool-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    path_ = dir_ + "/state/vf-pool.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  VfPool pool() {
    return VfPool(path_, host_, [this](const std::string& path, const std::string& contents) {
      if (!crash_.step()) return Status(crashed());
      return write_file_atomically(path, contents);
    });
  }

  // Every VF free, with the settings and driver it started with.
  void expect_pristine() {
    FakeHost fresh(crash_);
    ASSERT_EQ(host_.vfs_.size(), fresh.vfs_.size());
    for (size_t i = 0; i < host_.vfs_.size(); ++i) {
      EXPECT_EQ(host_.vfs_[i].settings, fresh.vfs_[i].settings) << "VF " << i;
      EXPECT_EQ(host_.vfs_[i].host.driver, fresh.vfs_[i].host.driver) << "VF " << i;
    }
    auto records = pool().records();
    ASSERT_TRUE(records.ok()) << records.error().to_string();
    for (const auto& r : *records) {
      EXPECT_EQ(r.state, VfState::free) << r.address.to_string();
      EXPECT_EQ(r.guest, "");
    }
  }

  std::string dir_;
  std::string path_;
  Crash crash_;
  FakeHost host_{crash_};
};

TEST_F(VfPoolTest, AllocateAppliesTheSettingsBindsAndRecordsTheOriginals) {
  auto vf = pool().allocate("vm1", guest_request());
  ASSERT_TRUE(vf.ok()) << vf.error().to_string();
  EXPECT_EQ(vf->state, VfState::allocated);
  EXPECT_EQ(vf->guest, "vm1");
  EXPECT_EQ(vf->address, pci("0000:01:02.0"));
  EXPECT_EQ(vf->original_driver, "iavf");
  EXPECT_EQ(vf->original_settings, factory_settings("02:00:00:00:00:a0"));

  const FakeHost::Vf& on_host = host_.vfs_[0];
  EXPECT_EQ(on_host.host.driver, "vfio-pci");
  EXPECT_EQ(on_host.settings.mac, mac("52:54:00:00:00:01"));
  EXPECT_EQ(on_host.settings.vlan, (VfVlan{100, 2, VlanProtocol::dot1q}));
  EXPECT_EQ(on_host.settings.trust, true);
  EXPECT_EQ(on_host.settings.rate, VfRate{}) << "not asked for: left alone";

  // The state file says the same, and a new pool object reads it back.
  auto text = read_file(path_);
  ASSERT_TRUE(text.ok());
  auto records = state_from_json(*text);
  ASSERT_TRUE(records.ok()) << records.error().to_string();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0], *vf);
  EXPECT_EQ((*records)[1].state, VfState::free);
  EXPECT_NE(text->find("\"original_driver\": \"iavf\""), std::string::npos) << *text;
}

TEST_F(VfPoolTest, AllocateIsIdempotentAndRefusesAChangeOfMind) {
  auto first = pool().allocate("vm1", guest_request());
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  int applies = host_.applies;
  auto again = pool().allocate("vm1", guest_request());
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(host_.applies, applies) << "the same command again changes nothing";

  VfRequest other = guest_request();
  other.settings.trust = false;
  auto changed = pool().allocate("vm1", other);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code(), EEXIST);
  EXPECT_NE(changed.error().message().find("guest 'vm1': it has VF 0 of pf0 (0000:01:02.0)"),
            std::string::npos)
      << changed.error().message();
}

TEST_F(VfPoolTest, GuestsGetVfsOfTheirOwnUntilNoneIsLeft) {
  auto a = pool().allocate("vm1", guest_request());
  auto b = pool().allocate("vm2", VfRequest{});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->address, b->address);
  EXPECT_EQ(host_.vfs_[1].settings, factory_settings("02:00:00:00:00:a1")) << "no settings asked";
  auto c = pool().allocate("vm3", VfRequest{});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), ENOSPC);
  EXPECT_EQ(c.error().message(),
            "allocate a VF for guest 'vm3': no free VF (all 2 are allocated or being repaired)");
  ASSERT_TRUE(pool().release("vm1").ok());
  auto d = pool().allocate("vm3", VfRequest{});
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->address, a->address);
}

TEST_F(VfPoolTest, ReleaseRestoresTheOriginalsAndIsIdempotent) {
  ASSERT_TRUE(pool().allocate("vm1", guest_request()).ok());
  auto released = pool().release("vm1");
  ASSERT_TRUE(released.ok()) << released.error().to_string();
  expect_pristine();
  EXPECT_TRUE(pool().release("vm1").ok());
  EXPECT_TRUE(pool().release("never-seen").ok());
}

TEST_F(VfPoolTest, RestoringTouchesOnlyWhatWasChanged) {
  // A driver without rate limits refuses even "no limit"; the guest asked for no rate.
  ASSERT_TRUE(pool().allocate("vm1", guest_request()).ok());
  host_.refuse_rate = true;
  ASSERT_TRUE(pool().release("vm1").ok());
  expect_pristine();

  VfSettings original = factory_settings("02:00:00:00:00:a0");
  VfSettings changed;
  changed.mac = mac("52:54:00:00:00:01");
  changed.trust = true;
  VfSettings current = original;
  current.mac = changed.mac;  // the crash came after the MAC, before trust
  VfSettings undo = restoring_change(original, changed, current);
  VfSettings want;
  want.mac = original.mac;
  EXPECT_EQ(undo, want);
  EXPECT_TRUE(restoring_change(original, changed, original).empty());
}

TEST_F(VfPoolTest, RefusedSettingsAreUndoneAndTheVfFreed) {
  host_.refuse_rate = true;
  VfRequest request = guest_request();
  request.settings.rate = VfRate{0, 1000};
  auto vf = pool().allocate("vm1", request);
  ASSERT_FALSE(vf.ok());
  EXPECT_EQ(vf.error().code(), EOPNOTSUPP);
  EXPECT_NE(vf.error().message().find("guest 'vm1' (VF 0 of pf0 (0000:01:02.0)): set VF rate"),
            std::string::npos)
      << vf.error().message();
  // The MAC and VLAN went through before the rate was refused: put back.
  expect_pristine();
}

TEST_F(VfPoolTest, RefusedBindingIsUndoneAndTheVfFreed) {
  host_.refuse_bind = true;
  auto vf = pool().allocate("vm1", guest_request());
  ASSERT_FALSE(vf.ok());
  EXPECT_EQ(vf.error().code(), EBUSY);
  expect_pristine();
}

// Crashes the allocation at every step in turn; a new pool object on the same state file then
// repairs: the guest either has its VF, fully set up, or nothing changed at all.
TEST_F(VfPoolTest, CrashAtEveryStepOfAllocateIsRepaired) {
  for (int step = 0;; ++step) {
    SCOPED_TRACE("crash after " + std::to_string(step) + " steps");
    std::filesystem::remove_all(dir_ + "/state");
    host_.vfs_ = FakeHost(crash_).vfs_;
    crash_ = Crash{step, false};
    auto vf = pool().allocate("vm1", guest_request());
    bool completed = !crash_.dead;
    crash_ = Crash{};
    auto repaired = pool().repair();
    ASSERT_TRUE(repaired.ok()) << repaired.error().to_string();
    auto records = pool().records();
    ASSERT_TRUE(records.ok()) << records.error().to_string();
    const VfRecord& r = (*records)[0];
    if (r.state == VfState::allocated) {
      // The last write made it: the VF is the guest's, set up as asked.
      EXPECT_EQ(r.guest, "vm1");
      EXPECT_EQ(host_.vfs_[0].host.driver, "vfio-pci");
      EXPECT_EQ(host_.vfs_[0].settings.mac, mac("52:54:00:00:00:01"));
      EXPECT_EQ(host_.vfs_[0].settings.trust, true);
    } else {
      EXPECT_FALSE(vf.ok());
      expect_pristine();
    }
    // Whatever happened, releasing leaves nothing behind.
    ASSERT_TRUE(pool().release("vm1").ok());
    expect_pristine();
    if (completed) {
      ASSERT_TRUE(vf.ok()) << vf.error().to_string();
      EXPECT_GT(step, 4) << "an allocation takes more steps than that";
      break;
    }
  }
}

TEST_F(VfPoolTest, CrashAtEveryStepOfReleaseIsRepaired) {
  for (int step = 0;; ++step) {
    SCOPED_TRACE("crash after " + std::to_string(step) + " steps");
    std::filesystem::remove_all(dir_ + "/state");
    host_.vfs_ = FakeHost(crash_).vfs_;
    crash_ = Crash{};
    ASSERT_TRUE(pool().allocate("vm1", guest_request()).ok());
    crash_ = Crash{step, false};
    auto released = pool().release("vm1");
    bool completed = !crash_.dead;
    crash_ = Crash{};
    auto repaired = pool().repair();
    ASSERT_TRUE(repaired.ok()) << repaired.error().to_string();
    auto records = pool().records();
    ASSERT_TRUE(records.ok());
    if ((*records)[0].state == VfState::allocated) {
      // Crashed before "releasing" was on disk: nothing was changed yet.
      EXPECT_EQ(host_.vfs_[0].host.driver, "vfio-pci");
      ASSERT_TRUE(pool().release("vm1").ok());
    }
    expect_pristine();
    if (completed) {
      ASSERT_TRUE(released.ok()) << released.error().to_string();
      break;
    }
  }
}

TEST_F(VfPoolTest, AllocateRepairsTheGuestsInterruptedAllocationFirst) {
  // Dies with "allocating" on disk, the settings applied and the VF bound: just before
  // "allocated" would be saved.
  crash_ = Crash{5, false};
  ASSERT_FALSE(pool().allocate("vm1", guest_request()).ok());
  crash_ = Crash{};
  auto records = pool().records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ((*records)[0].state, VfState::allocating);
  auto vf = pool().allocate("vm1", guest_request());
  ASSERT_TRUE(vf.ok()) << vf.error().to_string();
  EXPECT_EQ(vf->original_settings, factory_settings("02:00:00:00:00:a0"))
      << "the originals are the VF's before the first attempt, not the half-changed ones";
  ASSERT_TRUE(pool().release("vm1").ok());
  expect_pristine();
}

TEST_F(VfPoolTest, AnUnreadableStateFileIsRefusedAndKept) {
  ASSERT_TRUE(write_file_atomically(path_, "{\"version\": 1, \"vfs\": [{\"pf\": 7}]}").ok());
  auto vf = pool().allocate("vm1", guest_request());
  ASSERT_FALSE(vf.ok());
  EXPECT_EQ(vf.error().code(), EINVAL);
  EXPECT_NE(vf.error().message().find("VF pool state " + path_ + ": VF record 0: 'pf'"),
            std::string::npos)
      << vf.error().message();
  EXPECT_EQ(*read_file(path_), "{\"version\": 1, \"vfs\": [{\"pf\": 7}]}");
  EXPECT_FALSE(pool().repair().ok());
  const char* allocated_without_guest =
      "{\"version\": 1, \"vfs\": [{\"pf\": \"0000:01:00.0\", \"pf_ifname\": \"pf0\", "
      "\"index\": 0, \"address\": \"0000:01:02.0\", \"state\": \"allocated\"}]}";
  for (const char* bad :
       {"", "[]", "{\"version\": 2, \"vfs\": []}", "{\"version\": 1}", allocated_without_guest}) {
    EXPECT_FALSE(state_from_json(bad).ok()) << bad;
  }
}

TEST_F(VfPoolTest, TheInventoryFollowsTheHost) {
  ASSERT_TRUE(pool().allocate("vm1", VfRequest{}).ok());
  // VF 1 (free) goes away and a VF 2 appears.
  host_.vfs_[1].host = {pci("0000:01:00.0"), "pf0", 2, pci("0000:01:02.2"), "iavf"};
  auto records = pool().records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].state, VfState::allocated);
  EXPECT_EQ((*records)[1].address, pci("0000:01:02.2"));
  EXPECT_EQ((*records)[1].index, 2u);
}

TEST_F(VfPoolTest, AVfTheHostLostIsFreedOnRelease) {
  ASSERT_TRUE(pool().allocate("vm1", guest_request()).ok());
  host_.vfs_.erase(host_.vfs_.begin());  // sriov_numvfs went down
  auto records = pool().records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u) << "an allocated VF stays recorded while its guest has it";
  ASSERT_TRUE(pool().release("vm1").ok());
  records = pool().records();
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].address, pci("0000:01:02.1"));
}

// Pool objects (processes, in life) sharing a state file take turns: no VF is handed out twice.
TEST_F(VfPoolTest, ConcurrentAllocationsGetDifferentVfs) {
  std::vector<Result<VfRecord>> results(2, Error(0, ""));
  std::vector<std::thread> threads;
  threads.reserve(2);
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([this, i, &results] {
      results[i] = pool().allocate("vm" + std::to_string(i), VfRequest{});
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_NE(results[0]->address, results[1]->address);
  auto records = pool().records();
  ASSERT_TRUE(records.ok());
  EXPECT_EQ((*records)[0].state, VfState::allocated);
  EXPECT_EQ((*records)[1].state, VfState::allocated);
}

}  // namespace
}  // namespace ringlane::sriov
