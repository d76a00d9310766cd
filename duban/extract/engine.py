"""From report text to commitments (see ``../shared/spec/commitments.md``).

The text is read in four passes, all linear in its length:

1. **Lines → blocks.**  Full-width forms are folded to half-width (one code point for one,
   so offsets do not move).  Short lines without clause punctuation, and numbered lines
   (一、 (一) 1.), are headings.  Other lines are paragraphs; a line that stops in the
   middle of a sentence (no 。!?…) is joined to the next one, because reports copied from
   web pages and PDFs break paragraphs anywhere, even inside a figure (``4000人\n\n以上``).
2. **Clean view.**  Each paragraph is read without whitespace and markup (``**8%**``), with
   a map from clean positions back to the input.
3. **Stance and year** come from the headings and from year markers at the start of a
   paragraph or sentence (2021年, 去年, 今年, 到2025年), not from the verb.
4. **Clauses and figures.**  A clause runs between , ; : 。 ! ?; a clause is cut again at
   、 when a figure stands before it.  Every figure (:mod:`duban.extract.numbers`) is
   checked against what is *not* a commitment (ranks, names in quotes, counts of plans,
   class thresholds, comparisons, streaks, forecasts), then given its measure, comparator,
   deadline (:mod:`duban.extract.deadlines`) and indicator.  A clause with a dated event
   and no figure is a milestone.  A clause repeated word for word with the same neighbours
   (a duplicated passage) is read once.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from .deadlines import DEADLINE_RE, Deadline, find_all_deadlines, find_deadline
from .numbers import (
    FIGURE_RE,
    PERCENT_UNITS,
    TIME_UNITS,
    Quantity,
    plain_number,
    read_figure,
)

__all__ = ["Commitment", "Extraction", "ExtractError", "decode_report", "extract", "infer_year"]


class ExtractError(ValueError):
    """A report that cannot be read; the message is one line for a person."""


@dataclass(frozen=True, slots=True)
class Commitment:
    stance: str
    year: int
    section: str | None
    indicator: str
    text: str
    start: int
    end: int
    measure: str
    comparator: str | None
    value: int | float | None
    upper: int | float | None
    unit: str | None
    deadline: str | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Extraction:
    year: int
    commitments: list[Commitment] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"year": self.year, "commitments": [c.to_dict() for c in self.commitments]}


# --------------------------------------------------------------------------- input


def decode_report(data: bytes) -> str:
    """UTF-8 bytes (with or without BOM) to text; ExtractError for anything else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ExtractError("the report must be bytes")
    data = bytes(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractError(
            f"the report is not UTF-8 text (invalid byte at offset {exc.start})"
        ) from None
    if "\x00" in text:
        raise ExtractError("the report is not text (it contains NUL bytes)")
    if not text.strip():
        raise ExtractError("the report is empty")
    return text


_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: 0x20, 0xFE6A: ord("%"), 0x2236: ord(":")})

# --------------------------------------------------------------------------- plan year

_YEAR_RE = re.compile(
    r"(?<![0-9])(19[5-9][0-9]|20[0-9]{2}|21[0-9]{2})年|二〇([一二三四五六七八九〇零]{2})年"
)
_CN_DIGIT = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")}
_CN_DIGIT["零"] = "0"
_HORIZON_BEFORE = ("到", "至", "截至", "截止", "-", "—", "–", "~", "展望", "力争到", "预计到")
_PLAN_CUE_AFTER = re.compile(
    r"度|工作|是|主要|经济|政府|计划|目标|重点|任务|[,:]|将|要|全年|开局|我们|全区|全市|全县|全镇"
)


def infer_year(text: str) -> int | None:
    """The latest year the text plans for: years written as a horizon (到2025年, 2035年远景)
    are skipped; years that open a plan statement (2022年度工作大会, 2022年,...将) win."""
    strong: list[int] = []
    other: list[int] = []
    for m in _YEAR_RE.finditer(text):
        if m.group(1):
            y = int(m.group(1))
        else:
            y = 2000 + int("".join(_CN_DIGIT[c] for c in m.group(2)))
        before = text[max(0, m.start() - 3) : m.start()]
        if before.endswith(_HORIZON_BEFORE):
            continue
        after = text[m.end() : m.end() + 4]
        if after.startswith(("远景", "前", "底前", "以前")):
            continue
        (strong if _PLAN_CUE_AFTER.match(after) else other).append(y)
    if strong:
        return max(strong)
    if other:
        return max(other)
    return None


# --------------------------------------------------------------------------- blocks

_NUMBERED = re.compile(
    r"(?:[一二三四五六七八九十]{1,3}[、.]|\([一二三四五六七八九十]{1,3}\)|[0-9]{1,2}[、.](?![0-9])"
    r"|\([0-9]{1,2}\)|第[一二三四五六七八九十]{1,3}[部分章节篇])"
)
_CLAUSE_PUNCT = re.compile(r"[,;。!?:]")
_MARKUP = " \t\r\f\v*#>_\u3000\u00a0"
_TERMINAL = "。!?…"
_CLOSERS = "”’」』)】*"


