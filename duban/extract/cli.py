"""``duban extract REPORT.txt [--year YYYY] [--json] [--score GOLD.json]``."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata

from .engine import ExtractError, Extraction, decode_report, extract
from .score import Score, score

PROG = "duban extract"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like argparse but without usage noise
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Extract the commitments (targets and reported results) from a work report.",
    )
    p.add_argument("report", metavar="REPORT.txt", help="the report, UTF-8 plain text")
    p.add_argument("--year", metavar="YYYY", help="plan year (default: inferred from the text)")
    p.add_argument("--json", action="store_true", help="print the spec's JSON document only")
    p.add_argument(
        "--score", metavar="GOLD.json", help="compare with a gold file and print the figures"
    )
    return p


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int) -> str:
    return s + " " * max(0, width - _width(s))


def _fmt_value(c: dict) -> str:
    if c["value"] is None:
        return ""
    v = f"{c['value']:,}" if isinstance(c["value"], int) else f"{c['value']:g}"
    if c["upper"] is not None:
        u = f"{c['upper']:,}" if isinstance(c["upper"], int) else f"{c['upper']:g}"
        v = f"{v}–{u}"
    return v


_COMPARATOR_SIGN = {
    "eq": "=",
    "ge": "≥",
    "gt": ">",
    "le": "≤",
    "lt": "<",
    "between": "∈",
    "about": "≈",
}


def _table(ex: Extraction) -> str:
    rows = [("stance", "year", "section", "indicator", "cmp", "value", "unit", "deadline", "text")]
    for c in ex.to_dict()["commitments"]:
        text = " ".join(c["text"].split())
        rows.append(
            (
                c["stance"],
                str(c["year"]),
                (c["section"] or "-")[:16],
                c["indicator"] or "-",
                _COMPARATOR_SIGN.get(c["comparator"], "") if c["comparator"] else c["measure"],
                _fmt_value(c),
                c["unit"] or "",
                c["deadline"] or "",
                text if len(text) <= 40 else text[:39] + "…",
            )
        )
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for r in rows:
        lines.append("  ".join(_pad(r[i], widths[i]) for i in range(len(widths))) + "  " + r[-1])
    lines.append(f"\nplan year {ex.year}: {len(ex.commitments)} commitments")
    return "\n".join(lines)


def _brief(c: dict) -> str:
    v = _fmt_value(c)
    what = f"{c.get('comparator') or ''} {v} {c.get('unit') or ''}".strip() or "milestone"
    return f"  [{c['start']}:{c['end']}] {c['stance']} {what}  {' '.join(str(c.get('text', '')).split())}"


def _score_report(sc: Score) -> str:
    out = [sc.summary()]
    out.append(f"misses ({len(sc.misses)}):")
    out += [_brief(c) for c in sc.misses]
    out.append(f"false alarms ({len(sc.false_alarms)}):")
    out += [_brief(c) for c in sc.false_alarms]
    if sc.milestone_misses or sc.milestone_false_alarms:
        out.append(f"milestone misses ({len(sc.milestone_misses)}):")
        out += [_brief(c) for c in sc.milestone_misses]
        out.append(f"milestone false alarms ({len(sc.milestone_false_alarms)}):")
        out += [_brief(c) for c in sc.milestone_false_alarms]
    wrong = [
        (k, p, g)
        for p, g in sc.matched + sc.milestones_matched
        for k in ("measure", "comparator", "deadline")
        if p[k] != g[k]
    ]
    if wrong:
        out.append(f"wrong fields ({len(wrong)}):")
        out += [f"  {k}: {p[k]} (gold {g[k]})  {' '.join(p['text'].split())}" for k, p, g in wrong]
    return "\n".join(out)


def _load_gold(path: str) -> tuple[list[dict], int | None]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ExtractError(f"cannot read gold file {path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExtractError(f"gold file {path} is not valid JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("commitments"), list):
        y = doc.get("year")
        return doc["commitments"], y if isinstance(y, int) else None
    if isinstance(doc, list):
        return doc, None
    raise ExtractError(f"gold file {path} has no list of commitments")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    year: int | None = None
    if args.year is not None:
        if not (args.year.isascii() and args.year.isdigit() and 1900 <= int(args.year) <= 2200):
            return _fail(f"bad year {args.year!r}: expected a year such as 2022")
        year = int(args.year)
    try:
        try:
            with open(args.report, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return _fail(f"no such file: {args.report}")
        except IsADirectoryError:
            return _fail(f"{args.report} is a directory, not a report")
        except OSError as exc:
            return _fail(f"cannot read {args.report}: {exc.strerror or exc}")
        text = decode_report(data)
        gold = _load_gold(args.score) if args.score else None
        ex = extract(text, year)
        if not ex.commitments:
            return _fail(f"no commitment found in {args.report}")
        if gold is not None:
            sc = score([c.to_dict() for c in ex.commitments], gold[0])
            sys.stdout.write(_score_report(sc) + "\n")
            return 0
        if args.json:
            doc = json.dumps(ex.to_dict(), ensure_ascii=False, indent=2) + "\n"
            sys.stdout.buffer.write(doc.encode("utf-8"))
            sys.stdout.flush()
        else:
            sys.stdout.write(_table(ex) + "\n")
    except ExtractError as exc:
        return _fail(str(exc).splitlines()[0] if str(exc) else "extraction failed")
    except (RecursionError, MemoryError):
        return _fail("the report is too large or too deeply nested to read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
