#!/usr/bin/env python3
"""Prints the suite's closing line, 'N passed, N failed', from Meson test logs.

GoogleTest binaries and the Python integration tests are counted per test case (from their JSON
reports); fuzz targets count as one each. Exit status is 1 if anything failed."""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--reports", required=True)
    args = ap.parse_args()
    passed = failed = skipped = 0
    for log in args.logs:
        if not os.path.exists(log):
            print(f"missing test log {log}", file=sys.stderr)
            failed += 1
            continue
        for line in open(log):
            entry = json.loads(line)
            # Meson names tests "project:suite / name"; reports are named after the bare name.
            name = entry["name"].split(" / ")[-1]
            result = entry["result"]
            suite = entry["name"].split(" / ")[0]
            report = os.path.join(args.reports, name + ".json")
            if os.path.exists(report):
                data = json.load(open(report))
                for suite in data.get("testsuites", []):
                    for case in suite.get("testsuite", []):
                        if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                            skipped += 1
                        elif case.get("failures"):
                            failed += 1
                            print(f"FAILED {name}: {suite['name']}.{case['name']}")
                        else:
                            passed += 1
                # A crash after the report was written still fails the binary.
                if result not in ("OK", "EXPECTEDFAIL", "SKIP"):
                    failed += 1
                    print(f"FAILED {name}: exited with {result}")
                continue
            if suite.endswith(":unit") or suite.endswith(":integration"):
                # These always write a report; without one, their cases went uncounted.
                failed += 1
                print(f"FAILED {name}: no test report at {report} ({result})")
                continue
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED {name}: {result}")
    tail = f", {skipped} skipped" if skipped else ""
    print(f"{passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