def _strip_markup(s: str) -> str:
    return s.strip(_MARKUP + "\n")


def _is_heading(c: str) -> bool:
    """c: a line without surrounding whitespace/markup (folded)."""
    if not c or len(c) > 60:
        return False
    m = _NUMBERED.match(c)
    if m:
        body = c[m.end() :]
        return len(c) <= 40 and "。" not in c.rstrip("。") and not FIGURE_RE.search(body)
    if _CLAUSE_PUNCT.search(c) or c.endswith("、"):
        return False
    # a short line stating a figure is a broken paragraph (培育软件人才4000人 / 以上;...)
    return not FIGURE_RE.search(c)


@dataclass(slots=True)
class _Block:
    heading: bool
    spans: list[tuple[int, int]]  # line content spans in the input


def _blocks(norm: str) -> list[_Block]:
    blocks: list[_Block] = []
    pos = 0
    n = len(norm)
    open_para: _Block | None = None
    blank = True  # a blank line since the last text line
    while pos <= n:
        nl = norm.find("\n", pos)
        if nl < 0:
            nl = n
        line = norm[pos:nl]
        c = _strip_markup(line)
        if not c:
            blank = True
        else:
            lead = len(line) - len(line.lstrip(_MARKUP))
            s = pos + lead
            e = max(s, pos + len(line.rstrip()))
            # a short line right under an unfinished one (no blank line between) is the
            # same sentence wrapped, as in text copied from a PDF, unless it is numbered
            wrapped = (
                open_para is not None
                and not blank
                and not line.lstrip().startswith("#")
                and not _NUMBERED.match(c)
            )
            blank = False
            if not wrapped and _is_heading(c):
                blocks.append(_Block(True, [(s, e)]))
                open_para = None
            else:
                if open_para is not None:
                    open_para.spans.append((s, e))
                else:
                    open_para = _Block(False, [(s, e)])
                    blocks.append(open_para)
                tail = c.rstrip(_CLOSERS)
                if not tail or tail[-1] in _TERMINAL:
                    open_para = None
        pos = nl + 1
    return blocks


# --------------------------------------------------------------------------- clean view

# what the clean view drops: whitespace, markdown emphasis, HTML tags and &nbsp;
_JUNK = re.compile(r"[\s*]+|<[a-zA-Z/!][^<>\n]{0,60}>|&(?:nbsp|#160);")


_CLOSING_MARKUP = re.compile(r"\*+|</[a-zA-Z][a-zA-Z0-9]{0,10}>")
_OPENING_TAG = re.compile(r"<[a-zA-Z][^<>\n]{0,38}>")


class _Clean:
    """A paragraph without whitespace and ``*`` markup, mapped back to the input."""

    __slots__ = ("s", "_cs", "_os")

    def __init__(self, norm: str, spans: list[tuple[int, int]]):
        parts: list[str] = []
        cs: list[int] = []
        os_: list[int] = []
        length = 0
        for s, e in spans:
            pos = s
            for m in _JUNK.finditer(norm, s, e):
                if m.start() > pos:
                    cs.append(length)
                    os_.append(pos)
                    parts.append(norm[pos : m.start()])
                    length += m.start() - pos
                pos = m.end()
            if e > pos:
                cs.append(length)
                os_.append(pos)
                parts.append(norm[pos:e])
                length += e - pos
        self.s = "".join(parts)
        self._cs = cs
        self._os = os_

    def orig(self, i: int) -> int:
        k = bisect_right(self._cs, i) - 1
        return self._os[k] + (i - self._cs[k])

    def span(self, a: int, b: int, raw: str) -> tuple[int, int]:
        """Input offsets of clean ``[a, b)``, widened over adjacent ``*`` markup."""
        start = self.orig(a)
        end = self.orig(b - 1) + 1
        while True:
            m = _CLOSING_MARKUP.match(raw, end)
            if not m:
                break
            end = m.end()
        while start > 0:
            if raw[start - 1] == "*":
                start -= 1
                continue
            if raw[start - 1] == ">":
                lt = raw.rfind("<", max(0, start - 40), start)
                if lt >= 0 and _OPENING_TAG.fullmatch(raw, lt, start):
                    start = lt
                    continue
            break
        return start, end


# --------------------------------------------------------------------------- context

_ACTUAL_HEAD = re.compile(r"回顾|过去|去年|上年|成绩|成就|总结|完成情况|工作成效")
_TARGET_HEAD = re.compile(r"目标|任务|安排|部署|计划|今年|明年|思路|要求|展望|预期|打算")
_HEAD_YEAR = re.compile(r"(?<![0-9到至])(19[5-9][0-9]|20[0-9]{2})年")
_INLINE_HEAD = re.compile(r"([^,;。!?:、0-9]{2,16}):")
_INLINE_HEAD_WORD = re.compile(r"目标|指标|任务|重点|安排|回顾|成效|成绩|情况|计划|举措")
_LEAD_SENTENCE = re.compile(
    r"(?:[一二三四五六七八九十]{1,3}[、.]|\([一二三四五六七八九十]{1,3}\))[^。!?]{2,30}。"
)

