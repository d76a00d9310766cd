"""Hand-made gold for the short test reports in ``data/``.

A gold file is the spec's document, except that ``start``/``end`` may be left out: they are
then the offsets of ``text`` in the report (its ``nth`` occurrence, default the first), so
the gold stays readable and cannot drift from the report.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def load(name: str) -> tuple[str, int, list[dict]]:
    text = (DATA / f"{name}.txt").read_text(encoding="utf-8")
    doc = json.loads((DATA / f"{name}.gold.json").read_text(encoding="utf-8"))
    out = []
    for c in doc["commitments"]:
        c = dict(c)
        if "start" not in c:
            pos = -1
            for _ in range(c.pop("nth", 0) + 1):
                pos = text.find(c["text"], pos + 1)
                assert pos >= 0, f"{name}: gold text not in report: {c['text']!r}"
            c["start"], c["end"] = pos, pos + len(c["text"])
        assert text[c["start"] : c["end"]] == c["text"]
        c.setdefault("section", None)
        c.setdefault("indicator", "")
        out.append(c)
    return text, doc["year"], out


def names() -> list[str]:
    return sorted(p.name.removesuffix(".gold.json") for p in DATA.glob("*.gold.json"))
