#include "ringlane/sriov/vf_pool.h"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "ringlane/base/atomic_file.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/sriov/vf_settings_json.h"

namespace ringlane::sriov {
namespace {

constexpr int kStateVersion = 1;

// Held for one command: the pool's read-change-write of the state file must not interleave with
// another process's.
Result<VfState> parse_state(const std::string& text) {
  for (VfState s : {VfState::free, VfState::allocating, VfState::allocated, VfState::releasing}) {
    if (text == to_string(s)) return s;
  }
  return Error(EINVAL, "'" + text + "' is not a VF state");
}

void make_free(VfRecord& r) {
  r.state = VfState::free;
  r.guest.clear();
  r.driver.clear();
  r.settings = {};
  r.original_settings = {};
  r.original_driver.clear();
}

VfRecord* find_guest(std::vector<VfRecord>& records, const std::string& guest) {
  for (auto& r : records) {
    if (r.state != VfState::free && r.guest == guest) return &r;
  }
  return nullptr;
}

std::string name(const VfRecord& r) {
  return "VF " + std::to_string(r.index) + " of " + r.pf_ifname + " (" + r.address.to_string() +
         ")";
}

Error with_context(const Error& e, const std::string& context) {
  return Error(e.code(), context + ": " + e.message());
}

Result<std::string> string_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_string()) {
    return Error(EINVAL, std::string("'") + key + "' is missing or not a string");
  }
  return j.at(key).get<std::string>();
}

Result<VfRecord> record_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error(EINVAL, "a VF record is not an object");
  VfRecord r;
  RINGLANE_ASSIGN_OR_RETURN(const std::string pf, string_field(j, "pf"));
  RINGLANE_ASSIGN_OR_RETURN(r.pf, vfio::PciAddress::parse(pf));
  RINGLANE_ASSIGN_OR_RETURN(const std::string address, string_field(j, "address"));
  RINGLANE_ASSIGN_OR_RETURN(r.address, vfio::PciAddress::parse(address));
  RINGLANE_ASSIGN_OR_RETURN(r.pf_ifname, string_field(j, "pf_ifname"));
  if (!j.contains("index") || !j.at("index").is_number_unsigned() ||
      j.at("index").get<uint64_t>() > UINT32_MAX) {
    return Error(EINVAL, "'index' is missing or not a VF number");
  }
  r.index = j.at("index").get<uint32_t>();
  RINGLANE_ASSIGN_OR_RETURN(const std::string state_text, string_field(j, "state"));
  RINGLANE_ASSIGN_OR_RETURN(r.state, parse_state(state_text));
  if (r.state == VfState::free) return r;
  for (auto [key, field] : {std::pair{"guest", &r.guest}, std::pair{"driver", &r.driver},
                            std::pair{"original_driver", &r.original_driver}}) {
    RINGLANE_ASSIGN_OR_RETURN(*field, string_field(j, key));
  }
  if (r.guest.empty()) return Error(EINVAL, "a VF that is not free has no guest");
  for (auto [key, field] :
       {std::pair{"settings", &r.settings}, std::pair{"original_settings", &r.original_settings}}) {
    if (!j.contains(key)) return Error(EINVAL, std::string("'") + key + "' is missing");
    RINGLANE_ASSIGN_OR_RETURN(*field, vf_settings_from_json(j.at(key)));
  }
  return r;
}

}  // namespace

std::string_view to_string(VfState state) {
  switch (state) {
    case VfState::free:
      return "free";
    case VfState::allocating:
      return "allocating";
    case VfState::allocated:
      return "allocated";
    case VfState::releasing:
      return "releasing";
  }
  return "unknown";
}

VfSettings restoring_change(const VfSettings& original, const VfSettings& changed,
                            const VfSettings& current) {
  VfSettings undo;
  auto put_back = [](const auto& was, const auto& asked, const auto& now, auto& field) {
    if (asked && was && now != was) field = was;
  };
  put_back(original.mac, changed.mac, current.mac, undo.mac);
  put_back(original.vlan, changed.vlan, current.vlan, undo.vlan);
  put_back(original.spoof_check, changed.spoof_check, current.spoof_check, undo.spoof_check);
  put_back(original.trust, changed.trust, current.trust, undo.trust);
  put_back(original.rate, changed.rate, current.rate, undo.rate);
  put_back(original.link_state, changed.link_state, current.link_state, undo.link_state);
  return undo;
}

