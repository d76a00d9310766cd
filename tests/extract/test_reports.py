"""Short hand-made reports in the genre (data/*.txt) scored against hand-made gold.

Each is built to exercise the constructs the issue lists; every gold figure must be found
with the right fields, and nothing else may be reported.
"""

from __future__ import annotations

import pytest

from duban.extract import extract, score

from .goldutil import load, names


@pytest.mark.parametrize("name", names())
def test_report_matches_gold_exactly(name):
    text, year, gold = load(name)
    ex = extract(text)
    assert ex.year == year
    predicted = [c.to_dict() for c in ex.commitments]
    sc = score(predicted, gold)
    assert [c["text"] for c in sc.misses] == []
    assert [c["text"] for c in sc.false_alarms] == []
    assert [c["text"] for c in sc.milestone_misses] == []
    assert [c["text"] for c in sc.milestone_false_alarms] == []
    wrong = [
        (k, p[k], g[k], g["text"])
        for p, g in sc.matched + sc.milestones_matched
        for k in ("measure", "comparator", "deadline", "year")
        if p[k] != g[k]
    ]
    assert wrong == []


@pytest.mark.parametrize("name", names())
def test_report_offsets_slice_back(name):
    text, _, _ = load(name)
    for c in extract(text).commitments:
        assert text[c.start : c.end] == c.text
