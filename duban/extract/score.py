"""The scorer: how close predicted commitments are to a hand-made gold list.

As the spec's "How accuracy is scored": a predicted commitment matches a gold one when
stance and unit are equal, value (and upper) agree within 0.1 %, and the two
``[start, end)`` spans overlap.  Pairs are matched one to one (a maximum matching, so a
clause holding two equal figures cannot steal both).  Precision, recall and F1 count the
commitments that have a figure; over the matched pairs the share with the right measure,
comparator and deadline is reported.  Milestones (no figure) are matched by overlapping
span and stance, and count only towards the deadline accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .engine import ExtractError

_REQUIRED = (
    "stance",
    "start",
    "end",
    "measure",
    "comparator",
    "value",
    "upper",
    "unit",
    "deadline",
)
TOLERANCE = 0.001


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    measure_accuracy: float
    comparator_accuracy: float
    deadline_accuracy: float
    misses: list[dict] = field(default_factory=list)
    false_alarms: list[dict] = field(default_factory=list)
    matched: list[tuple[dict, dict]] = field(default_factory=list)  # (predicted, gold)
    milestones_matched: list[tuple[dict, dict]] = field(default_factory=list)
    milestone_misses: list[dict] = field(default_factory=list)
    milestone_false_alarms: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}\n"
            f"measure {self.measure_accuracy:.4f}  comparator {self.comparator_accuracy:.4f}  "
            f"deadline {self.deadline_accuracy:.4f}  (over {len(self.matched)} matched figures"
            f" and {len(self.milestones_matched)} matched milestones)"
        )


def _check(items: list[dict], what: str) -> None:
    if not isinstance(items, list):
        raise ExtractError(f"{what}: expected a list of commitments")
    for i, c in enumerate(items):
        if not isinstance(c, dict):
            raise ExtractError(f"{what}: commitment {i} is not an object")
        missing = [k for k in _REQUIRED if k not in c]
        if missing:
            raise ExtractError(f"{what}: commitment {i} lacks {', '.join(missing)}")
        if not isinstance(c["start"], int) or not isinstance(c["end"], int):
            raise ExtractError(f"{what}: commitment {i} has non-integer start/end")
        for k in ("value", "upper"):
            v = c[k]
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                raise ExtractError(f"{what}: commitment {i} has a non-numeric {k}")


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    return abs(a - b) <= TOLERANCE * max(abs(a), abs(b))


def _overlap(p: dict, g: dict) -> bool:
    return p["start"] < g["end"] and g["start"] < p["end"]


def is_milestone(c: dict) -> bool:
    return c.get("measure") == "milestone" or c.get("value") is None


def _figure_match(p: dict, g: dict) -> bool:
    return (
        p["stance"] == g["stance"]
        and p["unit"] == g["unit"]
        and _close(p["value"], g["value"])
        and _close(p["upper"], g["upper"])
        and _overlap(p, g)
    )


def _milestone_match(p: dict, g: dict) -> bool:
    return p["stance"] == g["stance"] and _overlap(p, g)


def _max_matching(preds: list[dict], golds: list[dict], ok) -> list[tuple[int, int]]:
    """Maximum one-to-one matching (Kuhn's augmenting paths); candidates are tried in order
    of how much their spans overlap, so the natural pairing is preferred."""
    cand: list[list[int]] = []
    for g in golds:
        js = [j for j, p in enumerate(preds) if ok(p, g)]
        js.sort(
            key=lambda j: -(min(preds[j]["end"], g["end"]) - max(preds[j]["start"], g["start"]))
        )
        cand.append(js)
    owner: dict[int, int] = {}  # pred index -> gold index

    def augment(gi: int, seen: set[int]) -> bool:
        for j in cand[gi]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = gi
                return True
        return False

    for gi in range(len(golds)):
        if cand[gi]:
            augment(gi, set())
    return sorted(((gi, j) for j, gi in owner.items()), key=lambda t: golds[t[0]]["start"])


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def score(predicted: list[dict], gold: list[dict]) -> Score:
    """Compare predicted commitments (dicts as in the spec) with the gold ones."""
    _check(predicted, "predicted")
    _check(gold, "gold")
    pf = [c for c in predicted if not is_milestone(c)]
    gf = [c for c in gold if not is_milestone(c)]
    pm = [c for c in predicted if is_milestone(c)]
    gm = [c for c in gold if is_milestone(c)]

    pairs = _max_matching(pf, gf, _figure_match)
    matched = [(pf[j], gf[gi]) for gi, j in pairs]
    got_p = {j for _, j in pairs}
    got_g = {gi for gi, _ in pairs}
    mpairs = _max_matching(pm, gm, _milestone_match)
    mmatched = [(pm[j], gm[gi]) for gi, j in mpairs]

    tp = len(matched)
    # nothing predicted: precision is 1 only if there was nothing to find; nothing to find:
    # recall is 1 (nothing was missed)
    precision = _ratio(tp, len(pf)) if pf else (0.0 if gf else 1.0)
    recall = _ratio(tp, len(gf))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    measure_ok = sum(p["measure"] == g["measure"] for p, g in matched)
    comp_ok = sum(p["comparator"] == g["comparator"] for p, g in matched)
    dl_pairs = matched + mmatched
    dl_ok = sum(p["deadline"] == g["deadline"] for p, g in dl_pairs)
    return Score(
        precision=precision,
        recall=recall,
        f1=f1,
        measure_accuracy=_ratio(measure_ok, len(matched)),
        comparator_accuracy=_ratio(comp_ok, len(matched)),
        deadline_accuracy=_ratio(dl_ok, len(dl_pairs)),
        misses=[g for i, g in enumerate(gf) if i not in got_g],
        false_alarms=[p for j, p in enumerate(pf) if j not in got_p],
        matched=matched,
        milestones_matched=mmatched,
        milestone_misses=[g for i, g in enumerate(gm) if i not in {gi for gi, _ in mpairs}],
        milestone_false_alarms=[p for j, p in enumerate(pm) if j not in {jj for _, jj in mpairs}],
    )
