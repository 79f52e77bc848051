#!/usr/bin/env python3
"""Prints the closing line "N passed, N failed" for a meson test log.

A TAP test counts each of its "ok"/"not ok" lines (a crash after some
cases also counts as one failure); any other test counts once. Exits 1
when anything failed or nothing ran."""
import json
import re
import sys

TAP_LINE = re.compile(r'^(not ok|ok)\b', re.MULTILINE)


def count(entry):
    """(passed, failed) for one meson test log entry."""
    result = entry.get('result', '')
    if result == 'SKIP':
        return 0, 0
    ok = result in ('OK', 'EXPECTEDFAIL')
    marks = TAP_LINE.findall(entry.get('stdout', '') or '')
    if marks:
        passed = sum(1 for m in marks if m == 'ok')
        failed = len(marks) - passed
        if not ok and failed == 0:
            failed = 1  # the binary died after its last case
        return passed, failed
    return (1, 0) if ok else (0, 1)


def main(path):
    passed = failed = 0
    with open(path, encoding='utf-8') as log:
        for line in log:
            line = line.strip()
            if not line:
                continue
            p, f = count(json.loads(line))
            passed += p
            failed += f
    print(f'{passed} passed, {failed} failed')
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
