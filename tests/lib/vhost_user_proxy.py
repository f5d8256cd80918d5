"""A vhost-user proxy for fault injection: the frontend (ringlane-vmm) connects to the proxy's
socket, the proxy connects to the real backend (ringlane) and passes every message through, file
descriptors included, until a rule says otherwise. A rule matches the n-th occurrence of a
request (optionally for one vring index) and then:
  refuse   answers it itself with a failed REPLY_ACK (as a backend refusing it would) and does
           not pass it on;
  swallow  neither passes it on nor answers (a backend that never answers);
  a callable is called before the request is passed on (to kill or stop the backend there).
When either side closes, the proxy closes the other, so the frontend sees the backend go away."""
import array
import os
import select
import socket
import struct
import threading

HEADER = struct.Struct("<III")
FLAG_REPLY = 0x4
FLAG_NEED_REPLY = 0x8
VERSION = 0x1
MAX_FDS = 8

# Request numbers from the vhost-user specification.
REQUESTS = {"SET_FEATURES": 2, "SET_MEM_TABLE": 5, "SET_VRING_NUM": 8, "SET_VRING_ADDR": 9,
            "SET_VRING_BASE": 10, "GET_VRING_BASE": 11, "SET_VRING_KICK": 12,
            "SET_VRING_CALL": 13, "SET_VRING_ENABLE": 18}


def _receive(sock):
    """One whole message and the fds that came with it, or None at end-of-file."""
    fds = array.array("i")
    data = b""
    need = HEADER.size
    while len(data) < need:
        chunk, ancillary, _flags, _addr = sock.recvmsg(
            need - len(data), socket.CMSG_LEN(MAX_FDS * fds.itemsize))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
        if not chunk:
            for fd in fds:
                os.close(fd)
            return None
        data += chunk
        if len(data) == HEADER.size:
            need = HEADER.size + HEADER.unpack(data)[2]
    return data, list(fds)


class Rule:
    def __init__(self, request, action, occurrence=1, index=None):
        self.request = REQUESTS[request] if isinstance(request, str) else request
        self.action = action
        self.occurrence = occurrence
        self.index = index
        self.seen = 0
        self.fired = threading.Event()

    def matches(self, request, payload):
        if request != self.request:
            return False
        if self.index is not None and (len(payload) < 4 or
                                       struct.unpack_from("<I", payload)[0] != self.index):
            return False
        self.seen += 1
        return self.seen == self.occurrence


class VhostUserProxy:
    def __init__(self, listen_path, backend_path):
        self.backend_path = backend_path
        self.rules = []
        self.requests = []  # (request, vring index or None) passed on, in order
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(listen_path)
        self._listener.listen(4)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def add_rule(self, request, action, occurrence=1, index=None):
        rule = Rule(request, action, occurrence, index)
        self.rules.append(rule)
        return rule

    def close(self):
        self._stop.set()
        self._listener.close()
        self._thread.join(10)

    def _serve(self):
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.2)
                if not ready:
                    continue
                front, _ = self._listener.accept()
            except OSError:
                return
            back = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                back.connect(self.backend_path)
            except OSError:
                front.close()
                continue
            self._relay(front, back)

    def _relay(self, front, back):
        # A half-close is passed on as one: the frontend's shutdown(SHUT_WR) must reach the
        # backend as end-of-file while the backend's late replies and its own close still come
        # back, as they would without the proxy.
        open_ = {front, back}
        try:
            while open_ and not self._stop.is_set():
                ready, _, _ = select.select(list(open_), [], [], 0.2)
                for sock in ready:
                    other = back if sock is front else front
                    got = _receive(sock)
                    if got is None:
                        open_.discard(sock)
                        if sock is back:
                            return  # the backend is gone: so is the frontend's connection
                        other.shutdown(socket.SHUT_WR)
                        continue
                    data, fds = got
                    try:
                        if sock is front:
                            self._from_frontend(data, fds, front, back)
                        else:
                            self._send(front, data, fds)
                    finally:
                        for fd in fds:
                            os.close(fd)
        except OSError:
            return
        finally:
            front.close()
            back.close()

    def _from_frontend(self, data, fds, front, back):
        request, flags, _size = HEADER.unpack_from(data)
        payload = data[HEADER.size:]
        for rule in self.rules:
            if rule.matches(request, payload):
                rule.fired.set()
                if rule.action == "refuse":
                    if flags & FLAG_NEED_REPLY:
                        self._send(front, HEADER.pack(request, VERSION | FLAG_REPLY, 8) +
                                   struct.pack("<Q", 1), [])
                    return
                if rule.action == "swallow":
                    return
                rule.action()
        index = struct.unpack_from("<I", payload)[0] if len(payload) >= 4 else None
        self.requests.append((request, index))
        self._send(back, data, fds)

    @staticmethod
    def _send(sock, data, fds):
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        sock.sendmsg([data], ancillary)
