"""The issue's acceptance numbers on the shared fixture, scored with our own scorer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from duban.extract import extract, score

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures"
NAME = "zhengdong_2022_work_conference"
# The project carries copies (the report for the demo, the gold for this test), so that a
# clone away from ../shared is still scored; when ../shared is there, it is the source.
OWN_TXT = ROOT / "duban" / "demo_data" / f"{NAME}.txt"
OWN_GOLD = ROOT / "tests" / "extract" / "fixture" / f"{NAME}.gold.json"


def _fixture_paths() -> tuple[Path, Path]:
    txt, gold = FIXTURES / f"{NAME}.txt", FIXTURES / f"{NAME}.gold.json"
    if txt.exists() and gold.exists():
        return txt, gold
    return OWN_TXT, OWN_GOLD


def test_carried_copies_match_the_shared_fixture():
    if not (FIXTURES / f"{NAME}.gold.json").exists():
        pytest.skip(f"shared fixtures not present at {FIXTURES}")
    assert OWN_TXT.read_bytes() == (FIXTURES / f"{NAME}.txt").read_bytes()
    assert OWN_GOLD.read_bytes() == (FIXTURES / f"{NAME}.gold.json").read_bytes()


@pytest.fixture(scope="module")
def scored():
    txt, gold = _fixture_paths()
    if not (txt.exists() and gold.exists()):
        if os.environ.get("CI"):
            pytest.fail(f"fixture missing in CI: {txt}")
        pytest.skip(f"fixtures not present at {txt.parent}")
    doc = json.loads(gold.read_text(encoding="utf-8"))
    ex = extract(txt.read_text(encoding="utf-8"))
    assert ex.year == doc["year"]
    return score([c.to_dict() for c in ex.commitments], doc["commitments"])


def test_precision_and_recall(scored):
    assert scored.precision >= 0.97, scored.false_alarms
    assert scored.recall >= 0.97, scored.misses


def test_field_accuracy(scored):
    assert scored.measure_accuracy >= 0.95
    assert scored.comparator_accuracy >= 0.95
    assert scored.deadline_accuracy >= 0.95


def test_offsets_slice_back():
    txt = FIXTURES / f"{NAME}.txt"
    if not txt.exists():
        txt = ROOT / "duban" / "demo_data" / f"{NAME}.txt"
    text = txt.read_text(encoding="utf-8")
    for c in extract(text).commitments:
        assert text[c.start : c.end] == c.text
