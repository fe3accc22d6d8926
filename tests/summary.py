#!/usr/bin/env python3
"""Adds up the TAP results of one or more meson build folders into the closing line
"N passed, N failed, N skipped". A test program that printed TAP counts each `ok` / `not ok`
line; one that printed none counts as one case by its meson result. A program that failed
(crash, sanitizer report, timeout) after only `ok` lines adds one failure, so a crash is
never hidden behind earlier passes. Prints the failing names, then the closing line."""
import json
import os
import re
import sys

passed = failed = skipped = 0
failures = []
def tap_counts(text):
    ok = nok = sk = 0
    for l in text.splitlines():
        m = re.match(r"^(not ok|ok)\b\s*\d*\s*-?\s*(.*)$", l)
        if not m:
            continue
        if re.search(r"#\s*(skip|todo)", l, re.I):
            sk += 1
        elif m.group(1) == "ok":
            ok += 1
        else:
            nok += 1
            failures.append(f"{m.group(2)}")
    return ok, nok, sk


for build in sys.argv[1:]:
    if os.path.isfile(build):  # a plain TAP file (e.g. the lint step's output)
        ok, nok, sk = tap_counts(open(build, encoding="utf-8", errors="replace").read())
        passed, failed, skipped = passed + ok, failed + nok, skipped + sk
        continue
    try:
        lines = open(f"{build}/meson-logs/testlog.json", encoding="utf-8").read().splitlines()
    except OSError as e:
        print(f"summary: {e}", file=sys.stderr)
        failed += 1
        failures.append(f"{build}: no test log")
        continue
    for line in lines:
        t = json.loads(line)
        name, result, out = t.get("name", "?"), t.get("result", "FAIL"), t.get("stdout") or ""
        ok = nok = sk = 0
        for l in out.splitlines():
            m = re.match(r"^(not ok|ok)\b\s*\d*\s*-?\s*(.*)$", l)
            if not m:
                continue
            if m.group(1) == "ok":
                if re.search(r"#\s*skip", l, re.I):
                    sk += 1
                else:
                    ok += 1
            else:
                if re.search(r"#\s*todo", l, re.I):
                    sk += 1
                else:
                    nok += 1
                    failures.append(f"{build}: {name}: {m.group(2)}")
        if ok + nok + sk == 0:
            if result in ("OK", "EXPECTEDFAIL"):
                ok = 1
            elif result == "SKIP":
                sk = 1
            else:
                nok = 1
                failures.append(f"{build}: {name}: {result}")
        elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and nok == 0:
            nok = 1
            failures.append(f"{build}: {name}: program ended {result}")
        passed, failed, skipped = passed + ok, failed + nok, skipped + sk
for f in failures:
    print("FAILED:", f)
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
