"""Quantity grammar: figures with their comparator, range, magnitude and unit.

A *figure* is what a report writes to state an amount: ``1400亿元``, ``突破1500人``,
``25至30家``, ``200亿至300亿元``, ``4.5万家以上``, ``350余项``, ``近1/3``, ``三分之一``,
``六成以上``, ``至少建成一家``.  :data:`FIGURE_RE` finds them in text from which
whitespace and markup have already been removed and full-width forms folded to
half-width (see :mod:`duban.extract.engine`); :func:`read_figure` turns a match into a
:class:`Quantity` in base units.

Chinese numerals are valued with ``cn2an``; the comparator table, the unit table and the
way a range carries its magnitude and unit across ``至`` are ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# --------------------------------------------------------------------------- numerals

CN_NUM_CHARS = "零〇一二两三四五六七八九十百千"
_CN_START = "一二两三四五六七八九十"
# A Chinese numeral: starts with a digit word (not 百/千 alone: 百姓, 千家万户), may hold an
# inner 万 when more numeral follows (三万五千).
# bounded, and never starting inside another numeral, so that a long run of numeral
# characters costs linear time
CN_NUM = (
    rf"(?<![{CN_NUM_CHARS}])(?:[{_CN_START}][{CN_NUM_CHARS}]{{0,8}}(?:万[{CN_NUM_CHARS}]{{1,6}})?"
    rf"|[百千](?=万|亿))"
)
AR_NUM = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]++(?:\.[0-9]++)?"
NUM = rf"(?:{AR_NUM}|{CN_NUM})"

MAGNITUDES = {
    "万亿": Decimal(10) ** 12,
    "千万": Decimal(10) ** 7,
    "百万": Decimal(10) ** 6,
    "亿": Decimal(10) ** 8,
    "万": Decimal(10) ** 4,
}
MAG = "万亿|千万|百万|亿|万"

_SIMPLE_CN = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


@lru_cache(maxsize=4096)
def cn_to_decimal(s: str) -> Decimal | None:
    """Value of a Chinese numeral (两千 → 2000), or None if it is not one."""
    if len(s) == 1 and s in _SIMPLE_CN:
        return Decimal(_SIMPLE_CN[s])
    if s[0] in "百千":  # 千亿元, 百万人: an implied 一
        s = "一" + s
    try:
        import cn2an  # imported lazily: it costs ~0.2 s

        value = cn2an.cn2an(s, "normal")
    except Exception:  # cn2an raises plain ValueError/KeyError on odd input
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def to_decimal(s: str) -> Decimal | None:
    """Value of an Arabic (1,270.3) or Chinese (两千) numeral."""
    if not s:
        return None
    if s[0].isdigit():
        try:
            return Decimal(s.replace(",", ""))
        except InvalidOperation:
            return None
    return cn_to_decimal(s)


# --------------------------------------------------------------------------- units

# written unit -> (base unit, factor).  Counting words map to themselves.
_MEASURE_UNITS: dict[str, tuple[str, Decimal]] = {
    "%": ("%", Decimal(1)),
    "‰": ("‰", Decimal(1)),
    "个百分点": ("个百分点", Decimal(1)),
    "百分点": ("个百分点", Decimal(1)),
    "元": ("元", Decimal(1)),
    "美元": ("美元", Decimal(1)),
    "欧元": ("欧元", Decimal(1)),
    "平方米": ("平方米", Decimal(1)),
    "㎡": ("平方米", Decimal(1)),
    "平方公里": ("平方米", Decimal(10) ** 6),
    "平方千米": ("平方米", Decimal(10) ** 6),
    "k㎡": ("平方米", Decimal(10) ** 6),
    "公顷": ("平方米", Decimal(10) ** 4),
    "亩": ("亩", Decimal(1)),
}
_WRITTEN_UNITS = [
    # measuring units, kept as written
    "公里",
    "千米",
    "米",
    "吨",
    "千克",
    "公斤",
    "千瓦时",
    "千瓦",
    "兆瓦",
    "立方米",
    "微克/立方米",
    "毫克/升",
    "标准箱",
    "标箱",
    "TEU",
    "岁",
    "个工作日",
    "工作日",
    "小时",
    "分钟",
    "天",
    # counting words
    "人次",
    "户次",
    "车次",
    "辆次",
    "架次",
    "场次",
    "班次",
    "个",
    "家",
    "人",
    "名",
    "户",
    "套",
    "座",
    "栋",
    "幢",
    "所",
    "张",
    "项",
    "宗",
    "场",
    "次",
    "处",
    "条",
    "台",
    "辆",
    "件",
    "间",
    "位",
    "支",
    "只",
    "头",
    "株",
    "棵",
    "盏",
    "根",
    "块",
    "片",
    "段",
    "篇",
    "部",
    "册",
    "期",
    "款",
    "例",
    "起",
    "艘",
    "架",
    "列",
    "口",
    "眼",
    "床",
    "倍",
]
UNITS: dict[str, tuple[str, Decimal]] = dict(_MEASURE_UNITS)
for _u in _WRITTEN_UNITS:
    UNITS.setdefault(_u, (_u, Decimal(1)))
UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

# Units of time that are figures only when nothing follows them (15分钟生活圈 is a name).
TIME_UNITS = frozenset({"天", "小时", "分钟", "工作日", "个工作日"})
PERCENT_UNITS = frozenset({"%", "‰"})

# --------------------------------------------------------------------------- comparators

PREFIX_COMPARATORS = {
    "不少于": "ge",
    "不低于": "ge",
    "不小于": "ge",
    "至少": "ge",
    "最少": "ge",
    "突破": "gt",
    "超过": "gt",
    "高于": "gt",
    "多于": "gt",
    "大于": "gt",
    "超": "gt",
    "逾": "gt",
    "不超过": "le",
    "不高于": "le",
    "不大于": "le",
    "最多": "le",
    "至多": "le",
    "低于": "lt",
    "少于": "lt",
    "小于": "lt",
    "不足": "lt",
    "不到": "lt",
    "接近": "about",
    "将近": "about",
    "大约": "about",
    "约为": "about",
    "约": "about",
    "近": "about",
}
SUFFIX_COMPARATORS = {
    "及以上": "ge",
    "以上": "ge",
    "以下": "le",
    "以内": "le",
    "左右": "about",
    "上下": "about",
}
# A comparator may stand a verb away from its figure: 至少建成一家, 不少于引进5家.
_PREFIX_VERBS = (
    "建成|完成|新增|新建|引进|招引|培育|实现|达到|开工|落地|建设|培训|安排|"
    "保持在|保持|控制在|稳定在|占比|占|达|为|在|有"
)
PRE_ALT = "|".join(sorted(PREFIX_COMPARATORS, key=len, reverse=True))
POST_ALT = "|".join(sorted(SUFFIX_COMPARATORS, key=len, reverse=True))
_RANGE_SEP = r"至|到|-|~|—|–|－|～"
_NO_CHENG_AFTER = "为功果本员立效都品交就套片型熟长年"

_FIRST = "".join(sorted({k[0] for k in PREFIX_COMPARATORS} | set(_CN_START) | set("百千")))
FIGURE_RE = re.compile(
    rf"""
    (?=[0-9{_FIRST}])  # cheap first test: ~3x faster scan
    (?:(?P<pre>{PRE_ALT})(?P<pv>{_PREFIX_VERBS})?)?
    (?<![0-9A-Za-z.])
    (?:
        # fraction: 1/3, 三分之一, 百分之三十
        (?:(?P<fn>[0-9]{{1,2}})/(?P<fd>[0-9]{{1,3}})(?![0-9/])
          |(?P<cd>[{_CN_START}百][{CN_NUM_CHARS}]{{0,3}})分之(?P<cn>{NUM}))
      | # share in tenths: 四成, 六成以上
        (?P<cheng>[一二两三四五六七八九]|[0-9])成(?![{_NO_CHENG_AFTER}])
      | # amount, maybe a range, then the unit
        (?P<n1>{NUM})(?P<m1>{MAG})?(?P<u1>%|个百分点)?
        (?:(?P<sep>{_RANGE_SEP})(?P<n2>{NUM})(?P<m2>{MAG})?)?
        (?P<approx>余|多)?
        (?P<unit>{UNIT_ALT})
        (?:\((?:次|个|家|人|户|处|项)\))?
    )
    (?P<post>{POST_ALT})?
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Quantity:
    """One figure in base units, before its measure and stance are decided."""

    start: int  # offsets of the figure itself (pre-comparator included) in the clean text
    end: int
    num_start: int  # where the numeral begins (after any comparator)
    comparator: str
    value: Decimal
    upper: Decimal | None
    unit: str
    written_unit: str
    is_fraction: bool  # 1/3, 三分之一, 四成: always a share
    bare_cn_one: bool  # the numeral is a lone 一 (一个, 一批: usually an article)
    cn_only: bool  # written in Chinese numerals without 万/亿
    has_post: bool  # 以上/以下/以内/左右 after the unit
    pre: str | None
    post: str | None