std::string state_to_json(const std::vector<VfRecord>& records) {
  nlohmann::json vfs = nlohmann::json::array();
  for (const auto& r : records) {
    nlohmann::json j = {{"pf", r.pf.to_string()},
                        {"pf_ifname", r.pf_ifname},
                        {"index", r.index},
                        {"address", r.address.to_string()},
                        {"state", std::string(to_string(r.state))}};
    if (r.state != VfState::free) {
      j["guest"] = r.guest;
      j["driver"] = r.driver;
      j["settings"] = to_json(r.settings);
      j["original_settings"] = to_json(r.original_settings);
      j["original_driver"] = r.original_driver;
    }
    vfs.push_back(std::move(j));
  }
  nlohmann::json doc = {{"version", kStateVersion}, {"vfs", std::move(vfs)}};
  // Names come from sysfs and the command line: bytes that are not UTF-8 are replaced.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<std::vector<VfRecord>> state_from_json(const std::string& text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return Error(EINVAL, "not JSON");
  if (!doc.is_object() || !doc.contains("version") || doc.at("version") != kStateVersion) {
    return Error(EINVAL, "not a version " + std::to_string(kStateVersion) + " VF pool state");
  }
  if (!doc.contains("vfs") || !doc.at("vfs").is_array()) {
    return Error(EINVAL, "'vfs' is missing or not a list");
  }
  std::vector<VfRecord> records;
  for (const auto& j : doc.at("vfs")) {
    auto r = record_from_json(j);
    if (!r.ok()) {
      return Error(EINVAL,
                   "VF record " + std::to_string(records.size()) + ": " + r.error().message());
    }
    for (const auto& other : records) {
      if (other.address == r->address) {
        return Error(EINVAL, "VF " + r->address.to_string() + " is recorded twice");
      }
    }
    records.push_back(std::move(*r));
  }
  return records;
}

VfPool::VfPool(std::string state_path, VfHost& host, FileWriter write)
    : path_(std::move(state_path)), host_(host), write_(std::move(write)) {}

VfPool::VfPool(std::string state_path, VfHost& host)
    : VfPool(std::move(state_path), host, write_file_atomically) {}

Result<std::vector<VfRecord>> VfPool::load() {
  auto text = read_file(path_);
  if (!text.ok()) {
    if (text.error().code() == ENOENT) return std::vector<VfRecord>{};
    return text.error();
  }
  auto records = state_from_json(*text);
  // A state file we cannot read may still hold allocations: refuse rather than start afresh.
  if (!records.ok()) return with_context(records.error(), "VF pool state " + path_);
  return records;
}

Status VfPool::save(const std::vector<VfRecord>& records) {
  auto written = write_(path_, state_to_json(records));
  if (!written.ok()) return with_context(written.error(), "save the VF pool state");
  return {};
}

Result<std::vector<HostVf>> VfPool::merge_inventory(std::vector<VfRecord>& records) {
  auto host_vfs = host_.vfs();
  if (!host_vfs.ok()) return with_context(host_vfs.error(), "list the host's VFs");
  for (const auto& vf : *host_vfs) {
    auto it = std::find_if(records.begin(), records.end(),
                           [&](const VfRecord& r) { return r.address == vf.address; });
    if (it == records.end()) {
      VfRecord r;
      r.address = vf.address;
      it = records.insert(records.end(), r);
    }
    // The host knows best where a free VF is; a busy one keeps what it was allocated under.
    if (it->state == VfState::free) {
      it->pf = vf.pf;
      it->pf_ifname = vf.pf_ifname;
      it->index = vf.index;
    }
  }
  std::erase_if(records, [&](const VfRecord& r) {
    return r.state == VfState::free &&
           std::none_of(host_vfs->begin(), host_vfs->end(),
                        [&](const HostVf& vf) { return vf.address == r.address; });
  });
  std::sort(records.begin(), records.end(),
            [](const VfRecord& a, const VfRecord& b) { return a.address < b.address; });
  return host_vfs;
}

Status VfPool::put_back(std::vector<VfRecord>& records, VfRecord& r,
                        const std::vector<HostVf>& host_vfs) {
  const std::string context = "put back " + name(r) + " of guest '" + r.guest + "'";
  bool present = std::any_of(host_vfs.begin(), host_vfs.end(),
                             [&](const HostVf& vf) { return vf.address == r.address; });
  // A VF the host no longer has (its PF's VFs were destroyed) took its settings with it: there
  // is nothing to restore, and keeping the record would hold its guest forever.
  if (present) {
    // Settings first, then the driver: a host driver that probes the VF finds its own MAC again.
    auto current = host_.settings(r.pf_ifname, r.index);
    if (!current.ok()) return with_context(current.error(), context);
    VfSettings undo = restoring_change(r.original_settings, r.settings, *current);
    if (!undo.empty()) {
      auto restored = host_.apply(r.pf_ifname, r.index, undo);
      if (!restored.ok()) return with_context(restored.error(), context);
    }
    auto driver = host_.restore_driver(r.address, r.original_driver);
    if (!driver.ok()) return with_context(driver.error(), context);
  }
  make_free(r);
  return save(records);
}

Result<VfPool::LockedPool> VfPool::open_locked() {
  RINGLANE_ASSIGN_OR_RETURN(UniqueFd lock, lock_state_file(path_));
  RINGLANE_ASSIGN_OR_RETURN(std::vector<VfRecord> records, load());
  RINGLANE_ASSIGN_OR_RETURN(std::vector<HostVf> host_vfs, merge_inventory(records));
  return LockedPool{std::move(lock), std::move(records), std::move(host_vfs)};
}

