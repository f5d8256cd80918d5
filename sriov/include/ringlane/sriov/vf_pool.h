// VfPool: hands SR-IOV VFs to named guests and takes them back, with the state in a JSON file
// replaced atomically at every step. Before it changes a VF the pool records the VF's original
// settings and driver and marks it "allocating" (or "releasing"), so a crash at any point leaves
// a record that says what to undo: repair() (run it at start) puts such VFs back as they were
// and frees them. An interrupted allocation is rolled back rather than finished: whoever asked
// got an error (or died with the process), so no guest waits for that VF, and asking again
// starts over from the original settings. Every command is idempotent: allocating for a guest that
// has its VF returns that VF, releasing a guest that has none succeeds. Processes sharing a state
// file take turns (an flock on "<state file>.lock").
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ringlane/base/result.h"
#include "ringlane/base/unique_fd.h"
#include "ringlane/sriov/vf_host.h"
#include "ringlane/sriov/vf_settings.h"
#include "ringlane/vfio/pci_address.h"

namespace ringlane::sriov {

enum class VfState { free, allocating, allocated, releasing };

std::string_view to_string(VfState state);

struct VfRecord {
  vfio::PciAddress pf;
  std::string pf_ifname;
  uint32_t index = 0;
  vfio::PciAddress address;
  VfState state = VfState::free;
  // The rest is set while the VF is not free.
  std::string guest;
  std::string driver;            // what the guest's VF is bound to
  VfSettings settings;           // what the guest asked for
  VfSettings original_settings;  // the VF's settings before the pool changed them
  std::string original_driver;   // empty: none was bound

  bool operator==(const VfRecord&) const = default;
};

struct VfRequest {
  VfSettings settings;
  std::string driver = "vfio-pci";

  bool operator==(const VfRequest&) const = default;
};

// The change that puts back what `changed` changed: `original`'s value of every field present
// in `changed` whose `current` value differs. Only those: a driver may refuse a field it does
// not implement (rate limits), even to set it to what it already is, and a crash may have come
// before the change reached the VF.
VfSettings restoring_change(const VfSettings& original, const VfSettings& changed,
                            const VfSettings& current);

class VfPool {
 public:
  using FileWriter = std::function<Status(const std::string& path, const std::string& contents)>;

  // The pool whose state lives at `state_path` (created at the first change). `write` replaces
  // the file; tests pass one that fails to simulate a crash. Touches neither file nor host.
  VfPool(std::string state_path, VfHost& host, FileWriter write);
  VfPool(std::string state_path, VfHost& host);

  // A VF for `guest` with `request`'s settings, bound to its driver. The guest's VF if it has
  // one already (EEXIST if that was allocated with a different request); ENOSPC if every VF is
  // taken. On failure the VF is put back as it was, or, if that fails too, left "allocating"
  // for repair().
  Result<VfRecord> allocate(const std::string& guest, const VfRequest& request);

  // Restores the guest's VF's original settings and driver and frees it; success if the guest
  // has none. A VF the host no longer has is just freed.
  Status release(const std::string& guest);

  // Finishes what a crash interrupted: every VF left "allocating" or "releasing" gets its
  // original settings and driver back and is freed. Goes on past a VF it cannot repair (it
  // stays as it is, for the next attempt) and reports the first failure.
  Status repair();

  // The records as the state file has them, with VFs the host gained or lost merged in.
  Result<std::vector<VfRecord>> records();

 private:
  // The state file locked (released with `lock`), its records, and the host's VFs merged in.
  struct LockedPool {
    UniqueFd lock;
    std::vector<VfRecord> records;
    std::vector<HostVf> host_vfs;
  };
  Result<LockedPool> open_locked();
  Result<std::vector<VfRecord>> load();
  Status save(const std::vector<VfRecord>& records);
  // The host's VFs, with the records brought up to date: new VFs free, vanished free ones gone.
  Result<std::vector<HostVf>> merge_inventory(std::vector<VfRecord>& records);
  // Undoes whatever of record's allocation was done (nothing if the VF is no longer among
  // `host_vfs`) and saves it free.
  Status put_back(std::vector<VfRecord>& records, VfRecord& record,
                  const std::vector<HostVf>& host_vfs);

  std::string path_;
  VfHost& host_;
  FileWriter write_;
};

// The state file's contents, and back (exposed for tests and tools).
std::string state_to_json(const std::vector<VfRecord>& records);
Result<std::vector<VfRecord>> state_from_json(const std::string& text);

}  // namespace ringlane::sriov