_MARK_ABS = re.compile(
    r"(?P<pre>到|至|截至|截止|力争到|力争在|预计到|在|于)?(?P<y>19[5-9][0-9]|20[0-9]{2})年"
    r"(?:度)?(?:底|末|以来)?(?![0-9一二三四五六七八九十]{1,2}月)"
)
_MARK_PAST = re.compile(r"过去一年|过去的一年|去年|上年|一年来|过去五年|五年来|近年来|过去几年")
_MARK_SO_FAR = re.compile(r"目前|截至目前|当前|现有|已有|全区已有|全市已有|全县已有")
_MARK_NOW = re.compile(r"今年|本年度|新的一年")


@dataclass(frozen=True, slots=True)
class _Ctx:
    stance: str
    year: int


def _heading_ctx(h: str, plan: int) -> _Ctx | None:
    years = [int(y) for y in _HEAD_YEAR.findall(h)]
    if years:
        y = max(years)
        return _Ctx("actual", y) if y < plan else _Ctx("target", y)
    if _ACTUAL_HEAD.search(h):
        return _Ctx("actual", plan - 1)
    if _TARGET_HEAD.search(h):
        return _Ctx("target", plan)
    return None


def _marker_ctx(clause: str, plan: int) -> tuple[_Ctx, bool] | None:
    """Year marker at the start of a clause (2021年, 到2025年, 去年, 今年), and whether it
    holds beyond its sentence (a horizon such as 到2025年 does not)."""
    m = _MARK_ABS.match(clause)
    if m:
        y = int(m.group("y"))
        lasting = m.group("pre") not in _HORIZON_PRE and y <= plan
        if y < plan:
            return _Ctx("actual", y), lasting
        return _Ctx("target", y), lasting
    m = _MARK_PAST.match(clause)
    if m:
        return _Ctx("actual", plan - 1), True
    if _MARK_SO_FAR.match(clause):  # 目前全区已有高新技术企业300家 (within a plan)
        return _Ctx("actual", plan - 1), False
    if _MARK_NOW.match(clause):
        return _Ctx("target", plan), True
    return None


_SENTENCE_END = frozenset("。!?…")
# 会议指出, 报告显示: what follows opens the statement
_SPEECH = re.compile(r"(?:指出|强调|表示|提出|认为|介绍|显示|称|说)$")
_MARKER_FIRST = frozenset("到至截力预在于0123456789过去上一五近今本新目当现已全")
_HORIZON_PRE = frozenset({"到", "至", "力争到", "力争在", "预计到", "截至", "截止"})
_OPENING = re.compile(r"[^,;。!?:]{1,8}:")


_TARGET_CUE = re.compile(r"力争|确保|争取|计划|目标|预期|将|要|拟|努力")
_ACTUAL_CUE = re.compile(r"了|已经|已|累计|实现了")

# --------------------------------------------------------------------------- exclusions

# clause punctuation; a comma inside a figure (1,200个) is a thousands separator
_CLAUSE_SPLIT = re.compile(r"(?=[;:。!?…,])(?:[;:。!?…]|(?<![0-9]),|,(?![0-9]{3}(?![0-9])))+")
_QUOTE_RE = re.compile(
    r"“[^“”]{0,40}”|《[^《》]{0,40}》|\"[^\"]{0,40}\"|‘[^‘’]{0,40}’|「[^「」]{0,40}」|【[^【】]{0,40}】"
)
_COMPARISON_TAIL = re.compile(
    r"(?:高于|低于|快于|慢于|高出|超出|领先|优于|多于|少于|好于|相当于|是)[^0-9,;。]{1,14}$"
    r"|比(?!上年|去年|上年度|同期|[0-9]{4}年)[^0-9,;。]{1,12}(?:高|低|快|慢|多|少)(?:出)?$"
)
# 建成后预计年产值50亿元: what a project is expected to yield is not a commitment
_FORECAST = re.compile(r"(?:建成|投产|达产|达效|运营|投用|实施)后")
_FORECAST_AFTER = re.compile(
    r"预计[^,;。]{0,6}?(?:年产值|年销售|年营业|年收入|年税收|年产|可实现|可带动|可新增|可)"
)
_ABSTRACT_HEAD = re.compile(
    r"[^,;。、0-9]{0,6}?(?:方向|方面|领域|任务|指标|举措|措施|实事|原则|要求|行动|战略|路径|"
    r"机制|体系|环节|板块|抓手|导向|理念|短板|攻坚战|专项|清单|计划|工程包|大会|会议)"
)
_ACTION_VERB = re.compile(
    r"建|新增|引进|开工|完成|培育|打造|创建|实施|改造|举办|投用|招引|落地|设立|组建|认定|新开|"
    r"开通|启动|实现|达到|培训|提供|安置|发放|解决|引导|扶持|新培|认证|评定|招聘|吸引|转移|"
    r"接待|服务|救助|帮扶|治理|整治|修缮|提升|改善|增加|新|开展|供应|上市|挂牌|入驻|收储|出让|供地"
)
_COUNTING = frozenset(
    "个 家 人 名 户 套 座 栋 幢 所 张 项 宗 场 次 处 条 台 辆 件 间 位 支 只 头 株 棵 盏 根 块 片 段 "
    "篇 部 册 期 款 例 起 艘 架 列 口 眼 床".split()
)
_PUNCT_AFTER = set(",;:。!?、)”’》」…") | {""}

