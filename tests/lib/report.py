"""Runs a unittest module and writes a GoogleTest-style JSON report, so the suite's closing line
counts Python integration test cases the same way it counts GoogleTest cases."""
import json
import os
import sys
import time
import unittest


class _Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []
        self._start = 0

    def startTest(self, test):
        self._start = time.monotonic()
        super().startTest(test)

    def _record(self, test, failure=None, skipped=False):
        self.cases.append({
            "name": test._testMethodName,
            "classname": type(test).__name__,
            "time": f"{time.monotonic() - self._start:.3f}s",
            "result": "SKIPPED" if skipped else "COMPLETED",
            **({"failures": [{"failure": failure}]} if failure else {}),
        })

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, skipped=True)


def main(report_name, needs_kvm=False):
    """unittest.main() replacement: runs the caller's tests, writes the report, exits. Tests that
    need /dev/kvm run in a QEMU TCG guest that has it when this machine does not."""
    if needs_kvm:
        import nested_kvm  # noqa: E402 (tests/lib is on the caller's path)
        nested_kvm.reexec_with_kvm()
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    if len(sys.argv) > 1:
        suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:], module)
    runner = unittest.TextTestRunner(resultclass=_Recorder, verbosity=2, stream=sys.stdout)
    result = runner.run(suite)
    reports = os.environ.get("RINGLANE_TEST_REPORTS")
    if reports:
        os.makedirs(reports, exist_ok=True)
        by_class = {}
        for case in result.cases:
            by_class.setdefault(case["classname"], []).append(case)
        doc = {"testsuites": [{"name": k, "testsuite": v} for k, v in by_class.items()]}
        with open(os.path.join(reports, report_name + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
    sys.exit(0 if result.wasSuccessful() else 1)
