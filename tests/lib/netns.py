"""A network namespace owned by one test: created with a unique name, TAP devices made inside
it, commands run inside it, and deleted at close (also at interpreter exit), so test traffic never
touches the host's interfaces."""
import atexit
import os
import subprocess

_open = []


def _cleanup_all():
    for ns in list(_open):
        ns.close()


atexit.register(_cleanup_all)


class NetNamespace:
    def __init__(self, prefix="rltest"):
        self.name = f"{prefix}-{os.getpid()}-{len(_open)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        _open.append(self)
        self.run("ip", "link", "set", "lo", "up")

    def argv(self, *cmd):
        """`cmd` prefixed so that it runs inside the namespace."""
        return ["ip", "netns", "exec", self.name, *cmd]

    def run(self, *cmd, check=True):
        return subprocess.run(self.argv(*cmd), check=check, capture_output=True, text=True)

    def add_tap(self, name):
        """A persistent TAP device, up, without IPv6 (no neighbour discovery chatter)."""
        self.run("ip", "tuntap", "add", "dev", name, "mode", "tap")
        self.run("sysctl", "-q", "-w", f"net.ipv6.conf.{name}.disable_ipv6=1")
        self.run("ip", "link", "set", name, "up")

    def link_stats(self, name):
        """rx/tx packet counters of an interface inside the namespace (the host's view)."""
        base = f"/sys/class/net/{name}/statistics/"
        out = self.run("cat", base + "rx_packets", base + "tx_packets", base + "tx_dropped").stdout
        rx, tx, tx_dropped = (int(v) for v in out.split())
        return {"rx_packets": rx, "tx_packets": tx, "tx_dropped": tx_dropped}

    def close(self):
        if self in _open:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            _open.remove(self)
