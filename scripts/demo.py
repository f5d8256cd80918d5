#!/usr/bin/env python3
"""ringlane demo: two VM ports on a dedicated core, driven by DPDK's virtio_user traffic
generator (testpmd io-forwarding with --tx-first) on the other core for about 10 seconds, with a
live progress line, then a summary table."""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "lib"))
import peers  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ringlane", default=peers.RINGLANE, help="ringlane binary")
    ap.add_argument("--seconds", type=float, default=10.0, help="traffic duration (default 10)")
    ap.add_argument("--size", type=int, default=64, help="frame size in bytes (default 64)")
    ap.add_argument("--core", default="1", help="ringlane's dedicated core (default 1)")
    args = ap.parse_args()
    if not 60 <= args.size <= 1518:
        ap.error("--size must be 60-1518")
    peers.RINGLANE = args.ringlane
    work = tempfile.mkdtemp(prefix="ringlane-demo-")
    ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(2)]
    gen_core = "0" if args.core != "0" else "1"
    print(f"ringlane demo: 2 vhost-user-net ports cross-connected on core {args.core}; "
          f"generator: DPDK testpmd virtio_user on core {gen_core}, {args.size}-byte frames")
    rl = peers.Ringlane(ports, cores=args.core, workdir=work)
    tp = None
    try:
        vdevs = [peers.virtio_user(i, p["path"]) for i, p in enumerate(ports)]
        extra = [f"--txpkts={args.size - 4}"] if args.size != 64 else []
        tp = peers.Testpmd(vdevs, "rldemo", main_lcore=int(args.core), lcores="0,1",
                           interactive=True, extra=extra, workdir=work)
        tp.wait_output("testpmd>", timeout=30)
        tp.command("start tx_first 4")
        start = time.monotonic()
        last_t, last = start, tp.port_stats()
        while time.monotonic() - start < args.seconds:
            time.sleep(0.5)
            now, cur = time.monotonic(), tp.port_stats()
            rx = sum(cur[p]["rx"] - last[p]["rx"] for p in cur)
            rx_bytes = sum(cur[p]["rx_bytes"] - last[p]["rx_bytes"] for p in cur)
            mpps = rx / (now - last_t) / 1e6
            gbps = (rx_bytes + 24 * rx) * 8 / (now - last_t) / 1e9
            done = min(1.0, (now - start) / args.seconds)
            bar = "#" * int(done * 30)
            print(f"\r  [{bar:<30}] {now - start:5.1f}s  {mpps:7.2f} Mpps  {gbps:6.2f} Gbps", end="",
                  flush=True)
            last_t, last = now, cur
        print()
        tp.command("stop")
        time.sleep(0.5)
        tp.quit()
        tp = None
        summary = rl.stop()
    finally:
        if tp:
            tp.kill()
        rl.kill()
    seconds = args.seconds
    worker = summary["workers"][0]
    print()
    print(f"{'port':<8}{'rx Mpps':>10}{'tx Mpps':>10}{'tx Gbps':>10}{'drops':>8}")
    total_tx = total_bytes = 0
    for p in summary["ports"]:
        t = p["totals"]
        total_tx += t["tx_packets"]
        total_bytes += t["tx_bytes"]
        gbps = (t["tx_bytes"] + 24 * t["tx_packets"]) * 8 / summary["seconds"] / 1e9
        print(f"{p['name']:<8}{t['rx_packets'] / summary['seconds'] / 1e6:>10.2f}"
              f"{t['tx_packets'] / summary['seconds'] / 1e6:>10.2f}{gbps:>10.2f}{t['drops']:>8}")
    print()
    print(f"forwarded      {total_tx:,} frames in {summary['seconds']:.1f}s (including start-up)")
    print(f"worker core {worker['core']}  {worker['cycles_per_packet']:.0f} cycles/packet busy, "
          f"batch {worker['average_batch']:.1f}, idle polls {100 * worker['idle_poll_ratio']:.1f}%")
    print(f"drops          {peers.total_drops(summary)}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
