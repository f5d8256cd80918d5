"""The live switch when the vhost-user backend misbehaves: ringlane killed in the middle of a
switch, ringlane stopped (SIGSTOP) past the VMM's request timeout (and resumed, or never), a
request refused (injected by tests/lib/vhost_user_proxy.py between the VMM and the real
ringlane), and the API asked to switch twice at once. In every case the NIC ends on a backend
that moves frames, the API reports the mode that really serves, the guest goes on to the end of
its run, and its driver sees no buffer completed twice (switch_bench.py)."""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import peers  # noqa: E402
import report  # noqa: E402
from switch_bench import NESTED, SLOW, SwitchBench, elapsed  # noqa: E402
from test_vmm_nic import guest_report  # noqa: E402

FRAMES = 40000 if NESTED else 300000
# For the case that stalls longest and still switches afterwards: under TCG the guest would
# otherwise be done by then.
LONG_FRAMES = 120000 if NESTED else FRAMES
FRONTEND_TIMEOUT = 5.0  # VhostUserFrontend::kTimeout
RELEASE_WAIT = 10.0  # VhostUserNetBackend::kReleaseWait


class BackendFaults(SwitchBench):
    PROXY = True

    def assert_serving(self, mode):
        """The API's mode, and frames moving through that mode's backend (while the guest still
        sends: once it is done, its final counts show whether every frame got through)."""
        self.assertEqual(self.nic()["mode"], mode)
        if mode == "virtio" and self.vmm.alive():
            self.wait_for_tap_traffic(500)

    def finish_clean(self):
        """The guest ran to its end with no buffer completed twice and nothing corrupted."""
        console, got, errors = self.finish()
        given_up = guest_report(console, "ringlane-guest: gave up on")
        print(f"guest got back {got}; device errors {errors}; {given_up}")
        self.assertEqual(errors["total"], 0, console[-3000:])
        self.assertEqual(got["bad"], 0)
        self.assertEqual(got["duplicate"], 0)
        return got

    def test_backend_killed_in_the_middle_of_a_switch(self):
        # Killed after it stopped the transmit ring and before it stops the receive ring.
        def kill():
            self.ringlane.process.send_signal(signal.SIGKILL)
            self.ringlane.process.wait(10)
        rule = self.proxy.add_rule("GET_VRING_BASE", kill, index=0)
        self.start_vmm(FRAMES, give_up=True)
        self.wait_for_tap_traffic(2000)
        self.switch("vhost")
        time.sleep(0.5 * SLOW)
        body = self.switch("virtio")
        self.assertTrue(rule.fired.is_set())
        self.assertFalse(self.ringlane.process.alive())
        print(f"after the kill: {body}")
        self.assert_serving("virtio")
        # Back to vhost cannot work without ringlane: refused, and the TAP keeps serving.
        status, body = self.request_mode("vhost")
        self.assertEqual(status, 400, body)
        self.assertIn(self.vm_sock, body.get("fault_message", ""))
        self.assert_serving("virtio")
        self.finish_clean()

    def test_backend_stopped_past_the_timeout_then_resumed(self):
        self.start_vmm(LONG_FRAMES, give_up=True)
        self.wait_for_tap_traffic(2000)
        self.switch("vhost")
        time.sleep(0.5 * SLOW)
        self.ringlane.process.send_signal(signal.SIGSTOP)
        self.addCleanup(self.ringlane.process.send_signal, signal.SIGCONT)
        answer = {}
        started = time.monotonic()
        put = threading.Thread(target=lambda: answer.update(r=self.request_mode("virtio", 120)))
        put.start()
        # Past the frontend's timeout: the VMM has given up on the request and ended the
        # connection, and waits for ringlane to let go of the rings.
        time.sleep(FRONTEND_TIMEOUT + 1.5)
        self.assertTrue(put.is_alive(), "the switch must not take the rings before ringlane lets go")
        self.ringlane.process.send_signal(signal.SIGCONT)
        put.join(60)
        status, body = answer["r"]
        print(f"switch answered after {elapsed(started):.1f} s: {status} {body}")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["mode"], "virtio")
        self.assert_serving("virtio")
        # ringlane lives on, and serves the card again on a new connection.
        self.assertTrue(self.ringlane.process.alive())
        self.switch("vhost")
        time.sleep(0.5 * SLOW)
        self.switch("virtio")
        self.finish_clean()

    def test_backend_stopped_for_good_keeps_the_rings_until_it_dies(self):
        self.start_vmm(FRAMES, give_up=True)
        self.wait_for_tap_traffic(2000)
        self.switch("vhost")
        time.sleep(0.5 * SLOW)
        self.ringlane.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        status, body = self.request_mode("virtio", 120)
        took = elapsed(started)
        print(f"switch answered after {took:.1f} s: {status} {body}")
        self.assertEqual(status, 400, body)
        self.assertIn("may still use the rings", str(body))
        self.assertGreaterEqual(took, FRONTEND_TIMEOUT + RELEASE_WAIT - 1)
        # The rings stay where they are: the API says so.
        self.assertEqual(self.nic()["mode"], "vhost")
        # Once ringlane is gone the rings are free, and the switch goes through.
        self.ringlane.process.send_signal(signal.SIGKILL)
        self.ringlane.process.wait(10)
        self.switch("virtio")
        self.assert_serving("virtio")
        self.finish_clean()

    def test_backend_refusing_a_request_leaves_nothing_started(self):
        rule = self.proxy.add_rule("SET_VRING_ENABLE", "refuse", index=1)
        self.start_vmm(FRAMES, give_up=True)
        self.wait_for_tap_traffic(2000)
        status, body = self.request_mode("vhost")
        self.assertTrue(rule.fired.is_set())
        print(f"refused: {status} {body}")
        self.assertEqual(status, 400, body)
        self.assertIn("refused SET_VRING_ENABLE", str(body))
        # The receive ring ringlane had started was taken back before the TAP resumed.
        after = self.proxy.requests[self.proxy.requests.index((18, 0)) + 1:]
        self.assertIn((11, 0), after, self.proxy.requests)
        self.assert_serving("virtio")
        # A second try is not refused and goes through.
        self.switch("vhost")
        time.sleep(0.5 * SLOW)
        self.switch("virtio")
        self.assert_serving("virtio")
        self.finish_clean()

    def test_two_switches_at_once(self):
        self.start_vmm(FRAMES, give_up=True)
        self.wait_for_tap_traffic(2000)
        for round_ in range(4):
            answers = []
            threads = [threading.Thread(target=lambda m=m: answers.append(self.request_mode(m)))
                       for m in ("vhost", "virtio", "vhost")]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertEqual([a[0] for a in answers], [200, 200, 200], answers)
            # The last answer is the mode that stayed, and the API reports it.
            self.assertEqual(self.nic()["mode"], answers[-1][1]["mode"], answers)
        self.switch("virtio")
        self.assert_serving("virtio")
        self.finish_clean()


if __name__ == "__main__":
    report.main("integration_vmm_switch_faults", needs_kvm=True)
