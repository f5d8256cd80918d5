"""A real Prometheus server (Debian's `prometheus` package) for the metrics tests: started on
loopback with its configuration and storage in a temporary directory, scraping the given
targets, and killed by PID at cleanup (peers.Process); plus `promtool check metrics`."""
import json
import os
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import peers  # noqa: E402

PROMETHEUS = os.environ.get("RINGLANE_PROMETHEUS", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("RINGLANE_PROMTOOL", "/usr/bin/promtool")


def free_tcp_port():
    """A loopback port nobody listens on now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    """(status, content type, body text) of a GET."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode(errors="replace")


def check_metrics(text):
    """`promtool check metrics` on an exposition: (exit status, what it printed)."""
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


class Prometheus:
    """prometheus scraping `targets` ("127.0.0.1:PORT", path /metrics) every `interval` s."""

    def __init__(self, targets, workdir, interval=1, job="ringlane"):
        self.port = free_tcp_port()
        self.address = f"127.0.0.1:{self.port}"
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n"
                    f"  scrape_interval: {interval}s\n"
                    f"  scrape_timeout: {interval}s\n"
                    f"  evaluation_interval: {interval}s\n"
                    "scrape_configs:\n"
                    f"  - job_name: {job}\n"
                    "    static_configs:\n"
                    f"      - targets: [{', '.join(json.dumps(t) for t in targets)}]\n")
        storage = os.path.join(workdir, "prometheus-data")
        os.makedirs(storage, exist_ok=True)
        argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={storage}",
                f"--web.listen-address={self.address}", "--log.level=warn"]
        self.process = peers.Process(argv, "prometheus", log_dir=workdir)
        try:
            peers.wait_for(lambda: self._ready() or not self.process.alive(), 60, "prometheus to be ready",
                           interval=0.2)
            if not self.process.alive():
                raise RuntimeError("prometheus exited:\n" + self.process.output()[-3000:])
        except Exception:
            self.kill()
            raise

    def _ready(self):
        try:
            return http_get(f"http://{self.address}/-/ready", timeout=1)[0] == 200
        except OSError:
            return False

    def api(self, path, **params):
        """GET /api/v1/PATH?params: the answer's "data" (raises on "status" other than success)."""
        url = f"http://{self.address}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        _, _, body = http_get(url, timeout=10)
        doc = json.loads(body)
        if doc.get("status") != "success":
            raise RuntimeError(f"prometheus {path} {params}: {doc}")
        return doc["data"]

    def query(self, expr, at=None):
        """An instant query's vector as [(labels, value)]."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def targets(self):
        return self.api("targets")["activeTargets"]

    def kill(self):
        self.process.kill()
