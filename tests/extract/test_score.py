"""The scorer on small hand-made cases."""

from __future__ import annotations

import pytest

from duban.extract import ExtractError, score


def c(start, end, value, unit="家", stance="target", measure="level", comparator="eq",
      upper=None, deadline="2022-12-31"):  # fmt: skip
    return {
        "stance": stance,
        "year": 2022,
        "section": None,
        "indicator": "",
        "text": "x" * (end - start),
        "start": start,
        "end": end,
        "measure": measure,
        "comparator": comparator,
        "value": value,
        "upper": upper,
        "unit": unit,
        "deadline": deadline,
    }


def ms(start, end, deadline):
    return c(start, end, None, unit=None, measure="milestone", comparator=None, deadline=deadline)


def test_perfect():
    gold = [c(0, 10, 80), c(11, 20, 8, unit="%", measure="growth")]
    sc = score(gold, gold)
    assert (sc.precision, sc.recall, sc.f1) == (1.0, 1.0, 1.0)
    assert (sc.measure_accuracy, sc.comparator_accuracy, sc.deadline_accuracy) == (1, 1, 1)
    assert sc.misses == [] and sc.false_alarms == [] and len(sc.matched) == 2


def test_match_needs_stance_unit_value_and_overlap():
    g = c(10, 20, 1500, unit="人")
    assert len(score([c(15, 25, 1500, unit="人")], [g]).matched) == 1  # overlaps
    assert score([c(20, 30, 1500, unit="人")], [g]).matched == []  # touches only: [10,20) [20,30)
    assert score([c(10, 20, 1500, unit="个")], [g]).matched == []
    assert score([c(10, 20, 1500, unit="人", stance="actual")], [g]).matched == []
    assert score([c(10, 20, 1502, unit="人")], [g]).matched == []  # 0.13 % off
    assert len(score([c(10, 20, 1501, unit="人")], [g]).matched) == 1  # 0.07 % off


def test_value_tolerance_is_relative():
    g = c(0, 5, 140000000000, unit="元")
    assert len(score([c(0, 5, 140100000000, unit="元")], [g]).matched) == 1
    assert score([c(0, 5, 140200000000, unit="元")], [g]).matched == []
    g = c(0, 5, 33.33, unit="%", measure="share")
    assert len(score([c(0, 5, 33.3333, unit="%", measure="share")], [g]).matched) == 1


def test_upper_must_agree_too():
    g = c(0, 9, 25, upper=30, comparator="between")
    assert len(score([c(0, 9, 25, upper=30, comparator="between")], [g]).matched) == 1
    assert score([c(0, 9, 25, upper=35, comparator="between")], [g]).matched == []
    assert score([c(0, 9, 25)], [g]).matched == []


def test_one_to_one():
    gold = [c(0, 10, 10), c(0, 10, 10)]
    sc = score([c(0, 10, 10)], gold)
    assert (sc.precision, sc.recall) == (1.0, 0.5)
    assert len(sc.misses) == 1
    sc = score([c(0, 10, 10)] * 3, gold)
    assert (sc.precision, sc.recall) == (pytest.approx(2 / 3), 1.0)
    assert len(sc.false_alarms) == 1


def test_maximum_matching_is_found():
    # a greedy pairing of p1 with g1 would leave g2 unmatched
    p1, p2 = c(0, 20, 5), c(15, 30, 5)
    g1, g2 = c(10, 25, 5), c(0, 8, 5)
    sc = score([p1, p2], [g1, g2])
    assert (sc.precision, sc.recall) == (1.0, 1.0)


def test_field_accuracies_over_matched_pairs():
    gold = [c(0, 5, 80, comparator="ge"), c(6, 9, 8, unit="%", measure="growth"), c(10, 12, 3)]
    pred = [
        c(0, 5, 80, comparator="eq"),
        c(6, 9, 8, unit="%", measure="share", deadline="2022-06-30"),
        c(50, 60, 7),  # a false alarm does not count towards accuracies
    ]
    sc = score(pred, gold)
    assert (sc.precision, sc.recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert sc.f1 == pytest.approx(2 / 3)
    assert sc.measure_accuracy == 0.5
    assert sc.comparator_accuracy == 0.5
    assert sc.deadline_accuracy == 0.5


def test_milestones_are_matched_by_span_and_scored_on_deadline():
    gold = [c(0, 5, 80), ms(10, 20, "2022-03-10"), ms(30, 40, "2022-06-30")]
    pred = [
        c(0, 5, 80),
        ms(12, 18, "2022-03-10"),
        ms(31, 35, "2022-12-31"),
        ms(60, 70, "2022-12-31"),
    ]
    sc = score(pred, gold)
    # precision/recall count figures only
    assert (sc.precision, sc.recall) == (1.0, 1.0)
    assert len(sc.milestones_matched) == 2
    assert len(sc.milestone_false_alarms) == 1
    assert sc.deadline_accuracy == pytest.approx(2 / 3)  # 1 figure + 2 milestones, one wrong


def test_empty_cases():
    sc = score([], [])
    assert (sc.precision, sc.recall, sc.f1) == (1.0, 1.0, 1.0)
    sc = score([], [c(0, 5, 1)])
    assert (sc.precision, sc.recall, sc.f1) == (0.0, 0.0, 0.0)
    sc = score([c(0, 5, 1)], [])
    assert (sc.precision, sc.recall) == (0.0, 1.0)


@pytest.mark.parametrize(
    "bad",
    [
        "not a list",
        [1, 2],
        [{"stance": "target"}],
        [dict(c(0, 5, 1), start="0")],
        [dict(c(0, 5, 1), value="80")],
    ],
)
def test_malformed_input_is_a_clear_error(bad):
    with pytest.raises(ExtractError):
        score(bad, [])
    with pytest.raises(ExtractError):
        score([], bad)
