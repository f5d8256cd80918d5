#include "ringlane/vhost_user/backend.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <utility>

#include "ringlane/base/log.h"
#include "ringlane/virtio/packed_ring_placement.h"
#include "ringlane/virtio/ring_placement.h"
#include "ringlane/virtio/ring_resume.h"

namespace ringlane::vhost_user {

VhostUserBackend::VhostUserBackend(BackendConfig config, QuiescentState* grace)
    : config_(std::move(config)), grace_(grace) {
  config_.vring_count = std::min<uint16_t>(config_.vring_count, kMaxVrings);
  config_.features |= virtio::bit(kFProtocolFeatures);
  config_.max_mem_slots = std::min(config_.max_mem_slots, virtio::GuestMemory::kMaxRegions);
}

VhostUserBackend::~VhostUserBackend() {
  stop_queues(0, config_.vring_count);
}

uint8_t VhostUserBackend::status() const {
  uint8_t s = status_;
  for (uint16_t i = 0; i < config_.vring_count; ++i) {
    if (queues_[i].broken() || packed_queues_[i].broken()) s |= virtio::kStatusNeedsReset;
  }
  return s;
}

void VhostUserBackend::set_vring_label(uint16_t index, const std::string& label) {
  queues_[index].set_label(label);
  packed_queues_[index].set_label(label);
}

Status VhostUserBackend::handle(Message& message, MessageChannel& channel) {
  stats_.messages.inc();
  if (log_level() <= LogLevel::debug) {
    uint64_t first = 0;
    std::memcpy(&first, message.payload, std::min<uint32_t>(8, message.header.size));
    log_line(
        LogLevel::debug, config_.name + ": " + to_string(message.request()) + " size " +
                             std::to_string(message.header.size) + " fds " +
                             std::to_string(message.fds.size()) + " first 0x" + [&] {
                               char b[24];
                               std::snprintf(b, sizeof(b), "%llx",
                                             static_cast<unsigned long long>(first));
                               return std::string(b);
                             }());
  }
  auto answer = dispatch(message);
  bool ack = (acked_protocol_ & virtio::bit(protocol::kReplyAck)) && message.needs_reply();
  if (!answer.ok()) {
    stats_.bad_messages.inc();
    log_limit_.log(LogLevel::warn, config_.name + ": " + answer.error().to_string());
    if (!ack) return answer.error();
    uint64_t failure = 1;
    return channel.reply(message, &failure, sizeof(failure));
  }
  // A request with an answer of its own gets no REPLY_ACK besides (vhost-user spec).
  if (answer->has_value()) {
    if (find_request(message.header.request)->answer == Answer::payload) {
      int fd = std::exchange(reply_fd_, -1);
      return channel.reply(message, message.payload, static_cast<uint32_t>(**answer),
                           fd >= 0 ? &fd : nullptr, fd >= 0 ? 1 : 0);
    }
    uint64_t own = **answer;
    return channel.reply(message, &own, sizeof(own));
  }
  if (ack) {
    uint64_t success = 0;
    return channel.reply(message, &success, sizeof(success));
  }
  return {};
}

Result<uint64_t> VhostUserBackend::acked(const Status& status) {
  if (!status.ok()) return status.error();
  return kNoAnswer;
}

Result<VhostUserBackend::Vring*> VhostUserBackend::vring_for(uint64_t index) {
  if (index >= config_.vring_count) {
    return Error(ERANGE, "vring index " + std::to_string(index) + " out of range (device has " +
                             std::to_string(config_.vring_count) + ")");
  }
  return &vrings_[index];
}

Result<std::optional<uint64_t>> VhostUserBackend::dispatch(Message& m) {
  if (Status s = validate(m); !s.ok()) return s.error();
  // validate() refuses every code without a row and every row without a handler.
  const RequestInfo& info = *find_request(m.header.request);
  Result<uint64_t> answer = (this->*info.handler)(m);
  if (!answer.ok()) return answer.error();
  if (info.answer == Answer::ack) return std::optional<uint64_t>();
  return std::optional<uint64_t>(*answer);
}

Result<uint64_t> VhostUserBackend::get_features(Message& /*m*/) {
  return config_.features;
}

Result<uint64_t> VhostUserBackend::set_features(Message& m) {
  uint64_t f = m.u64();
  if (f & ~config_.features) {
    return Error(EINVAL,
                 "SET_FEATURES: features not offered: " + std::to_string(f & ~config_.features));
  }
  // A migration turning logging on or off changes nothing else: the queues run on, and frames
  // keep flowing (stopping them for it dropped some at every start and end of a migration).
  if ((f ^ acked_features_) == virtio::bit(virtio::kVhostFLogAll)) {
    acked_features_ = f;
    publish_dirty_log();
    return kNoAnswer;
  }
  stop_queues(0, config_.vring_count);
  acked_features_ = f;
  // Every queue is stopped (and a grace period passed if one was live): no worker is inside a
  // burst that read the old kind.
  ring_packed_.store((f & virtio::bit(virtio::kFRingPacked)) != 0, std::memory_order_relaxed);
  on_features(f);
  start_all_ready();
  return kNoAnswer;
}

Result<uint64_t> VhostUserBackend::set_owner(Message& /*m*/) {
  return kNoAnswer;
}

Result<uint64_t> VhostUserBackend::reset_device(Message& /*m*/) {
  reset_vrings();
  // A reset device starts afresh: the frontend asks for a new region (GET_INFLIGHT_FD).
  inflight_.reset();
  dirty_log_.reset();
  acked_features_ = 0;
  ring_packed_.store(false, std::memory_order_relaxed);
  status_ = 0;
  return kNoAnswer;
}

Result<uint64_t> VhostUserBackend::get_protocol_features(Message& /*m*/) {
  return config_.protocol_features;
}

Result<uint64_t> VhostUserBackend::set_protocol_features(Message& m) {
  uint64_t f = m.u64();
  if (f & ~config_.protocol_features) {
    return Error(EINVAL, "SET_PROTOCOL_FEATURES: features not offered");
  }
  acked_protocol_ = f;
  return kNoAnswer;
}

Result<uint64_t> VhostUserBackend::get_queue_num(Message& /*m*/) {
  return queue_num();
}

Result<uint64_t> VhostUserBackend::get_max_mem_slots(Message& /*m*/) {
  return uint64_t{config_.max_mem_slots};
}

Result<uint64_t> VhostUserBackend::set_vring_num(Message& m) {
  auto state = m.read<VringState>();
  // A packed ring may have any size (virtio 1.2 section 2.8.10.1); a split one a power of two.
  if (ring_packed()) {
    if (state.num == 0 || state.num > virtio::kMaxPackedQueueSize) {
      return Error(EINVAL, "SET_VRING_NUM: size " + std::to_string(state.num) +
                               " of a packed ring is outside 1-32768");
    }
  } else if (state.num == 0 || state.num > virtio::kMaxQueueSize ||
             !std::has_single_bit(state.num)) {
    return Error(EINVAL, "SET_VRING_NUM: size " + std::to_string(state.num) +
                             " is not a power of two in 1-32768");
  }
  return acked(change_vring(state.index, [&](Vring& v) { v.num = state.num; }));
}

Result<uint64_t> VhostUserBackend::set_vring_addr(Message& m) {
  auto addr = m.read<VringAddr>();
  // The same rings with the log flag set or cleared (QEMU at a migration's start and end): the
  // queue runs on; the dirty log follows LOG_ALL (logging()), whatever the flag.
  if (addr.index < config_.vring_count && queue_live(addr.index)) {
    Vring& v = vrings_[addr.index];
    if (v.addr.desc_user_addr == addr.desc_user_addr &&
        v.addr.avail_user_addr == addr.avail_user_addr &&
        v.addr.used_user_addr == addr.used_user_addr) {
      v.addr = addr;
      return kNoAnswer;
    }
  }
  return acked(change_vring(addr.index, [&](Vring& v) {
    v.addr = addr;
    v.addr_set = true;
  }));
}

Result<uint64_t> VhostUserBackend::set_vring_base(Message& m) {
  auto state = m.read<VringState>();
  // A packed ring's position takes all 32 bits (avail index and wrap, used index and wrap);
  // whether its indices fit the ring is checked when it starts, when the size is known.
  if (!ring_packed() && state.num > 0xffff) {
    return Error(EINVAL, "SET_VRING_BASE: index " + std::to_string(state.num) +
                             " beyond 16 bits (a split ring's)");
  }
  return acked(change_vring(state.index, [&](Vring& v) {
    v.base = state.num;
    queues_[state.index].clear_broken();
    packed_queues_[state.index].clear_broken();
  }));
}

Result<uint64_t> VhostUserBackend::get_vring_base(Message& m) {
  auto state = m.read<VringState>();
  auto v = vring_for(state.index);
  if (!v) return v.error();
  stop_queue(state.index);
  // Stopped means stopped until the frontend starts it again, as a new ring would be: by
  // SET_VRING_ENABLE when protocol features are on, else by SET_VRING_KICK.
  (*v)->started = false;
  (*v)->enabled = false;
  (*v)->kick.reset();
  return std::bit_cast<uint64_t>(VringState{state.index, (*v)->base});
}

Result<uint64_t> VhostUserBackend::set_vring_enable(Message& m) {
  auto state = m.read<VringState>();
  if (state.num > 1) return Error(EINVAL, "SET_VRING_ENABLE: value must be 0 or 1");
  return acked(change_vring(state.index, [&](Vring& v) { v.enabled = state.num == 1; }));
}

Result<uint64_t> VhostUserBackend::set_status(Message& m) {
  status_ = static_cast<uint8_t>(m.u64());
  return kNoAnswer;
}

Result<uint64_t> VhostUserBackend::get_status(Message& /*m*/) {
  return uint64_t{status()};
}

Status VhostUserBackend::require_protocol(int feature, const Message& m) const {
  if (acked_protocol_ & virtio::bit(feature)) return {};
  return Error(EPROTO,
               std::string(to_string(m.request())) + ": its protocol feature was not negotiated");
}

Result<uint64_t> VhostUserBackend::get_config(Message& m) {
  RINGLANE_TRY(require_protocol(protocol::kConfig, m));
  auto config = m.read<ConfigHeader>();
  std::span<uint8_t> window(m.payload + sizeof(ConfigHeader), config.size);
  std::fill(window.begin(), window.end(), uint8_t{0});
  RINGLANE_TRY(read_config(config.offset, window));
  // The answer is the request's payload with the window filled in.
  return uint64_t{m.header.size};
}

Result<uint64_t> VhostUserBackend::set_config(Message& m) {
  RINGLANE_TRY(require_protocol(protocol::kConfig, m));
  auto config = m.read<ConfigHeader>();
  return acked(write_config(
      config.offset, std::span<const uint8_t>(m.payload + sizeof(ConfigHeader), config.size)));
}

Result<uint64_t> VhostUserBackend::set_backend_req_fd(Message& m) {
  RINGLANE_TRY(require_protocol(protocol::kBackendReq, m));
  backend_channel_.emplace(m.take_fd());
  return kNoAnswer;
}

Status VhostUserBackend::notify_config_change() {
  if (!(acked_protocol_ & virtio::bit(protocol::kConfig)) || !backend_channel_) {
    return Error(ENOTCONN, config_.name +
                               ": the frontend has no channel for configuration changes (it did "
                               "not negotiate CONFIG and BACKEND_REQ, or is not connected)");
  }
  return backend_channel_->send(BackendRequest::config_change, nullptr, 0);
}

Result<uint64_t> VhostUserBackend::get_inflight_fd(Message& m) {
  RINGLANE_TRY(require_protocol(protocol::kInflightShmfd, m));
  auto asked = m.read<InflightDescription>();
  RINGLANE_TRY(check_inflight_shape(m, asked));
  auto region = InflightRegion::create(asked.num_queues, asked.queue_size);
  if (!region) return region.error();
  replace_inflight(std::move(*region));
  InflightDescription answer = inflight_->description();
  std::memcpy(m.payload, &answer, sizeof(answer));
  reply_fd_ = inflight_->fd();
  return uint64_t{sizeof(answer)};
}

Result<uint64_t> VhostUserBackend::set_inflight_fd(Message& m) {
  RINGLANE_TRY(require_protocol(protocol::kInflightShmfd, m));
  auto given = m.read<InflightDescription>();
  RINGLANE_TRY(check_inflight_shape(m, given));
  auto region = InflightRegion::adopt(m.take_fd(), given);
  if (!region) return region.error();
  replace_inflight(std::move(*region));
  return kNoAnswer;
}

Status VhostUserBackend::check_inflight_shape(const Message& m,
                                              const InflightDescription& d) const {
  if (d.num_queues <= config_.vring_count && d.queue_size <= virtio::kMaxQueueSize) return {};
  return Error(EINVAL, std::string(to_string(m.request())) + ": " + std::to_string(d.num_queues) +
                           " queues of " + std::to_string(d.queue_size) + " entries (device has " +
                           std::to_string(config_.vring_count) + " queues of at most " +
                           std::to_string(virtio::kMaxQueueSize) + ")");
}

void VhostUserBackend::replace_inflight(std::unique_ptr<InflightRegion> region) {
  // Only with every queue stopped: workers write the region of a live queue.
  stop_queues(0, config_.vring_count);
  inflight_ = std::move(region);
  start_all_ready();
}

void VhostUserBackend::publish_dirty_log() {
  const virtio::DirtyLog* log = active_dirty_log();
  int running = 0;
  for (uint16_t i = 0; i < config_.vring_count; ++i) {
    if (queues_[i].live()) queues_[i].set_dirty_log(log);
    if (packed_queues_[i].live()) packed_queues_[i].set_dirty_log(log);
    running += queue_live(i) ? 1 : 0;
  }
  bool any = running > 0;
  log_limit_.log(LogLevel::info, config_.name + ": dirty logging " + (log ? "on" : "off") + " (" +
                                     std::to_string(running) + " running queues)");
  // Once every worker has passed a quiescent point, each burst sees the new log: what the
  // frontend is told next is true, and a replaced log is unused.
  if (any && grace_ != nullptr) grace_->synchronize();
}

bool VhostUserBackend::logging() const {
  return dirty_log_ != nullptr && (acked_features_ & virtio::bit(virtio::kVhostFLogAll)) != 0;
}

const virtio::DirtyLog* VhostUserBackend::active_dirty_log() const {
  return logging() ? dirty_log_.get() : nullptr;
}

Result<uint64_t> VhostUserBackend::set_log_base(Message& m) {
  // Without LOG_SHMFD the u64 would be an address in the frontend's memory (the kernel's way).
  RINGLANE_TRY(require_protocol(protocol::kLogShmfd, m));
  auto where = m.read<LogDescription>();
  auto log = virtio::DirtyLog::map(m.fds[0].get(), where.mmap_size, where.mmap_offset);
  if (!log) return Error(log.error().code(), "SET_LOG_BASE: " + log.error().to_string());
  // Running queues move to the new log; the old one goes once no worker can be using it.
  std::unique_ptr<virtio::DirtyLog> old = std::exchange(dirty_log_, std::move(*log));
  publish_dirty_log();
  old.reset();
  log_limit_.log(LogLevel::info, config_.name + ": dirty log of " +
                                     std::to_string(dirty_log_->size()) + " bytes shared");
  // The answer: a reply without payload.
  return uint64_t{0};
}

Result<uint64_t> VhostUserBackend::device_request(Message& m) {
  if (auto handled = handle_device_request(m)) return acked(*handled);
  return Error(ENOSYS, std::string("unsupported request ") + to_string(m.request()));
}

Result<uint64_t> VhostUserBackend::set_vring_fd(Message& m,
                                                const std::function<void(Vring&, UniqueFd)>& set) {
  uint64_t value = m.u64();
  uint64_t index = value & kVringIndexMask;
  if (value & ~(kVringIndexMask | kVringNoFd)) {
    return Error(EINVAL, std::string(to_string(m.request())) + ": unknown bits in payload");
  }
  UniqueFd fd = (value & kVringNoFd) ? UniqueFd() : m.take_fd();
  return acked(change_vring(index, [&](Vring& v) { set(v, std::move(fd)); }));
}

Result<uint64_t> VhostUserBackend::set_vring_kick(Message& m) {
  return set_vring_fd(m, [this](Vring& v, UniqueFd fd) {
    v.kick = std::move(fd);
    v.started = true;
    // Without protocol features a ring is enabled as soon as it starts.
    if (!(acked_features_ & virtio::bit(kFProtocolFeatures))) v.enabled = true;
  });
}

Result<uint64_t> VhostUserBackend::set_vring_call(Message& m) {
  return set_vring_fd(m, [](Vring& v, UniqueFd fd) { v.call = std::move(fd); });
}

Result<uint64_t> VhostUserBackend::set_vring_err(Message& m) {
  return set_vring_fd(m, [](Vring& v, UniqueFd fd) { v.err = std::move(fd); });
}

Status VhostUserBackend::change_vring(uint64_t index, const std::function<void(Vring&)>& change) {
  auto v = vring_for(index);
  if (!v) return v.error();
  stop_queue(static_cast<uint32_t>(index));
  change(**v);
  return start_queue_if_ready(static_cast<uint32_t>(index));
}

Result<uint64_t> VhostUserBackend::set_mem_table(Message& m) {
  uint32_t n = m.read<uint32_t>();
  std::vector<std::shared_ptr<const virtio::MappedRegion>> regions;
  for (uint32_t i = 0; i < n; ++i) {
    auto desc = m.read<virtio::RegionDescriptor>(8 + i * sizeof(virtio::RegionDescriptor));
    auto region = virtio::MappedRegion::map(desc, m.fds[i].get());
    if (!region)
      return Error(region.error().code(), "SET_MEM_TABLE: " + region.error().to_string());
    regions.push_back(std::move(*region));
  }
  // The mappings hold their own references to the memory; the fds are closed with the message.
  RINGLANE_TRY(replace_memory(regions));
  region_adds_.clear();
  for (const auto& r : regions) region_adds_[r->descriptor().guest_phys_addr] = 1;
  return kNoAnswer;
}

namespace {

bool same_region(const virtio::RegionDescriptor& a, const virtio::RegionDescriptor& b) {
  return a.guest_phys_addr == b.guest_phys_addr && a.size == b.size && a.user_addr == b.user_addr;
}

}  // namespace

Result<uint64_t> VhostUserBackend::add_mem_reg(Message& m) {
  auto desc = m.read<virtio::RegionDescriptor>(8);
  std::vector<std::shared_ptr<const virtio::MappedRegion>> regions;
  if (memory_) regions = memory_->regions();
  // The same region again (another of QEMU's per-queue-pair devices): counted, nothing remapped,
  // no queue stopped.
  for (const auto& r : regions) {
    if (same_region(r->descriptor(), desc)) {
      ++region_adds_[desc.guest_phys_addr];
      return kNoAnswer;
    }
  }
  if (regions.size() >= config_.max_mem_slots) {
    return Error(ENOSPC, "ADD_MEM_REG: all " + std::to_string(config_.max_mem_slots) +
                             " memory slots are in use");
  }
  auto region = virtio::MappedRegion::map(desc, m.fds[0].get());
  if (!region) return Error(region.error().code(), "ADD_MEM_REG: " + region.error().to_string());
  regions.push_back(std::move(*region));
  RINGLANE_TRY(replace_memory(std::move(regions)));
  region_adds_[desc.guest_phys_addr] = 1;
  return kNoAnswer;
}

Result<uint64_t> VhostUserBackend::rem_mem_reg(Message& m) {
  auto desc = m.read<virtio::RegionDescriptor>(8);
  if (!memory_) return Error(ENOENT, "REM_MEM_REG: no memory table");
  auto regions = memory_->regions();
  auto it = std::find_if(regions.begin(), regions.end(),
                         [&](const auto& r) { return same_region(r->descriptor(), desc); });
  if (it == regions.end()) return Error(ENOENT, "REM_MEM_REG: no such region");
  // Still added by another of the frontend's devices: it stays.
  if (uint32_t& adds = region_adds_[desc.guest_phys_addr]; adds > 1) {
    --adds;
    return kNoAnswer;
  }
  regions.erase(it);
  RINGLANE_TRY(replace_memory(std::move(regions)));
  region_adds_.erase(desc.guest_phys_addr);
  return kNoAnswer;
}

Status VhostUserBackend::replace_memory(
    std::vector<std::shared_ptr<const virtio::MappedRegion>> regions) {
  auto mem = virtio::GuestMemory::create(std::move(regions));
  if (!mem) return mem.error();
  stop_queues(0, config_.vring_count);
  // After the grace period no worker holds a pointer into the old table: it may go now.
  memory_ = std::make_unique<virtio::GuestMemory>(std::move(*mem));
  start_all_ready();
  return {};
}

void VhostUserBackend::stop_queues(uint32_t first, uint32_t count) {
  uint64_t stopped = 0;
  uint64_t packed = 0;
  for (uint32_t i = first; i < first + count; ++i) {
    if (queues_[i].live()) {
      queues_[i].set_live(false);
      stopped |= uint64_t{1} << i;
    }
    if (packed_queues_[i].live()) {
      packed_queues_[i].set_live(false);
      stopped |= uint64_t{1} << i;
      packed |= uint64_t{1} << i;
    }
  }
  if (stopped == 0) return;
  if (grace_ != nullptr) grace_->synchronize();
  drain_queues(stopped);
  // Every buffer a worker took was completed within its burst: resume after the last one.
  for (uint32_t i = first; i < first + count; ++i) {
    if (!(stopped & (uint64_t{1} << i))) continue;
    vrings_[i].base = (packed & (uint64_t{1} << i)) ? packed_queues_[i].position().to_vring_base()
                                                    : queues_[i].last_avail_idx();
  }
}

Status VhostUserBackend::start_queue_if_ready(uint32_t index) {
  Vring& v = vrings_[index];
  if (queue_live(index) || !memory_ || v.num == 0 || !v.addr_set || !v.started || !v.enabled) {
    return {};
  }
  return ring_packed() ? start_packed_queue(index) : start_split_queue(index);
}

Status VhostUserBackend::start_split_queue(uint32_t index) {
  Vring& v = vrings_[index];
  virtio::SplitQueue& q = queues_[index];
  // Set while a packed ring was negotiated, then the features changed: not a split ring's.
  if (v.num > virtio::kMaxQueueSize || !std::has_single_bit(v.num) || v.base > 0xffff) {
    return Error(EINVAL, "vring " + std::to_string(index) + ": size " + std::to_string(v.num) +
                             " and base " + std::to_string(v.base) +
                             " do not fit a split ring (a power of two, a 16-bit index)");
  }
  bool event_idx = (acked_features_ & virtio::bit(virtio::kFRingEventIdx)) != 0;
  virtio::RingPlacement placed = virtio::place_split_rings(
      *memory_, virtio::RingAddressSpace::frontend_virtual,
      {v.addr.desc_user_addr, v.addr.avail_user_addr, v.addr.used_user_addr},
      static_cast<uint16_t>(v.num));
  // Misaligned or outside the table: to the frontend both are rings we cannot use.
  if (placed.fault != virtio::RingFault::none) {
    return Error(EFAULT,
                 "vring " + std::to_string(index) + ": ring addresses outside guest memory");
  }
  const virtio::RingLayout& layout = placed.layout;
  QueueResume resume =
      prepare_queue(static_cast<uint16_t>(index), layout, static_cast<uint16_t>(v.base));
  uint16_t base = resume.next_avail;
  if (Status s = virtio::check_resume_position(layout, base, resume.taken_back); !s.ok()) {
    return Error(s.error().code(), "vring " + std::to_string(index) + ": " + s.error().message());
  }
  v.base = base;
  q.configure(memory_.get(), layout, event_idx,
              (acked_features_ & virtio::bit(virtio::kFRingIndirectDesc)) != 0, base);
  q.set_dirty_log(active_dirty_log());
  q.set_call_fd(v.call.get());
  q.set_err_fd(v.err.get());
  q.set_kick_fd(v.kick.get());
  q.set_live(true);
  // A worker asleep on its queues' kicks does not wait on this one's yet.
  if (grace_ != nullptr) grace_->wake_sleepers();
  return {};
}

Status VhostUserBackend::start_packed_queue(uint32_t index) {
  Vring& v = vrings_[index];
  virtio::PackedQueue& q = packed_queues_[index];
  auto size = static_cast<uint16_t>(v.num);  // SET_VRING_NUM kept it in 1-32768
  // vhost-user's three addresses name the packed ring's parts: desc the descriptor ring, avail
  // the driver's event suppression area, used the device's.
  virtio::PackedRingPlacement placed = virtio::place_packed_rings(
      *memory_, virtio::RingAddressSpace::frontend_virtual,
      {v.addr.desc_user_addr, v.addr.avail_user_addr, v.addr.used_user_addr}, size);
  if (placed.fault != virtio::RingFault::none) {
    return Error(EFAULT, "vring " + std::to_string(index) + ": packed ring addresses " +
                             (placed.fault == virtio::RingFault::misaligned
                                  ? "misaligned (16 bytes for the ring, 4 for each event area)"
                                  : "outside guest memory"));
  }
  virtio::PackedPosition start = virtio::PackedPosition::from_vring_base(v.base);
  // The ring's start, from a frontend that may not know better: QEMU sends the last position it
  // knew when it could not ask a backend that died. The ring's own flags tell (for one-slot
  // chains); a fresh ring's say the start, and then nothing changes.
  if (start == virtio::PackedPosition{}) {
    if (auto found = virtio::packed_position_from_ring(placed.layout); found && *found != start) {
      log_limit_.log(LogLevel::info,
                     config_.name + ": vring " + std::to_string(index) + " resumes at " +
                         std::to_string(found->avail_idx) + " (wrap " +
                         std::to_string(found->avail_wrap ? 1 : 0) +
                         "), where the ring's flags show the device stopped: the frontend "
                         "handed over the ring's start");
      start = *found;
    }
  }
  if (Status s = virtio::check_packed_resume_position(start, size); !s.ok()) {
    return Error(s.error().code(), "vring " + std::to_string(index) + ": " + s.error().message());
  }
  // Kept in the form GET_VRING_BASE answers with (both halves, whichever the frontend sent).
  v.base = start.to_vring_base();
  q.configure(memory_.get(), placed.layout,
              (acked_features_ & virtio::bit(virtio::kFRingEventIdx)) != 0,
              (acked_features_ & virtio::bit(virtio::kFRingIndirectDesc)) != 0, start);
  q.set_dirty_log(active_dirty_log());
  q.set_call_fd(v.call.get());
  q.set_err_fd(v.err.get());
  q.set_kick_fd(v.kick.get());
  q.set_live(true);
  if (grace_ != nullptr) grace_->wake_sleepers();
  return {};
}

void VhostUserBackend::start_all_ready() {
  for (uint32_t i = 0; i < config_.vring_count; ++i) {
    if (Status s = start_queue_if_ready(i); !s.ok()) {
      log_line(LogLevel::warn, config_.name + ": " + s.error().to_string());
    }
  }
}

void VhostUserBackend::reset_vrings() {
  stop_queues(0, config_.vring_count);
  for (uint32_t i = 0; i < config_.vring_count; ++i) {
    vrings_[i] = Vring{};
    queues_[i].clear_broken();
    packed_queues_[i].clear_broken();
  }
}

void VhostUserBackend::disconnect() {
  reset_vrings();
  memory_.reset();
  region_adds_.clear();
  inflight_.reset();
  dirty_log_.reset();
  backend_channel_.reset();
  acked_features_ = 0;
  ring_packed_.store(false, std::memory_order_relaxed);
  acked_protocol_ = 0;
  status_ = 0;
  stats_.disconnects.inc();
}

}  // namespace ringlane::vhost_user
