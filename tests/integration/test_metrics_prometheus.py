"""ringlane's metrics as a real Prometheus sees them (issue 15 point 3): ringlane cross-connects
two vhost ports and serves `--metrics 127.0.0.1:PORT`; one dpdk-testpmd generates on the first
port (txonly), another receives on the second (rxonly); Prometheus (Debian's package, started
here on loopback, scraping every second) is asked by PromQL for the queue's packet rate, which
must agree within 10% with the rate testpmd's own TX counters give over the same window; and
`promtool check metrics` finds nothing to say about the exposition."""
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import prometheus  # noqa: E402
import report  # noqa: E402

WINDOW = 10  # seconds: the PromQL range and the generator's measured interval
TOLERANCE = 0.10


def read_stats(tp):
    """(time, testpmd's port 0 statistics): the time is halfway between the command and its
    answer, so it is within a few milliseconds of the counters' reading."""
    mark = len(tp.output())
    sent = time.time()
    tp.command("show port stats 0")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stats = peers.parse_port_stats(tp.output()[mark:])
        if 0 in stats:
            return (sent + time.time()) / 2, stats[0]
        time.sleep(0.002)
    raise TimeoutError("testpmd did not answer 'show port stats 0':\n" + tp.output()[-2000:])


def count_at(samples, at):
    """A counter's value at time `at`, linear between the two (time, value) samples around it."""
    for (t0, v0), (t1, v1) in zip(samples, samples[1:]):
        if t0 <= at <= t1:
            return v0 + (v1 - v0) * (at - t0) / (t1 - t0)
    raise ValueError(f"{at} is outside the samples ({samples[0][0]} to {samples[-1][0]})")


