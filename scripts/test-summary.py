#!/usr/bin/env python3
"""Prints the three counts 'PASSED FAILED SKIPPED' from meson's testlog.json files.

.ci/run turns them into its closing line.

Counts TAP results inside each test program (a gtest program holds many
tests), so a KVM test skipped on a host without /dev/kvm counts as skipped,
not as part of a passing program.  A program that failed without a failing
TAP line (crash, timeout, bad TAP) counts as one failure.
"""
import json
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b(.*)$')


def count(path, totals):
    try:
        lines = open(path, encoding='utf-8', errors='replace').read().splitlines()
    except OSError as e:
        print(f'test-summary: {path}: {e.strerror}', file=sys.stderr)
        totals['failed'] += 1
        return
    for line in lines:
        if not line.strip():
            continue
        rec = json.loads(line)
        passed = failed = skipped = 0
        for out in (rec.get('stdout') or '').splitlines():
            m = TAP_LINE.match(out.strip())
            if not m:
                continue
            rest = m.group(2)
            if m.group(1) == 'not ok':
                if re.search(r'#\s*TODO', rest, re.I):
                    continue
                failed += 1
            elif re.search(r'#\s*SKIP', rest, re.I):
                skipped += 1
            else:
                passed += 1
        result = rec.get('result', '')
        if result in ('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS') and failed == 0:
            failed = 1
        if passed + failed + skipped == 0:
            if result == 'SKIP':
                skipped = 1
            elif result == 'OK':
                passed = 1
        totals['passed'] += passed
        totals['failed'] += failed
        totals['skipped'] += skipped


def main():
    totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    for path in sys.argv[1:]:
        count(path, totals)
    print(totals['passed'], totals['failed'], totals['skipped'])
    return 1 if totals['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
