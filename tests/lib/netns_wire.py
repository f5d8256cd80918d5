"""A network namespace a test owns, holding the test's "wire": veth pairs with one end moved into
it, or an existing interface (a TAP device ringlane created, say) moved in, with addresses.
Everything it creates is removed by close(): on leaving the `with` block, at interpreter exit
(SIGTERM included, through tests/lib/peers.py's handler), whatever failed before. Processes a test
starts inside it go through tests/lib/peers.py (killed by PID) and must be ended before close()
(unittest's cleanups run last-in first-out: add the namespace's first).

    from netns_wire import WireNamespace, unique_ifname
    with WireNamespace("pvp") as ns:
        host_end = ns.add_veth(unique_ifname("rlv"), "wire0", address="10.0.0.1/24")
        ns.take_link("rltap0", address="10.0.0.1/24")    # an interface made elsewhere
        ns.run("ping", "-c", "1", "10.0.0.2")            # CompletedProcess; check=True by default
        peers.Process(ns.argv("some-server"), "server")
        ns.link_stats("wire0")

Names are unique per process (pid and a counter), so tests running at the same time on one host
never collide. IPv6 is off on the interfaces it configures unless an IPv6 address is asked for (no
neighbour discovery or router solicitations on a test's wire)."""
import atexit
import itertools
import os
import subprocess

_open = []
_counter = itertools.count()


def unique_ifname(prefix):
    """An interface name nobody else on this host uses: `prefix` (at most 6 characters), this
    process's pid and a counter, 15 characters at most (IFNAMSIZ)."""
    if not 1 <= len(prefix) <= 6:
        raise ValueError(f"interface name prefix {prefix!r}: 1-6 characters")
    return f"{prefix}{os.getpid() % 10**6}{next(_counter) % 1000}"[:15]


def finish_checksums(argv, ifname):
    """Turns transmit checksumming (and with it TSO) off on `ifname`, run through `argv` (a
    namespace's command prefix): see WireNamespace.finish_checksums."""
    _run(argv("ethtool", "-K", ifname, "tx", "off"))


def _run(argv, check=True):
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()}")
    return result


@atexit.register
def _close_all():
    for ns in list(_open):
        ns.close()


class WireNamespace:
    """See the module's docstring."""

    def __init__(self, prefix="rlwire"):
        self.name = f"{prefix}-{os.getpid()}-{next(_counter)}"
        self._host_links = []   # veth ends left in the host's namespace: deleted at close
        _run(["ip", "netns", "add", self.name])
        _open.append(self)
        try:
            self.run("ip", "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def argv(self, *cmd):
        """`cmd` prefixed so that it runs inside the namespace."""
        return ["ip", "netns", "exec", self.name, *[str(c) for c in cmd]]

    def run(self, *cmd, check=True):
        """Runs `cmd` inside the namespace; RuntimeError with its message when it fails and
        `check`."""
        return _run(self.argv(*cmd), check=check)

    def _configure(self, ifname, address, mtu):
        if address is None or ":" not in address:
            self.run("sysctl", "-q", "-w", f"net.ipv6.conf.{ifname}.disable_ipv6=1", check=False)
        if mtu is not None:
            self.run("ip", "link", "set", ifname, "mtu", mtu)
        if address is not None:
            self.run("ip", "addr", "add", address, "dev", ifname)
        self.run("ip", "link", "set", ifname, "up")

    def add_veth(self, host_name, inside_name, address=None, mtu=None, host_up=True):
        """A veth pair: `host_name` stays in the host's namespace (up, IPv6 off, no address: for
        ringlane to take), `inside_name` is moved in here, given `address` and brought up.
        Returns host_name."""
        _run(["ip", "link", "add", host_name, "type", "veth", "peer", "name", inside_name])
        self._host_links.append(host_name)
        _run(["sysctl", "-q", "-w", f"net.ipv6.conf.{host_name}.disable_ipv6=1"], check=False)
        _run(["ip", "link", "set", inside_name, "netns", self.name])
        if mtu is not None:
            _run(["ip", "link", "set", host_name, "mtu", str(mtu)])
        if host_up:
            _run(["ip", "link", "set", host_name, "up"])
        self._configure(inside_name, address, mtu)
        return host_name

    def take_link(self, ifname, address=None, mtu=None):
        """Moves the host's interface `ifname` in here (moving takes it down), gives it `address`
        and brings it up. A TAP device's file descriptor stays valid in its owner; the device
        goes when its owner closes it, or with the namespace."""
        _run(["ip", "link", "set", ifname, "netns", self.name])
        self._configure(ifname, address, mtu)

    def finish_checksums(self, ifname):
        """Frames `ifname` (in here) sends leave with their checksums finished and no TSO, as
        they would on a physical wire: a veth otherwise hands its peer partial checksums (the
        kernel's CHECKSUM_PARTIAL), which AF_XDP and AF_PACKET pass on unfinished."""
        finish_checksums(self.argv, ifname)

    def link_stats(self, ifname):
        """The kernel's counters of an interface in here: rx/tx packets, bytes, drops."""
        base = f"/sys/class/net/{ifname}/statistics/"
        keys = ["rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped"]
        out = self.run("cat", *[base + k for k in keys]).stdout.split()
        return dict(zip(keys, (int(v) for v in out)))

    def close(self):
        """Deletes the namespace (and the interfaces in it; a veth goes with either end) and any
        veth end still in the host's namespace. Safe to call more than once."""
        if self not in _open:
            return
        _open.remove(self)
        # The host's ends first: deleting one deletes its peer in here at once, whereas the
        # namespace's own interfaces go in the background once it is deleted.
        for link in self._host_links:
            if os.path.exists(f"/sys/class/net/{link}"):
                _run(["ip", "link", "del", link], check=False)
        self._host_links = []
        _run(["ip", "netns", "del", self.name], check=False)