def _scaled(num: str, mag: str | None, factor: Decimal) -> Decimal | None:
    value = to_decimal(num)
    if value is None:
        return None
    if mag:
        value *= MAGNITUDES[mag]
    return value * factor


def read_figure(m: re.Match[str]) -> Quantity | None:
    """Turn a :data:`FIGURE_RE` match into a :class:`Quantity` (None if it is not a number)."""
    pre = m.group("pre")
    post = m.group("post")
    comparator = "eq"
    if post:
        comparator = SUFFIX_COMPARATORS[post]
    if pre:
        comparator = PREFIX_COMPARATORS[pre]
    upper: Decimal | None = None
    is_fraction = False
    bare_one = False
    cn_only = False
    if m.group("fn") is not None or m.group("cd") is not None:
        is_fraction = True
        if m.group("fn") is not None:
            num, den = Decimal(m.group("fn")), Decimal(m.group("fd"))
            num_start = m.start("fn")
        else:
            num_start = m.start("cd")
            cd = m.group("cd")
            den = Decimal(100) if cd == "百" else to_decimal(cd)
            num = to_decimal(m.group("cn"))
        if num is None or not den or num > den or (den > 10 and den != 100):
            return None
        value = (num * 100 / den).quantize(Decimal("0.01")) if den != 100 else num
        unit = written = "%"
    elif m.group("cheng") is not None:
        is_fraction = True
        num_start = m.start("cheng")
        value = to_decimal(m.group("cheng"))
        if value is None or value > 9 or value < 1:
            return None
        value *= 10
        unit = written = "%"
    else:
        num_start = m.start("n1")
        written = m.group("unit")
        unit, factor = UNITS[written]
        n1, m1, n2, m2 = m.group("n1"), m.group("m1"), m.group("n2"), m.group("m2")
        if n2 is not None:
            # the magnitude and unit of the upper bound carry to the lower one:
            # 200至300亿元 → both 亿; 200亿至300亿元 → each its own.
            value = _scaled(n1, m1 or m2, factor)
            upper = _scaled(n2, m2, factor)
            if value is None or upper is None:
                return None
            if upper <= value:
                return None
            comparator = "between" if comparator == "eq" else comparator
        else:
            value = _scaled(n1, m1, factor)
            if value is None:
                return None
            if m.group("approx") and comparator == "eq":
                comparator = "gt"
            bare_one = n1 == "一" and not m1
            cn_only = not n1[0].isdigit() and not m1
    return Quantity(
        start=m.start(),
        end=m.end(),
        num_start=num_start,
        comparator=comparator,
        value=value,
        upper=upper,
        unit=unit,
        written_unit=written,
        is_fraction=is_fraction,
        bare_cn_one=bare_one,
        cn_only=cn_only,
        has_post=bool(post),
        pre=pre,
        post=post,
    )


def plain_number(value: Decimal | None) -> int | float | None:
    """int when integral (140000000000), float otherwise (4.8, 33.33)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)
