#!/usr/bin/env python3
"""Score scanner findings against the corpus ground truth.

usage: score.py TRUTH.jsonl TOOL=FINDINGS.jsonl[:SPEED_JSON] ...
Findings carry "detector" (airlock) or "type" (others), and "start"/"end" when the tool
reports positions. Types are mapped to the six planted kinds; findings of other types are
ignored (counted as "other"). Span scoring: a planted value is recalled when a finding of
its kind overlaps it; a finding is correct when it overlaps a planted value of its kind.
Tools without positions are scored on unique values (found values vs planted values).
"""
import json
import sys
from collections import defaultdict

MAP = {
    # airlock
    "pii.email": "EMAIL", "pii.phone": "PHONE", "pii.ssn": "SSN",
    "pii.credit_card": "CREDIT_CARD", "pii.iban": "IBAN", "pii.ipv4": "IPV4",
    # openredaction
    "EMAIL": "EMAIL", "PHONE_US": "PHONE", "PHONE_INTERNATIONAL": "PHONE", "PHONE": "PHONE",
    "PHONE_UK": "PHONE", "PHONE_UK_MOBILE": "PHONE", "SSN": "SSN", "CREDIT_CARD": "CREDIT_CARD",
    "IBAN": "IBAN", "IPV4": "IPV4",
    # guardrails
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "US_SSN": "SSN", "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IPV4",
}
KINDS = ["EMAIL", "PHONE", "SSN", "CREDIT_CARD", "IBAN", "IPV4"]


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def prf(tp_r, n_truth, tp_p, n_found):
    r = tp_r / n_truth if n_truth else 1.0
    p = tp_p / n_found if n_found else 1.0
    return r, p


def score_spans(truth, found):
    by_kind = defaultdict(list)
    for t in truth:
        by_kind[t["type"]].append((t["start"], t["end"]))
    res = {}
    for k in KINDS:
        ts = sorted(by_kind[k])
        fs = sorted((f["start"], f["end"]) for f in found if f["kind"] == k)
        hit_t, hit_f = set(), 0
        j = 0
        for fs_, fe in fs:
            ok = False
            # truths are sorted and disjoint: scan the ones that may overlap
            while j < len(ts) and ts[j][1] <= fs_:
                j += 1
            jj = j
            while jj < len(ts) and ts[jj][0] < fe:
                ok = True
                hit_t.add(jj)
                jj += 1
            hit_f += ok
        res[k] = (len(hit_t), len(ts), hit_f, len(fs))
    return res


def score_values(truth, found):
    res = {}
    for k in KINDS:
        tv = {t["value"] for t in truth if t["type"] == k}
        fv = {f["value"].strip() for f in found if f["kind"] == k}
        res[k] = (len(tv & fv), len(tv), len(fv & tv), len(fv))
    return res


def main():
    truth = load(sys.argv[1])
    rows = []
    for arg in sys.argv[2:]:
        name, rest = arg.split("=", 1)
        path, _, speed = rest.partition(":")
        found = load(path)
        other = 0
        for f in found:
            f["kind"] = MAP.get(f.get("detector") or f.get("type"), None)
            other += f["kind"] is None
        found = [f for f in found if f["kind"]]
        spans = all("start" in f for f in found)
        res = score_spans(truth, found) if spans else score_values(truth, found)
        sp = json.loads(speed) if speed else {}
        tot = [sum(v[i] for v in res.values()) for i in range(4)]
        r, p = prf(*tot)
        rows.append((name, sp.get("mb_per_s"), r, p, "spans" if spans else "values", res, other))
    print("| tool | MB/s (1 core) | recall | precision | scored on | ignored other-type findings |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    for name, mbs, r, p, how, res, other in rows:
        print(f"| {name} | {mbs if mbs is not None else '-'} | {r:.4f} | {p:.4f} | {how} | {other} |")
    print()
    print("| kind | " + " | ".join(f"{n} R / P" for n, *_ in rows) + " |")
    print("| --- |" + " ---: |" * len(rows))
    for k in KINDS:
        cells = []
        for *_, res, _o in rows:
            r, p = prf(*res[k])
            cells.append(f"{r:.3f} / {p:.3f}")
        print(f"| {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
