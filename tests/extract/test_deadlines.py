"""The deadline table, and stance/year from headings and year markers."""

from __future__ import annotations

import pytest

from duban.extract import ExtractError, extract, infer_year
from duban.extract.deadlines import find_deadline


@pytest.mark.parametrize(
    "words, date",
    [
        ("6月底前", "2022-06-30"),
        ("2月底前", "2022-02-28"),
        ("5月前", "2022-05-31"),
        ("10月份", "2022-10-31"),
        ("3月上旬", "2022-03-10"),
        ("3月中旬", "2022-03-20"),
        ("4月下旬", "2022-04-30"),
        ("9月30日前", "2022-09-30"),
        ("三季度前", "2022-09-30"),
        ("第一季度", "2022-03-31"),
        ("前三季度", "2022-09-30"),
        ("上半年", "2022-06-30"),
        ("下半年", "2022-12-31"),
        ("年底前", "2022-12-31"),
        ("年内", "2022-12-31"),
        ("全年", "2022-12-31"),
        ("到2025年", "2025-12-31"),
        ("2025年底前", "2025-12-31"),
        ("2019年10月", "2019-10-31"),
        ("三年内", "2024-12-31"),
        ("两年内", "2023-12-31"),
        ("到“十四五”末", "2025-12-31"),
    ],
)
def test_deadline_table(words, date):
    d = find_deadline(words, 2022, 2022)
    assert d is not None and d.date == date


def test_most_specific_deadline_wins():
    assert find_deadline("确保今年新开工项目三季度前要开工", 2022, 2022).date == "2022-09-30"


def deadlines(text: str, year: int = 2022) -> list[tuple]:
    return [(c.measure, c.value, c.deadline) for c in extract(text, year).commitments]


def test_target_without_deadline_is_due_at_year_end():
    assert deadlines("新增停车位6000个。") == [("level", 6000, "2022-12-31")]


def test_deadline_is_the_clauses_own():
    text = "确保今年新开工项目三季度前要开工90%以上,前期项目要开工50%以上。"
    assert deadlines(text) == [("share", 90, "2022-09-30"), ("share", 50, "2022-12-31")]


def test_deadline_carries_over_a_list_and_from_a_time_clause():
    assert deadlines("年底前完成造林1420亩、森林抚育100亩。") == [
        ("level", 1420, "2022-12-31"),
        ("level", 100, "2022-12-31"),
    ]
    assert deadlines("6月底前,完成户厕改造1200户,新建公厕20座。") == [
        ("level", 1200, "2022-06-30"),
        ("level", 20, "2022-06-30"),
    ]


def test_milestones():
    text = (
        "推动金融岛3月上旬正式开岛,年底前内环及配套商业项目全面入驻运营,"
        "推动鲲鹏软件小镇尽快全面投用,年内实现政务服务“一网通办”全覆盖。"
    )
    got = [
        (c.measure, c.comparator, c.value, c.unit, c.deadline)
        for c in extract(text, 2022).commitments
    ]
    assert got == [
        ("milestone", None, None, None, "2022-03-10"),
        ("milestone", None, None, None, "2022-12-31"),
        ("milestone", None, None, None, "2022-12-31"),
    ]


def test_milestone_dated_by_a_time_clause():
    got = [
        (c.measure, c.value, c.deadline)
        for c in extract("6月底前,完成户厕改造,新建公厕20座。", 2022).commitments
    ]
    assert got == [("milestone", None, "2022-06-30"), ("level", 20, "2022-06-30")]


def test_later_target_has_its_year():
    cs = extract("到2025年,全区生产总值突破900亿元,规上工业企业达到500家。", 2022).commitments
    assert [(c.year, c.deadline) for c in cs] == [(2025, "2025-12-31"), (2025, "2025-12-31")]
    cs = extract("三年内建成保障性租赁住房1.5万套。", 2020).commitments
    assert [(c.year, c.deadline) for c in cs] == [(2022, "2022-12-31")]


