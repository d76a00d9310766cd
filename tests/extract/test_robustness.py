"""Any input gives a result or a clear ExtractError, never another exception; offsets always
slice back to the text; and the time is linear (no catastrophic regex backtracking)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duban.extract import ExtractError, decode_report, extract

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# pieces of the genre, so that random text also reaches the deep paths of the engine
PIECES = [
    "2021年", "2022年", "到2025年", "去年", "今年", "过去一年", "主要预期目标:", "(一)", "一、",
    "完成", "增长", "下降", "提高", "由", "增至", "从", "分别", "等", "、", ",", ";", "。", ":",
    "\n", "\n\n", " ", "**", "“", "”", "(", ")", "1400", "1.6", "4.5", "1/3", "三分之一", "四成",
    "两千", "一", "三", "万", "亿", "亿元", "万平方米", "%", "个百分点", "家", "个", "人次",
    "至", "-", "以上", "以下", "以内", "左右", "近", "约", "余", "多", "突破", "不少于", "至少",
    "超", "第", "连续", "预计", "6月底前", "三季度前", "3月上旬", "年底前", "年内", "上半年",
    "三年内", "开工", "建成", "投用", "翻番", "倍", "级", "以上的", "项目", "指标", "方向",
]  # fmt: skip
genre_text = st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=60).map("".join)


def check(text: str, year: int | None) -> None:
    try:
        ex = extract(text, year)
    except ExtractError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg
        return
    assert isinstance(ex.year, int)
    for c in ex.commitments:
        assert text[c.start : c.end] == c.text
        assert 0 <= c.start < c.end <= len(text)
        assert c.stance in ("target", "actual")
        assert c.measure in ("level", "growth", "share", "milestone")
        if c.measure == "milestone":
            assert c.value is None and c.comparator is None and c.unit is None
        else:
            assert isinstance(c.value, int | float) and not isinstance(c.value, bool)
            assert c.comparator in ("eq", "ge", "gt", "le", "lt", "between", "about")
            assert (c.upper is not None) == (c.comparator == "between")
        assert (c.deadline is None) == (c.stance == "actual")


@FAST
@given(st.text(max_size=300), st.none() | st.integers(min_value=1900, max_value=2200))
def test_any_unicode_text(text, year):
    check(text, year)


@FAST
@given(genre_text, st.none() | st.just(2022))
def test_text_made_of_report_pieces(text, year):
    check(text, year)


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_clear_error(data):
    try:
        text = decode_report(data)
    except ExtractError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert text.strip()
    check(text, None)


@pytest.mark.parametrize("text", ["", " ", "\n\n\t", "\u3000\u3000"])
def test_empty_text_is_a_clear_error(text):
    with pytest.raises(ExtractError, match="empty"):
        extract(text, 2022)


@pytest.mark.parametrize(
    "data", [b"\xff\xfe\x00\x00", "地区生产总值".encode("gbk"), b"\xef\xbb\xbf", b"a\x00b"]
)
def test_non_utf8_bytes_are_a_clear_error(data):
    with pytest.raises(ExtractError):
        decode_report(data)


def test_bom_is_removed():
    assert decode_report(b"\xef\xbb\xbf2022\xe5\xb9\xb4") == "2022年"


def test_non_text_argument():
    with pytest.raises(ExtractError):
        extract(b"2022", 2022)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "unit, megabytes",
    [
        ("新增停车位6000个,同比增长8%;推动金融岛3月上旬正式开岛。\n", 5),  # report text
        ("一二三四五六七八九十" * 100, 5),  # numeral soup: one 5 MB numeral
        ("1" * 1000 + "\n", 1),  # one long number
        ("。" * 500, 1),  # only punctuation
        ("、" * 300 + "新增1个", 1),  # a list that never ends
        ("“" * 400 + "1%", 1),  # quotes that never close
        ("a" * 1000, 1),  # one long line without CJK
    ],
)
def test_huge_text_is_linear(unit, megabytes):
    # far beyond any report, to show there is no super-linear path
    size = megabytes * 1_000_000
    text = "2022年工作安排\n" + unit * (size // len(unit.encode("utf-8")) + 1)
    assert len(text.encode("utf-8")) >= size
    t0 = time.perf_counter()
    ex = extract(text)
    elapsed = time.perf_counter() - t0
    assert elapsed < 4 * megabytes, elapsed  # >= 0.25 MB/s even on a slow CI core
    for c in ex.commitments[:1000]:
        assert text[c.start : c.end] == c.text


def test_many_figures_in_one_endless_clause():
    text = "2022年工作安排\n" + "、新增1个" * 20_000
    t0 = time.perf_counter()
    ex = extract(text)
    assert time.perf_counter() - t0 < 20
    assert len(ex.commitments) == 20_000
    c = ex.commitments[-1]
    assert text[c.start : c.end] == c.text