# --------------------------------------------------------------------------- measure

_GROWTH_TAIL = re.compile(
    r"(?P<v>增长|增加|增幅|增速|涨幅|提高|提升|上升|上涨|扩大|(?<!新)增|下降|降低|减少|压减|压降|"
    r"压缩|回落|下滑|缩减|削减|缩小|降幅|(?<![新压])降)"
    r"(?:了|达到|达|为|在|保持在|控制在|稳定在|实现)?$"
)
_NEGATIVE = frozenset(
    {
        "下降",
        "降低",
        "减少",
        "压减",
        "压降",
        "压缩",
        "回落",
        "下滑",
        "缩减",
        "削减",
        "缩小",
        "降幅",
        "降",
    }
)
_RANK_MOVE = re.compile(r"(?:上升|提升|前移|前进|下降|后退|下滑|跃升|提高|排名|排|居|位列|列)$")
_ABOUT_SHARE = re.compile(r"(?:约|大约|近|接近)占[^0-9,;。]{0,14}$")
_FLIP = {
    "ge": "le",
    "gt": "lt",
    "le": "ge",
    "lt": "gt",
    "eq": "eq",
    "about": "about",
    "between": "between",
}
_LIST_JOIN = re.compile(r"[、和及与,]?$")
_FROM_TAIL = re.compile(r"(?:由|从)$")
_TO_GAP = re.compile(
    r"(?:增长|增加|提高|提升|上升|扩大|下降|降低|减少|缩小|增|降|发展|跃升|攀升)?(?:至|到|为)$"
)
_FAN_RE = re.compile(r"翻(?:了)?(?P<n>一|两|二|三)?番")

# --------------------------------------------------------------------------- milestones

_EVENT = re.compile(
    r"开工|建成|投用|投运|开岛|运营|竣工|完工|通车|开业|落地|启用|开放|交付|封顶|入驻|上线|"
    r"挂牌|投产|达产|开通|通水|通电|并网|验收|揭牌|开园|开馆|运行|搬迁|迁入|办结|试运行|亮相|"
    r"营业|完成|实现|启动|出让|开学|招生|移交|贯通|合龙|投入使用|交付使用|使用|运营|试运营"
)
_TIME_ONLY_NOISE = re.compile(r"力争|争取|确保|到|在|于|前|之前|以前|底前|全面|基本|[“”‘’\"]")

# --------------------------------------------------------------------------- indicator

_IND_LEAD = re.compile(
    r"^(?:全年|今年|年内|年底前|力争|确保|争取|努力|全区|全市|全县|其中|要|将|并|同时|共|"
    r"推动|实现|完成|累计完成|共计|总计)+"
)
_IND_TAIL = re.compile(
    r"(?:完成|达到|达|为|实现|突破|超过|同比|比上年|年均|增长|增加|下降|提高|提升|要|总量|"
    r"保持在|控制在|稳定在|在|了|均|分别|占|共|累计|的|等|迈上|迈过|跨越|到|至|降低|减少|"
    r"上升|缩小|扩大|压缩|压减)+$"
)
_IND_COMPARED = re.compile(r"(?:比|较)(?:上年|去年|上年度|同期|[0-9]{4}年(?:底|末)?)")


# how far before or after a figure its words are read (the clause may be much longer)
_WINDOW = 60


@dataclass(slots=True)
class _Fig:
    q: Quantity
    measure: str
    comparator: str
    value: Decimal
    upper: Decimal | None
    unit: str
    sub: int  # index of the sub-clause
    start: int
    end: int
    from_of_next: bool = False


def _negate(comparator: str, value: Decimal, upper: Decimal | None):
    if upper is not None:
        return comparator, -upper, -value
    return _FLIP[comparator], -value, None


def _plan_or_error(norm: str, year: int | None) -> int:
    if year is not None:
        if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
            raise ExtractError(f"bad year {year!r}: expected a year such as 2022")
        return year
    y = infer_year(norm)
    if y is None:
        raise ExtractError("cannot infer the plan year from the text; give it with --year")
    return y


