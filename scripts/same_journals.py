#!/usr/bin/env python3
"""Compare two runs folders journal by journal, ignoring measured times.

Usage: scripts/same_journals.py BEFORE_DIR AFTER_DIR

A refactoring that must not change behaviour leaves every journal equal
except fields that measure time (device seconds, the calibration, the
normalised cost derived from them) and the build's identity (git revision).
Exits 1 and prints the first difference per journal otherwise.
"""
import json
import pathlib
import sys

TIMING = {"device_seconds", "calibration_seconds", "normalised_search_cost",
          "git_revision"}


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items()
                if k not in TIMING}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def first_difference(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = first_difference(a.get(k), b.get(k), f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def main():
    before, after = map(pathlib.Path, sys.argv[1:3])
    journals = sorted(p.relative_to(before) for p in before.rglob("*.jsonl"))
    bad = 0
    for rel in journals:
        other = after / rel
        if not other.exists():
            print(f"{rel}: missing in {after}")
            bad += 1
            continue
        a = [strip(json.loads(l)) for l in (before / rel).read_text().splitlines()]
        b = [strip(json.loads(l)) for l in other.read_text().splitlines()]
        # Key order too: journals are compared as written, not as sets.
        d = first_difference(a, b) or (
            None if json.dumps(a) == json.dumps(b) else "key order differs")
        if d:
            print(f"{rel}: {d}")
            bad += 1
    print(f"{len(journals)} journals compared, {bad} differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