class MetricsPrometheus(unittest.TestCase):
    def test_prometheus_rate_matches_the_generator(self):
        work = tempfile.mkdtemp(prefix="rl-prom-")
        self.addCleanup(subprocess.run, ["rm", "-rf", work])
        metrics_port = prometheus.free_tcp_port()
        metrics_addr = f"127.0.0.1:{metrics_port}"
        ports = [{"name": f"vm{i}", "path": os.path.join(work, f"vm{i}.sock")} for i in range(2)]
        rl = peers.Ringlane(ports, cores="1", workdir=work, extra=["--metrics", metrics_addr])
        self.addCleanup(rl.kill)
        self.assertIn(f"metrics on http://{metrics_addr}/metrics", rl.process.output())

        # The receiver first, so what ringlane forwards has somewhere to go from the start.
        pid = os.getpid()
        rx = peers.Testpmd([peers.virtio_user(0, ports[1]["path"])], f"rlpromrx{pid}", main_lcore=1,
                           lcores="0,1", fwd="rxonly", interactive=True, memory_mb=256, workdir=work)
        self.addCleanup(rx.kill)
        gen = peers.Testpmd([peers.virtio_user(0, ports[0]["path"])], f"rlpromtx{pid}", main_lcore=1,
                            lcores="0,1", fwd="txonly", interactive=True, memory_mb=256, workdir=work)
        self.addCleanup(gen.kill)
        rx.wait_output("testpmd>", timeout=30)
        gen.wait_output("testpmd>", timeout=30)
        rx.command("start")
        gen.command("start")
        gen.wait_port_tx(0, 100_000, timeout=20)

        prom = prometheus.Prometheus([metrics_addr], work, interval=1)
        self.addCleanup(prom.kill)
        series = 'ringlane_port_packets_total{port="vm0",queue="0",direction="rx"}'

        def scraped_seconds():
            got = prom.query(f"count_over_time({series}[60s])")
            return int(got[0][1]) if got else 0

        peers.wait_for(lambda: scraped_seconds() >= 15, 60, "prometheus to scrape ringlane for 15 s",
                       interval=1)
        target = [t for t in prom.targets() if t["labels"].get("job") == "ringlane"]
        self.assertEqual(len(target), 1, prom.targets())
        self.assertEqual(target[0]["health"], "up", target[0])
        self.assertEqual(target[0]["lastError"], "", target[0])

        # testpmd's own counters, read every ~0.2 s for longer than the window on both sides.
        sent, received = [], []
        started = time.time()
        while time.time() < started + WINDOW + 4:
            t, stats = read_stats(gen)
            sent.append((t, stats["tx"]))
            t, stats = read_stats(rx)
            received.append((t, stats["rx"]))
            time.sleep(0.15)
        at = min(sent[-1][0], received[-1][0]) - 1.5  # the window ends within the samples
        time.sleep(2)  # the scrapes up to then are in the database

        def matched(expr, counter):
            """Prometheus's rate(expr[WINDOW]) at `at`, and testpmd's over the span of the
            scrapes that rate was computed from (the first to the last sample in the window)."""
            result = prom.query(f"rate({expr}[{WINDOW}s])", at=at)
            self.assertEqual(len(result), 1, result)
            raw = prom.api("query", query=f"{expr}[{WINDOW}s]", time=f"{at:.3f}")["result"][0]["values"]
            first, last = float(raw[0][0]), float(raw[-1][0])
            self.assertGreater(last - first, WINDOW - 3, raw)
            generator = (count_at(counter, last) - count_at(counter, first)) / (last - first)
            return result[0], generator, len(raw), last - first

        (labels, prom_rate), sent_rate, scrapes, span = matched(series, sent)
        self.assertEqual((labels["port"], labels["queue"], labels["direction"], labels["job"]),
                         ("vm0", "0", "rx", "ringlane"))
        out_series = 'ringlane_port_packets_total{port="vm1",queue="0",direction="tx"}'
        (_, prom_out), received_rate, _, _ = matched(out_series, received)
        print(f"generator sent {sent_rate:,.0f} pps (testpmd TX over the {scrapes} scrapes' {span:.2f} s); "
              f"Prometheus rate(vm0 rx[{WINDOW}s]) {prom_rate:,.0f} pps ({(prom_rate / sent_rate - 1) * 100:+.2f}%); "
              f"receiver got {received_rate:,.0f} pps (testpmd RX), Prometheus rate(vm1 tx[{WINDOW}s]) "
              f"{prom_out:,.0f} pps ({(prom_out / received_rate - 1) * 100:+.2f}%)")
        self.assertGreater(sent_rate, 10_000, "the generator barely sent")
        self.assertLess(abs(prom_rate - sent_rate) / sent_rate, TOLERANCE)
        self.assertLess(abs(prom_out - received_rate) / received_rate, TOLERANCE)

        # The exposition as scraped: promtool has nothing to say about it.
        status, content_type, text = prometheus.http_get(f"http://{metrics_addr}/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        rc, problems = prometheus.check_metrics(text)
        self.assertEqual(rc, 0, problems)
        self.assertEqual(problems.strip(), "", problems)
        for family in ("ringlane_port_bytes_total", "ringlane_port_drops_total", "ringlane_port_kicks_total",
                       "ringlane_port_ring_occupancy", "ringlane_worker_busy_cycles_total",
                       "ringlane_worker_cycles_per_packet", "ringlane_worker_idle_share",
                       "process_start_time_seconds", "ringlane_build_info"):
            self.assertIn(f"# TYPE {family} ", text)
        # Prometheus took every family: the build info and the start time are there too.
        self.assertEqual(len(prom.query("ringlane_build_info")), 1)
        start = prom.query("process_start_time_seconds")
        self.assertEqual(len(start), 1, start)
        self.assertLess(time.time() - 600, start[0][1])
        self.assertLess(start[0][1], time.time())
        # The TCP port serves the metrics only.
        try:
            prometheus.http_get(f"http://{metrics_addr}/status")
            self.fail("/status answered on the metrics port")
        except OSError as e:
            self.assertIn("404", str(e))

        gen.command("stop")
        rx.command("stop")
        gen.quit()
        rx.quit()
        prom.kill()
        summary = rl.stop()
        self.assertGreater(peers.port_totals(summary, "vm0")["rx_packets"], 0)


if __name__ == "__main__":
    report.main("integration_metrics_prometheus")
