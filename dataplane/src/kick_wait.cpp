#include "ringlane/dataplane/kick_wait.h"

namespace ringlane::dataplane {

namespace {

// Both ring kinds: split rings turn kicks on through the used ring's flags or avail event,
// packed ones through the device event suppression area; the rest is the same.
template <typename Ring>
Port::Wakeup arm(Ring& ring) {
  if (!ring.serving()) return {};
  if (ring.kick_fd() < 0) return {-1, true};
  return {ring.kick_fd(), ring.enable_kicks()};
}

template <typename Ring>
void disarm(Ring& ring, bool signalled) {
  if (signalled) ring.stats().kicks.add(drain_event_fd(ring.kick_fd()));
  // A ring stopped meanwhile is configured afresh when it starts again.
  if (ring.live()) ring.disable_kicks();
}

}  // namespace

Port::Wakeup arm_ring_wakeup(virtio::SplitQueue& ring) {
  return arm(ring);
}

Port::Wakeup arm_ring_wakeup(virtio::PackedQueue& ring) {
  return arm(ring);
}

void disarm_ring_wakeup(virtio::SplitQueue& ring, bool signalled) {
  disarm(ring, signalled);
}

void disarm_ring_wakeup(virtio::PackedQueue& ring, bool signalled) {
  disarm(ring, signalled);
}

Result<KickWait> KickWait::create() {
  RINGLANE_ASSIGN_OR_RETURN(EventFd wake, EventFd::create());
  return KickWait(std::move(wake));
}

bool KickWait::arm(const SwitchView& view, unsigned worker) {
  armed_.clear();
  fds_.clear();
  fds_.push_back({wake_.fd(), POLLIN, 0});
  auto add_fd = [&](int fd) {
    if (fd < 0) return -1;
    fds_.push_back({fd, POLLIN, 0});
    return static_cast<int>(fds_.size() - 1);
  };
  for (const SwitchView::Poll& poll : view.polls[worker]) {
    // A queue pair on the move: the move lasts a few grace periods, and the other worker may be
    // the one off its cpu; stay awake to serve it.
    if (poll.handoff != nullptr) return false;
    Port* port = view.ports[poll.port];
    Port::Wakeup w = port->arm_wakeup(poll.queue_pair);
    armed_.push_back({port, poll.queue_pair, nullptr, add_fd(w.fd)});
    if (w.ready) return false;
  }
  for (blk::DiskQueue* disk : view.disk_polls[worker]) {
    Port::Wakeup w = arm_ring_wakeup(disk->queue());
    armed_.push_back({nullptr, 0, &disk->queue(), add_fd(w.fd)});
    if (w.ready) return false;
  }
  return true;
}

void KickWait::wait(std::chrono::milliseconds timeout) {
  for (pollfd& p : fds_) p.revents = 0;
  (void)::poll(fds_.data(), fds_.size(), static_cast<int>(timeout.count()));
  if (fds_[0].revents & POLLIN) (void)wake_.drain();
}

void KickWait::disarm() {
  for (const Armed& a : armed_) {
    bool signalled = a.pollfd_index >= 0 && (fds_[a.pollfd_index].revents & POLLIN) != 0;
    if (a.port != nullptr) {
      a.port->disarm_wakeup(a.queue_pair, signalled);
      continue;
    }
    disarm_ring_wakeup(*a.ring, signalled);
  }
  armed_.clear();
  for (pollfd& p : fds_) p.revents = 0;
}

}  // namespace ringlane::dataplane
