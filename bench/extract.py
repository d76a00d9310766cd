"""Extraction speed: the fixture report repeated to ~1 MB, read on one core.

    python bench/extract.py [--mb 1.0] [--runs 3]

Prints characters per second and MB/s (UTF-8 bytes of input per second).  Uses
../shared/fixtures/zhengdong_2022_work_conference.txt when present, else the copy in
duban/demo_data/.  The target is >= 1 MB/s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from duban.extract import extract  # noqa: E402

NAME = "zhengdong_2022_work_conference.txt"
CANDIDATES = [ROOT.parent / "shared" / "fixtures" / NAME, ROOT / "duban" / "demo_data" / NAME]


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/extract.py")
    ap.add_argument("--mb", type=float, default=1.0, help="input size in MB (default 1)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs; the best is reported")
    args = ap.parse_args()
    path = next((p for p in CANDIDATES if p.exists()), None)
    if path is None:
        print("bench/extract.py: error: fixture report not found", file=sys.stderr)
        return 2
    base = path.read_text(encoding="utf-8")
    target = int(args.mb * 1_000_000)
    reps = max(1, -(-target // len(base.encode("utf-8"))))
    text = "\n\n".join([base] * reps)
    nbytes = len(text.encode("utf-8"))
    extract(base)  # warm up (imports, caches of the regex engine)
    best = float("inf")
    count = 0
    for _ in range(max(1, args.runs)):
        t0 = time.perf_counter()
        ex = extract(text)
        best = min(best, time.perf_counter() - t0)
        count = len(ex.commitments)
    print(f"input: {path.name} x{reps} = {len(text):,} characters, {nbytes / 1e6:.2f} MB")
    print(f"commitments: {count} (repeated passages are counted once)")
    print(f"best of {args.runs}: {best:.3f} s")
    print(f"{len(text) / best:,.0f} characters/s, {nbytes / 1e6 / best:.2f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
