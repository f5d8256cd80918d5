"""A small QMP client: QEMU's machine protocol, JSON objects over a Unix socket (`-qmp
unix:PATH,server=on,wait=off`), one command at a time.

    from qmp import Qmp
    with Qmp("/tmp/vm/qmp.sock", timeout=10) as q:       # connects, negotiates capabilities
        q.command("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
        q.command("migrate", uri="unix:/tmp/dest/migrate.sock")
        status = q.command("query-migrate")               # the "return" value, a dict
        q.events                                          # every asynchronous event seen so far

command() returns the reply's "return" value and raises QmpError for an "error" reply (its class
and description in the message); events that arrive meanwhile are kept in .events with the host's
monotonic time of arrival (`_received`), and wait_event() waits for one by name. Connecting
retries until the socket answers (QEMU creates it early, but not before it parsed its command
line)."""
import json
import socket
import time


class QmpError(Exception):
    """An "error" reply, or no reply in time, or the connection lost."""


class Qmp:
    """One QMP connection; see the module's docstring."""

    def __init__(self, path, timeout=10, connect_timeout=10):
        self.path = path
        self.timeout = timeout
        self.events = []
        self._buffer = b""
        self._sock = None
        deadline = time.monotonic() + connect_timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                break
            except OSError as e:
                sock.close()
                if time.monotonic() >= deadline:
                    raise QmpError(f"no QMP socket at {path}: {e}") from None
                time.sleep(0.02)
        self._sock = sock
        greeting = self._receive(time.monotonic() + timeout)
        if "QMP" not in greeting:
            raise QmpError(f"not a QMP greeting: {greeting}")
        self.version = greeting["QMP"].get("version", {}).get("qemu", {})
        self.command("qmp_capabilities")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _receive(self, deadline):
        """The next JSON object QEMU sent."""
        while True:
            line, sep, rest = self._buffer.partition(b"\n")
            if sep:
                self._buffer = rest
                if line.strip():
                    return json.loads(line)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise QmpError(f"no answer on {self.path} in time")
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                raise QmpError(f"no answer on {self.path} in time") from None
            except OSError as e:
                raise QmpError(f"QMP connection {self.path} lost: {e}") from None
            if not data:
                raise QmpError(f"QEMU closed the QMP connection {self.path}")
            self._buffer += data

    def command(self, name, timeout=None, **arguments):
        """Runs one command and returns its "return" value; QmpError on an "error" reply."""
        message = {"execute": name}
        if arguments:
            message["arguments"] = arguments
        self._sock.sendall(json.dumps(message).encode() + b"\n")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            reply = self._receive(deadline)
            if "event" in reply:
                reply["_received"] = time.monotonic()
                self.events.append(reply)
                continue
            if "error" in reply:
                error = reply["error"]
                raise QmpError(f"{name}: {error.get('class')}: {error.get('desc')}")
            if "return" in reply:
                return reply["return"]

    def poll_events(self):
        """Takes in the events QEMU sent since the last call, without waiting."""
        self._sock.setblocking(False)
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    break
                self._buffer += data
        except (BlockingIOError, InterruptedError):
            pass
        finally:
            self._sock.setblocking(True)
        while b"\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\n")
            if line.strip():
                reply = json.loads(line)
                reply["_received"] = time.monotonic()
                self.events.append(reply)
        return self.events

    def wait_event(self, name, timeout=None, since=0):
        """The first event called `name` among .events[since:], waiting for it if needed."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            for event in self.events[since:]:
                if event.get("event") == name:
                    return event
            event = self._receive(deadline)
            event["_received"] = time.monotonic()
            self.events.append(event)
