"""A client for the ringlane daemon's control API (`ringlane --api-sock PATH`): HTTP/1.1 over a
Unix socket with Python's http.client, one request per connection, as the server expects."""
import http.client
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
import peers  # noqa: E402


class UnixConnection(http.client.HTTPConnection):
    """http.client's connection with the socket a Unix one."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Reply:
    """One answer: status, headers, the raw body, and the body as JSON when it is JSON."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.content_type = headers.get("Content-Type", "")
        self.json = None
        if self.content_type.startswith("application/json") and raw:
            self.json = json.loads(raw)

    def __repr__(self):
        return f"Reply({self.status}, {self.raw[:300]!r})"


def request(sock_path, method, target, body=None, raw=None, timeout=10):
    """One request on a new connection. `body` is sent as JSON; `raw` (bytes or str) as it is."""
    conn = UnixConnection(sock_path, timeout)
    try:
        data = None
        headers = {}
        if raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(data))
        conn.request(method, target, body=data, headers=headers)
        resp = conn.getresponse()
        payload = resp.read()
        return Reply(resp.status, dict(resp.getheaders()), payload.decode(errors="replace"))
    finally:
        conn.close()


class Client:
    """The API of one daemon, by its socket path."""

    def __init__(self, sock_path):
        self.sock_path = sock_path

    def call(self, method, target, body=None, raw=None, timeout=10):
        return request(self.sock_path, method, target, body=body, raw=raw, timeout=timeout)

    def get(self, target):
        reply = self.call("GET", target)
        if reply.status != 200:
            raise RuntimeError(f"GET {target}: {reply.status} {reply.raw}")
        return reply.json if reply.json is not None else reply.raw

    def ports(self):
        return self.get("/ports")["ports"]

    def port(self, name):
        return self.get(f"/ports/{name}")

    def workers(self):
        return self.get("/workers")["workers"]

    def disks(self):
        return self.get("/disks")["disks"]

    def disk(self, name):
        return self.get(f"/disks/{name}")

    def fdb(self):
        return self.get("/fdb")["entries"]

    def worker_of(self, port, queue_pair=0):
        """The worker /workers lists the queue pair on (and checks it is listed exactly once)."""
        found = [w["index"] for w in self.workers()
                 for q in w["queues"] if q["port"] == port and q["queue_pair"] == queue_pair]
        if len(found) != 1:
            raise AssertionError(f"{port} queue {queue_pair} listed on workers {found}")
        return found[0]


def start_daemon(sock_path, ports=(), mode="xconnect", cores="1", extra=(), workdir=None):
    """peers.Ringlane with --api-sock, returned once the API answers."""
    rl = peers.Ringlane(list(ports), cores=cores, mode=mode, extra=["--api-sock", sock_path] + list(extra),
                        workdir=workdir)

    def answers():
        try:
            return request(sock_path, "GET", "/status", timeout=2).status == 200
        except OSError:
            return False

    try:
        peers.wait_for(lambda: answers() or not rl.process.alive(), 10, f"the API on {sock_path}")
        if not rl.process.alive():
            raise RuntimeError("ringlane exited at start:\n" + rl.process.output())
    except Exception:
        rl.kill()
        raise
    return rl