def extract(text: str, year: int | None = None) -> Extraction:
    """Every commitment in ``text`` (see the spec).  ``year`` is the plan year."""
    if not isinstance(text, str):
        raise ExtractError("the report must be text (str)")
    if not text.strip():
        raise ExtractError("the report is empty")
    norm = text.translate(_FOLD)
    plan = _plan_or_error(norm, year)
    return Extraction(plan, _Reader(text, norm, plan).run())


class _Reader:
    def __init__(self, raw: str, norm: str, plan: int):
        self.raw = raw
        self.norm = norm
        self.plan = plan
        self.out: list[Commitment] = []
        self.seen_prev: set[tuple[str, str]] = set()
        self.seen_next: set[tuple[str, str]] = set()
        self.section: str | None = None
        self.head_ctx: _Ctx | None = None  # from the last heading that names a year or kind
        self.flow_ctx: _Ctx | None = None  # from a year marker opening a sentence since then
        self.last_indicator = ""

    def run(self) -> list[Commitment]:
        for block in _blocks(self.norm):
            if block.heading:
                s, e = block.spans[0]
                self.section = _strip_markup(self.raw[s:e]) or None
                self._heading(_strip_markup(self.norm[s:e]))
                continue
            self._paragraph(block)
        return self.out

    # ------------------------------------------------------------------ paragraph

    def _heading(self, h: str) -> None:
        # a heading that names a year or kind (2022年工作回顾, 主要目标) sets the stance; one
        # that does not (着力加快…建设) leaves the stance of what came before it
        ctx = _heading_ctx(h, self.plan)
        if ctx is not None:
            self.head_ctx = ctx
            self.flow_ctx = None

    def _paragraph(self, block: _Block) -> None:
        clean = _Clean(self.norm, block.spans)
        s = clean.s
        if not s:
            return
        # an inline heading opens the paragraph: 主要预期目标:...  (一)着力稳增长。...
        body_start = 0
        m = _INLINE_HEAD.match(s)
        if m and _INLINE_HEAD_WORD.search(m.group(1)):
            body_start = m.end()
        else:
            m = _LEAD_SENTENCE.match(s)
            if m and m.end() < len(s):
                body_start = m.end()
        if body_start:
            a, b = clean.span(0, body_start - 1, self.raw)
            self.section = _strip_markup(self.raw[a:b]) or self.section
            self._heading(s[: body_start - 1])

        figs_all = [m for m in FIGURE_RE.finditer(s, body_start)]
        fans = [m for m in _FAN_RE.finditer(s, body_start)]
        dl_starts = [m.start() for m in DEADLINE_RE.finditer(s, body_start)]
        if not figs_all and not fans and not dl_starts:
            m = _OPENING.match(s, body_start)
            mk = _marker_ctx(s[m.end() if m else body_start :], self.plan)
            if mk is not None and mk[1]:
                self.flow_ctx = mk[0]
            return

        quotes = [(m.start(), m.end()) for m in _QUOTE_RE.finditer(s)]
        qstarts = [q[0] for q in quotes]

        def in_quote(i: int) -> bool:
            k = bisect_right(qstarts, i) - 1
            return k >= 0 and quotes[k][0] < i < quotes[k][1]

        # clauses (clean offsets) and sentence ids
        clauses: list[tuple[int, int, int]] = []  # (start, end, sentence)
        sent = 0
        pos = body_start
        for m in _CLAUSE_SPLIT.finditer(s, body_start):
            a, b = m.start(), m.end()
            if a > pos and not in_quote(a):
                clauses.append((pos, a, sent))
                if _SENTENCE_END.intersection(m.group()):
                    sent += 1
                pos = b
            elif a > pos:
                continue
            else:
                pos = b
        if pos < len(s):
            clauses.append((pos, len(s), sent))
        if not clauses:
            return
        cstarts = [c[0] for c in clauses]

        by_clause: dict[int, list[re.Match[str]]] = {}
        for m in figs_all:
            if in_quote(m.start()):
                continue
            k = bisect_right(cstarts, m.start()) - 1
            if k >= 0 and m.end() <= clauses[k][1]:
                by_clause.setdefault(k, []).append(m)
        fan_by_clause: dict[int, list[re.Match[str]]] = {}
        for m in fans:
            k = bisect_right(cstarts, m.start()) - 1
            if k >= 0 and not in_quote(m.start()):
                fan_by_clause.setdefault(k, []).append(m)

        # stance context per clause: a year marker opening a sentence (过去一年, 2021年, 今年)
        # holds for the paragraphs after it too, until the next heading or marker; a horizon
        # (到2025年) holds for its sentence; a marker inside a sentence until the next ; or 。
        sent_ctx: _Ctx | None = None  # from a marker opening the sentence
        part_ctx: _Ctx | None = None  # from a marker inside it, until the next ; or 。
        sent_deadline: Deadline | None = None
        cur_sent = -1
        for k, (a, b, sid) in enumerate(clauses):
            opening = (
                sid != cur_sent
                or (a > 0 and s[a - 1] == ":")
                or (k > 0 and _SPEECH.search(s, clauses[k - 1][0], clauses[k - 1][1]) is not None)
            )
            if sid != cur_sent:
                cur_sent = sid
                sent_ctx = part_ctx = None
                sent_deadline = None
            elif a > 0 and s[a - 1] == ";":
                part_ctx = None
            if s[a] in _MARKER_FIRST:
                mk = _marker_ctx(s[a : a + 12], self.plan)
                if mk is not None:
                    if not opening:
                        part_ctx = mk[0]
                    elif mk[1]:
                        self.flow_ctx = mk[0]
                        sent_ctx = None
                    else:
                        sent_ctx = mk[0]
            has_fig = k in by_clause or k in fan_by_clause
            j = bisect_left(dl_starts, a)
            has_dl = j < len(dl_starts) and dl_starts[j] < b
            if not has_fig and not has_dl and sent_deadline is None:
                continue
            text = s[a:b]
            ctx = part_ctx or sent_ctx or self.flow_ctx or self.head_ctx
            if _MARK_NOW.search(text):
                ctx = _Ctx("target", self.plan)
            if ctx is None:
                if _ACTUAL_CUE.search(text) and not _TARGET_CUE.search(text):
                    ctx = _Ctx("actual", self.plan - 1)
                else:
                    ctx = _Ctx("target", self.plan)
            # a clause that is only a time (年底前, 到2025年) dates the rest of the sentence
            if has_dl and not has_fig:
                d = find_deadline(s, ctx.year, self.plan, a, b)
                if d is not None and not _TIME_ONLY_NOISE.sub(
                    "", text[: d.start - a] + text[d.end - a :]
                ):
                    sent_deadline = d
                    continue
                if ctx.stance != "target":
                    continue
            prev_t = s[clauses[k - 1][0] : clauses[k - 1][1]] if k else ""
            next_t = s[clauses[k + 1][0] : clauses[k + 1][1]] if k + 1 < len(clauses) else ""
            # a clause repeated word for word together with a neighbour is a duplicated
            # passage: read it once
            kp, kn = (prev_t, text), (text, next_t)
            if kp in self.seen_prev or kn in self.seen_next:
                continue
            got = False
            if has_fig:
                got = self._clause(
                    clean, a, b, by_clause.get(k, []), fan_by_clause.get(k, []), ctx, sent_deadline
                )
            if not got and ctx.stance == "target":
                got = self._milestone(clean, a, b, ctx, sent_deadline)
            if got:
                self.seen_prev.add(kp)
                self.seen_next.add(kn)

    # ------------------------------------------------------------------ milestone

    def _milestone(
        self, clean: _Clean, a: int, b: int, ctx: _Ctx, inherited: Deadline | None
    ) -> bool:
        s = clean.s
        text = s[a:b]
        if not _EVENT.search(text):
            return False
        d = find_deadline(s, ctx.year, self.plan, a, b)
        own = d is not None
        if d is None:
            d = inherited  # 6月底前, 完成户厕改造
        if d is None or not d.dated:
            return False
        year = d.year if d.year > self.plan else ctx.year
        start, end = clean.span(a, b, self.raw)
        ind = (_EVENT_STRIP.sub("", text[d.end - a :]) if own else text) or text
        self.out.append(
            Commitment(
                stance="target",
                year=max(year, self.plan) if ctx.year >= self.plan else ctx.year,
                section=self.section,
                indicator=_clip(ind),
                text=self.raw[start:end],
                start=start,
                end=end,
                measure="milestone",
                comparator=None,
                value=None,
                upper=None,
                unit=None,
                deadline=d.date,
            )
        )
        return True

    # ------------------------------------------------------------------ clause with figures

    def _clause(
        self,
        clean: _Clean,
        a: int,
        b: int,
        matches: list[re.Match[str]],
        fans: list[re.Match[str]],
        ctx: _Ctx,
        sent_deadline: Deadline | None,
    ) -> bool:
        s = clean.s
        quantities = [q for q in (read_figure(m) for m in matches) if q is not None]
        items: list[tuple[int, int, Quantity | None, re.Match[str] | None]] = [
            (q.start, q.end, q, None) for q in quantities
        ]
        items += [(m.start(), m.end(), None, m) for m in fans]
        if not items:
            return False
        items.sort(key=lambda t: t[0])

        # sub-clauses: cut at 、 after a figure, unless the clause lists with 分别
        subs: list[tuple[int, int]] = []
        sub_start = a
        if s.find("分别", a, b) < 0:
            k = 0
            seen_fig = False
            depth = 0
            last = a
            p = s.find("、", a, b)
            while p >= 0:
                depth += s.count("(", last, p) - s.count(")", last, p)
                last = p
                while k < len(items) and items[k][1] <= p:
                    if items[k][0] >= sub_start:
                        seen_fig = True
                    k += 1
                if seen_fig and (k == len(items) or items[k][0] > p + 1) and depth <= 0:
                    subs.append((sub_start, p))
                    sub_start = p + 1
                    seen_fig = False
                p = s.find("、", p + 1, b)
        subs.append((sub_start, b))
        sub_starts = [x[0] for x in subs]
        forecast = _FORECAST.search(s, a, b) is not None
        target = ctx.stance == "target"

        figs: list[_Fig] = []
        prev_end_in_sub: dict[int, int] = {}
        for idx, (fs, fe, q, fan) in enumerate(items):
            si = bisect_right(sub_starts, fs) - 1
            ss, se = subs[si]
            left = max(prev_end_in_sub.get(si, ss), fs - _WINDOW)
            pre_text = s[left:fs]
            pre_all = s[max(ss, fs - _WINDOW) : fs]
            after = s[fe : min(se, fe + _WINDOW)]
            later = idx + 1 < len(items) and items[idx + 1][0] < se
            prev_end_in_sub[si] = fe
            if fan is not None:
                n = fan.group("n")
                v = Decimal(300 if n in ("两", "二") else 700 if n == "三" else 100)
                comp = "ge" if s.startswith("以上", fe) else "eq"
                figs.append(_Fig(None, "growth", comp, v, None, "%", si, fs, fe))
                continue
            assert q is not None
            f = self._judge(s, q, pre_text, pre_all, after, later, si, forecast, target)
            if f is not None:
                figs.append(f)
        if not figs:
            return False

        # carry growth across a list (分别增长8%、10%), and mark 由X增至Y
        for i in range(1, len(figs)):
            f, p = figs[i], figs[i - 1]
            if (
                p.measure == "growth"
                and f.measure == "share"
                and f.sub == p.sub
                and f.start - p.end <= 1
                and _LIST_JOIN.fullmatch(s, p.end, f.start)
            ):
                f.measure = "growth"
                if p.value < 0 < f.value:
                    f.comparator, f.value, f.upper = _negate(f.comparator, f.value, f.upper)
        for i in range(len(figs) - 1):
            f, nx = figs[i], figs[i + 1]
            ss = subs[f.sub][0]
            if (
                _FROM_TAIL.search(s, max(ss, f.start - 1), f.start)
                and nx.start - f.end <= 6
                and _TO_GAP.fullmatch(s, f.end, nx.start)
            ):
                f.from_of_next = True
                if f.measure == "growth" and nx.measure != "growth":
                    f.measure = nx.measure

        # deadlines: the sub-clause's own, else one earlier in the clause, else the sentence's
        own: dict[int, Deadline | None] = {}
        before: dict[int, Deadline | None] = {}
        if target:
            found = find_all_deadlines(s, ctx.year, self.plan, a, b)
            best: Deadline | None = None
            j = 0
            for si, (ss, se) in enumerate(subs):
                while j < len(found) and found[j].start < ss:
                    best = _better(best, found[j])
                    j += 1
                before[si] = best
                mine: Deadline | None = None
                jj = j
                while jj < len(found) and found[jj].start < se:
                    mine = _better(mine, found[jj])
                    jj += 1
                own[si] = mine

        prev_indicator = self.last_indicator
        texts: dict[int, tuple[int, int, str]] = {}
        for i, f in enumerate(figs):
            ss, se = subs[f.sub]
            stance, year = ctx.stance, ctx.year
            if f.from_of_next:
                stance, year = "actual", (ctx.year if ctx.stance == "actual" else self.plan) - 1
            deadline: str | None = None
            if stance == "target":
                d = own.get(f.sub) or before.get(f.sub) or sent_deadline
                if d is not None and d.year > year and d.rank >= 4:
                    year = d.year
                deadline = d.date if d is not None and d.year >= year else f"{year}-12-31"
            if f.sub not in texts:
                start, end = clean.span(ss, se, self.raw)
                texts[f.sub] = (start, end, self.raw[start:end])
            start, end, text = texts[f.sub]
            ind = self._indicator(s, ss, f, figs, i, se)
            if not ind:  # 同比增长8%, 累计216家: what the clause before named
                ind = prev_indicator
            prev_indicator = ind or prev_indicator
            self.last_indicator = prev_indicator
            self.out.append(
                Commitment(
                    stance=stance,
                    year=year,
                    section=self.section,
                    indicator=ind,
                    text=text,
                    start=start,
                    end=end,
                    measure=f.measure,
                    comparator=f.comparator,
                    value=plain_number(f.value),
                    upper=plain_number(f.upper),
                    unit=f.unit,
                    deadline=deadline,
                )
            )
        return True

    def _judge(
        self,
        s: str,
        q: Quantity,
        pre_text: str,
        pre_all: str,
        after: str,
        later: bool,
        si: int,
        forecast: bool,
        self_target: bool,
    ) -> _Fig | None:
        """Decide whether a figure is a commitment, and its measure."""
        nb = q.num_start
        before = s[nb - 1] if nb > 0 else ""
        nxt = s[q.end] if q.end < len(s) else ""
        # ranks, names, codes
        if before == "第" or (before == "前" and q.unit in ("名", "位")):
            return None
        if q.unit in ("名", "位") and _RANK_MOVE.search(pre_text):  # 排名上升3位
            return None
        if after.startswith("位次"):  # 前移2个位次
            return None
        if nxt in ("级", "强", "号", "届", "批", "代", "型", "线") or (
            q.unit == "位" and nxt == "数"
        ):
            return None
        if q.unit in TIME_UNITS and nxt not in _PUNCT_AFTER and nxt not in ("内", "以"):
            return None
        if q.unit == "岁" and (q.has_post or q.pre):
            return None
        # class thresholds: 30亿元以上高质量项目2个, 100张以上床位的养老机构2家
        thresholdish = q.post in ("以上", "及以上", "以下", "以内") or q.pre in ("超", "超过", "逾")
        if thresholdish and nxt not in _PUNCT_AFTER and later:
            return None
        # forecasts, streaks, comparisons
        if pre_all.endswith("连续") or forecast:
            return None
        if "预计" in pre_all and (self_target or _FORECAST_AFTER.search(pre_all)):
            return None
        if _COMPARISON_TAIL.search(pre_all):
            return None
        # counts of plans and task lists: 7个融合方向, 120项量化指标
        if q.unit in ("个", "项", "件", "条", "类", "大") and _ABSTRACT_HEAD.match(after):
            return None
        if q.bare_cn_one and q.pre is None:
            return None
        if (
            q.cn_only
            and q.value < 100
            and q.unit in _COUNTING
            and not _ACTION_VERB.search(pre_all + s[q.start : nb])
        ):
            return None
        if q.unit in _COUNTING and q.upper is None and q.value >= 2:
            m = re.search(r"([^,;:。]*?)等$", pre_all)
            if m and m.group(1).count("、") + 1 == q.value and not q.is_fraction:
                return None

        comparator, value, upper, unit = q.comparator, q.value, q.upper, q.unit
        if comparator == "eq" and _ABOUT_SHARE.search(pre_text):
            comparator = "about"  # 约占全区的80%
        g = _GROWTH_TAIL.search(pre_text)
        if unit == "倍":
            if g is None or g.group("v") in _NEGATIVE:
                return None
            value = value * 100
            upper = upper * 100 if upper is not None else None
            unit = "%"
            measure = "growth"
        elif unit in PERCENT_UNITS or q.is_fraction:
            measure = "growth" if g is not None else "share"
        elif unit == "个百分点":
            measure = "growth"
        else:
            measure = "level"
        if measure == "growth" and g is not None and g.group("v") in _NEGATIVE:
            comparator, value, upper = _negate(comparator, value, upper)
        return _Fig(q, measure, comparator, value, upper, unit, si, q.start, q.end)

    def _indicator(self, s: str, ss: int, f: _Fig, figs: list[_Fig], i: int, se: int) -> str:
        left = ss
        if i and figs[i - 1].sub == f.sub:
            left = figs[i - 1].end
        left = max(left, f.start - _WINDOW)
        stop = se
        if i + 1 < len(figs) and figs[i + 1].sub == f.sub:
            stop = figs[i + 1].start
        stop = min(stop, f.end + _WINDOW)
        text = _tidy(s[left : f.start])
        if f.measure == "level":
            # 等9所学校建成招生, 10个公园游园: the noun after a classifier names the thing
            after = _tidy(s[f.end : stop])
            if (
                after
                and not after.startswith(("的", "以", "和", "及"))
                and (not text or s[left : f.start].endswith("等") or len(text) <= 2)
            ):
                return _clip(_AFTER_CUT.split(after, 1)[0])
        return _clip(text)


def _tidy(text: str) -> str:
    text = _QUOTE_CHARS.sub("", text)
    text = _IND_COMPARED.sub("", text)
    text = _DL_STRIP.sub("", text)
    text = _IND_LEAD.sub("", text)
    return _IND_TAIL.sub("", text)


_DL_STRIP = re.compile(DEADLINE_RE.pattern + r"(?:前|以前|之前)?", re.VERBOSE)
_AFTER_CUT = re.compile(r"[和及]|(?:建设|工作)$")


_QUOTE_CHARS = re.compile(r"[“”\"‘’《》「」【】]")
_EVENT_STRIP = re.compile(r"^(?:前|之前|以前|底前)?")


def _clip(text: str) -> str:
    if "等" in text[:-1]:
        text = text.rsplit("等", 1)[1] or text
    return text[-20:]


def _better(best: Deadline | None, d: Deadline) -> Deadline:
    """The more specific of two deadlines (ties: the later one)."""
    return d if best is None or d.rank >= best.rank else best