Result<VfRecord> VfPool::allocate(const std::string& guest, const VfRequest& request) {
  const std::string context = "allocate a VF for guest '" + guest + "'";
  if (guest.empty()) return Error(EINVAL, context + ": a guest needs a name");
  if (guest.size() > 64 ||
      std::any_of(guest.begin(), guest.end(), [](char c) { return c <= ' ' || c >= 0x7f; })) {
    return Error(EINVAL, "a guest's name is up to 64 printable ASCII characters, no spaces");
  }
  if (request.driver.empty()) return Error(EINVAL, context + ": no driver to bind the VF to");
  auto pool = open_locked();
  if (!pool.ok()) return with_context(pool.error(), context);
  auto& records = pool->records;
  auto& host_vfs = pool->host_vfs;

  if (VfRecord* mine = find_guest(records, guest)) {
    if (mine->state == VfState::allocated) {
      if (mine->settings == request.settings && mine->driver == request.driver) return *mine;
      return Error(EEXIST, context + ": it has " + name(*mine) + " already, bound to " +
                               mine->driver + " with " + describe(mine->settings) +
                               "; release it first to change that");
    }
    // An allocation or release a crash interrupted: undo it, then start over.
    auto repaired = put_back(records, *mine, host_vfs);
    if (!repaired.ok()) return with_context(repaired.error(), context);
    // The drivers as they are now that the VF is back on its original one.
    auto refreshed = merge_inventory(records);
    if (!refreshed.ok()) return with_context(refreshed.error(), context);
    host_vfs = std::move(*refreshed);
  }

  auto chosen = std::find_if(records.begin(), records.end(),
                             [](const VfRecord& r) { return r.state == VfState::free; });
  if (chosen == records.end()) {
    return Error(ENOSPC, context + ": no free VF (all " + std::to_string(records.size()) +
                             " are allocated or being repaired)");
  }
  VfRecord& r = *chosen;
  auto original = host_.settings(r.pf_ifname, r.index);
  if (!original.ok()) return with_context(original.error(), context);
  auto host_vf = std::find_if(host_vfs.begin(), host_vfs.end(),
                              [&](const HostVf& vf) { return vf.address == r.address; });
  r.state = VfState::allocating;
  r.guest = guest;
  r.driver = request.driver;
  r.settings = request.settings;
  r.original_settings = *original;
  r.original_driver = host_vf->driver;
  // On disk before anything changes: from here on a crash leaves a record repair() can undo.
  auto saved = save(records);
  if (!saved.ok()) return with_context(saved.error(), context);

  auto set_up = [&]() -> Status {
    if (!request.settings.empty()) {
      RINGLANE_TRY(host_.apply(r.pf_ifname, r.index, request.settings));
    }
    RINGLANE_TRY(host_.bind(r.address, request.driver));
    r.state = VfState::allocated;
    return save(records);
  };
  auto done = set_up();
  if (!done.ok()) {
    Error failure = with_context(done.error(), context + " (" + name(r) + ")");
    r.state = VfState::allocating;
    auto undone = put_back(records, r, host_vfs);
    if (!undone.ok()) {
      // The first failure's reason where it belongs; the undo's after it.
      return Error(undone.error().code(), failure.to_string() + "; then, undoing it, " +
                                              undone.error().message() + " (left for repair)");
    }
    return failure;
  }
  return r;
}

Status VfPool::release(const std::string& guest) {
  const std::string context = "release the VF of guest '" + guest + "'";
  auto pool = open_locked();
  if (!pool.ok()) return with_context(pool.error(), context);
  auto& records = pool->records;
  auto& host_vfs = pool->host_vfs;
  VfRecord* mine = find_guest(records, guest);
  if (mine == nullptr) return {};  // released already, or never allocated
  if (mine->state == VfState::allocated) {
    mine->state = VfState::releasing;
    auto saved = save(records);
    if (!saved.ok()) return with_context(saved.error(), context);
  }
  auto released = put_back(records, *mine, host_vfs);
  if (!released.ok()) return with_context(released.error(), context);
  return {};
}

Status VfPool::repair() {
  auto pool = open_locked();
  if (!pool.ok()) return with_context(pool.error(), "repair the VF pool");
  auto& records = pool->records;
  auto& host_vfs = pool->host_vfs;
  Status first;
  for (auto& r : records) {
    if (r.state != VfState::allocating && r.state != VfState::releasing) continue;
    auto repaired = put_back(records, r, host_vfs);
    if (!repaired.ok() && first.ok()) {
      first = with_context(repaired.error(), "repair the VF pool");
    }
  }
  return first;
}

Result<std::vector<VfRecord>> VfPool::records() {
  RINGLANE_ASSIGN_OR_RETURN(LockedPool pool, open_locked());
  return std::move(pool.records);
}

}  // namespace ringlane::sriov