def test_stance_from_year_and_section_not_verb():
    text = (
        "2021年 各项工作提质量上台阶\n\n"
        "全年完成地区生产总值1270.3亿元,同比增长4.8%。\n\n"
        "2022年 开局破题\n\n"
        "地区生产总值完成1400亿元,同比增长8%。\n"
    )
    cs = extract(text).commitments
    assert extract(text).year == 2022
    assert [(c.stance, c.year, c.deadline) for c in cs] == [
        ("actual", 2021, None),
        ("actual", 2021, None),
        ("target", 2022, "2022-12-31"),
        ("target", 2022, "2022-12-31"),
    ]
    assert [c.section for c in cs] == ["2021年 各项工作提质量上台阶"] * 2 + ["2022年 开局破题"] * 2


def test_markers_without_headings():
    text = (
        "各位代表:\n过去一年,全镇实现财政总收入2.8亿元。\n"
        "——新建桥梁3座。\n"
        "今年主要预期目标是:财政总收入增长8%以上。\n"
        "去年,全镇新增市场主体500户;今年新增市场主体600户。\n"
    )
    cs = extract(text, 2022).commitments
    assert [(c.stance, c.year, c.value) for c in cs] == [
        ("actual", 2021, 280000000),
        ("actual", 2021, 3),
        ("target", 2022, 8),
        ("actual", 2021, 500),
        ("target", 2022, 600),
    ]


def test_duplicated_passage_counts_once():
    para = "新改扩建学校8所,新增学位6000个,新建社区卫生服务中心3个。"
    cs = extract("2022年工作安排\n" + para + para + "\n" + para + "\n", 2022).commitments
    assert [c.value for c in cs] == [8, 6000, 3]
    # equal figures in different company are not duplicates
    text = "社会消费品零售总额完成660亿元,同比增长10%;规上工业增加值完成35.5亿元,同比增长10%。"
    assert [c.value for c in extract(text, 2022).commitments] == [66000000000, 10, 3550000000, 10]


@pytest.mark.parametrize(
    "text, year",
    [
        ("郑东新区党工委召开2022年度工作大会", 2022),
        ("一、2022年工作回顾\n二、2023年工作安排\n到2025年,实现翻番。2035年远景目标", 2023),
        ("市政府2021年重点工作安排。2020年,全市完成...", 2021),
        ("二〇二三年政府工作报告", 2023),
    ],
)
def test_infer_year(text, year):
    assert infer_year(text) == year


def test_year_cannot_be_inferred():
    with pytest.raises(ExtractError, match="year"):
        extract("新增停车位6000个。")
    assert extract("新增停车位6000个。", 2022).year == 2022


@pytest.mark.parametrize("bad", [0, 99999, -1, True, "2022"])
def test_bad_year(bad):
    with pytest.raises(ExtractError):
        extract("新增停车位6000个。", bad)


def test_sub_heading_without_year_keeps_the_stance():
    text = (
        "2023年政府工作报告\n各位代表:\n"
        "过去一年,全县地区生产总值完成386.5亿元,增长4.2%。\n"
        "(一)经济运行稳中有进\n规模以上工业增加值增长7.8%。\n"
        "二、2023年工作安排\n地区生产总值增长6%左右。\n"
        "森林覆盖率提高到42.5%,比2020年提高1.2个百分点。\n"
    )
    cs = extract(text).commitments
    assert [(c.stance, c.year, c.value) for c in cs] == [
        ("actual", 2022, 38650000000),
        ("actual", 2022, 4.2),
        ("actual", 2022, 7.8),
        ("target", 2023, 6),
        ("target", 2023, 42.5),
        ("target", 2023, 1.2),
    ]
    assert [c.indicator for c in cs][-2:] == ["森林覆盖率", "森林覆盖率"]


def test_so_far_within_a_plan_is_an_actual():
    text = "2023年工作安排\n目前全区已有高新技术企业300家,今年力争达到400家。\n"
    cs = extract(text).commitments
    assert [(c.stance, c.year, c.value) for c in cs] == [
        ("actual", 2022, 300),
        ("target", 2023, 400),
    ]
