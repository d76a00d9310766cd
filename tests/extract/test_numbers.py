"""The quantity grammar, one construct at a time, through the public extract()."""

from __future__ import annotations

import pytest

from duban.extract import extract


def only(text: str, year: int = 2022) -> dict:
    cs = [c.to_dict() for c in extract(text, year).commitments]
    assert len(cs) == 1, cs
    return cs[0]


def figures(text: str, year: int = 2022) -> list[tuple]:
    return [
        (c.measure, c.comparator, c.value, c.upper, c.unit) for c in extract(text, year).commitments
    ]


@pytest.mark.parametrize(
    "clause, comparator, value, upper, unit",
    [
        # magnitudes and decimals
        ("全年地区生产总值完成1270.3亿元。", "eq", 127030000000, None, "元"),
        ("新增学位1.6万个。", "eq", 16000, None, "个"),
        ("营业收入达到1.2万亿元。", "eq", 1200000000000, None, "元"),
        ("发放救助补贴2519万元。", "eq", 25190000, None, "元"),
        ("实际利用外资3.2亿美元。", "eq", 320000000, None, "美元"),
        ("建成安置房40万平方米。", "eq", 400000, None, "平方米"),
        ("新增城市绿地35公顷。", "eq", 350000, None, "平方米"),
        ("整合土地五平方公里。", "eq", 5000000, None, "平方米"),
        ("完成2.3万亩农村土地确权。", "eq", 23000, None, "亩"),
        ("粮食总产量稳定在50万吨。", "eq", 500000, None, "吨"),
        ("新建5G基站1,200个。", "eq", 1200, None, "个"),
        # Chinese numerals
        ("新建标准厂房两千亩。", "eq", 2000, None, "亩"),
        ("建成三个产业园区。", "eq", 3, None, "个"),
        ("力争产值超千亿元。", "gt", 100000000000, None, "元"),
        # comparators
        ("全年引进优质项目80家以上。", "ge", 80, None, "家"),
        ("人才公寓不少于2000套。", "ge", 2000, None, "套"),
        ("计划投资不低于350亿元。", "ge", 35000000000, None, "元"),
        ("每个乡镇至少建成一家托育机构。", "ge", 1, None, "家"),
        ("引进高层次人才总量突破1500人。", "gt", 1500, None, "人"),
        ("解决企业问题350余项。", "gt", 350, None, "项"),
        ("发放消费券3万余张。", "gt", 30000, None, "张"),
        ("城镇新增就业1.2万多人次。", "gt", 12000, None, "人次"),
        ("接待游客逾120万人次。", "gt", 1200000, None, "人次"),
        ("办理时限不超过15个工作日。", "le", 15, None, "个工作日"),
        ("新建标准厂房300亩左右。", "about", 300, None, "亩"),
        ("新增绿地近50万平方米。", "about", 500000, None, "平方米"),
        ("新增养老床位约300张。", "about", 300, None, "张"),
        # ranges, with the magnitude and unit carried across 至
        ("引进基金机构25至30家。", "between", 25, 30, "家"),
        ("新增上市企业1至2家。", "between", 1, 2, "家"),
        ("新增上市企业3-5家。", "between", 3, 5, "家"),
        ("新增管理规模200亿至300亿元。", "between", 20000000000, 30000000000, "元"),
        ("新增管理规模200至300亿元。", "between", 20000000000, 30000000000, "元"),
        ("新增就业1.5万-2万人。", "between", 15000, 20000, "人"),
        # a bracketed 次 after a counting word is dropped
        ("办理减税降费1800家（次）。", "eq", 1800, None, "家"),
    ],
)
def test_level(clause, comparator, value, upper, unit):
    c = only(clause)
    assert (c["measure"], c["comparator"], c["value"], c["upper"], c["unit"]) == (
        "level",
        comparator,
        value,
        upper,
        unit,
    )


@pytest.mark.parametrize(
    "clause, measure, comparator, value, upper, unit",
    [
        ("同比增长8%。", "growth", "eq", 8, None, "%"),
        ("同比增长**8%**。", "growth", "eq", 8, None, "%"),
        ("同比下降17.5%。", "growth", "eq", -17.5, None, "%"),
        ("单位GDP能耗下降15%以上。", "growth", "le", -15, None, "%"),
        ("排放总量压减30%。", "growth", "eq", -30, None, "%"),
        ("地区生产总值增长6%左右。", "growth", "about", 6, None, "%"),
        ("规上工业总产值增长8%-10%。", "growth", "between", 8, 10, "%"),
        ("研发投入强度提高0.6个百分点。", "growth", "eq", 0.6, None, "个百分点"),
        ("比上年下降0.5个百分点。", "growth", "eq", -0.5, None, "个百分点"),
        ("旅游收入增长1.2倍。", "growth", "eq", 120, None, "%"),
        ("力争经济总量翻番。", "growth", "eq", 100, None, "%"),
        ("居民消费价格涨幅3%左右。", "growth", "about", 3, None, "%"),
        ("居民小区垃圾分类覆盖率达到98%。", "share", "eq", 98, None, "%"),
        ("装配式建筑占新建建筑面积40%以上。", "share", "ge", 40, None, "%"),
        ("金融业增加值占GDP近1/3。", "share", "about", 33.33, None, "%"),
        ("森林覆盖率达到三分之一。", "share", "eq", 33.33, None, "%"),
        ("新能源汽车产量占全省的四成。", "share", "eq", 40, None, "%"),
        ("占比达到六成以上。", "share", "ge", 60, None, "%"),
        ("占规上工业比重超过两成。", "share", "gt", 20, None, "%"),
        ("生活污水治理率提升至60%。", "share", "eq", 60, None, "%"),
        ("税收约占一般公共预算收入的80%。", "share", "about", 80, None, "%"),
        ("绿化覆盖率超过45%。", "share", "gt", 45, None, "%"),
        ("失业率控制在4.5%以内。", "share", "le", 4.5, None, "%"),
        ("失业率控制在4%以下。", "share", "le", 4, None, "%"),
        ("城镇登记失业率低于3.5%。", "share", "lt", 3.5, None, "%"),
    ],
)
def test_growth_and_share(clause, measure, comparator, value, upper, unit):
    c = only(clause)
    assert (c["measure"], c["comparator"], c["value"], c["upper"], c["unit"]) == (
        measure,
        comparator,
        value,
        upper,
        unit,
    )


def test_values_are_int_when_integral_float_otherwise():
    cs = extract("地区生产总值完成1400亿元,同比增长4.8%。", 2022).commitments
    assert type(cs[0].value) is int and cs[0].value == 140000000000
    assert type(cs[1].value) is float and cs[1].value == 4.8


def test_one_clause_two_commitments_share_text():
    cs = extract("实现地区生产总值1400亿元、增长8%;", 2022).commitments
    assert [(c.measure, c.value) for c in cs] == [("level", 140000000000), ("growth", 8)]


def test_lists_with_fenbie_share_the_clause():
    cs = extract("城乡居民人均可支配收入分别增长5.1%和6.8%。", 2022).commitments
    assert [(c.measure, c.value) for c in cs] == [("growth", 5.1), ("growth", 6.8)]
    assert cs[0].text == cs[1].text
    cs = extract("城乡居民收入分别下降1%、2%。", 2022).commitments
    assert [c.value for c in cs] == [-1, -2]


def test_from_x_to_y_is_two_actuals():
    cs = extract("2021年,高新技术企业由15家增至21家。", 2022).commitments
    assert [(c.stance, c.year, c.value) for c in cs] == [("actual", 2020, 15), ("actual", 2021, 21)]


@pytest.mark.parametrize(
    "text",
    [
        "总量居全市第二位。",
        "经济总量居全省第3位。",
        "深入推进“十大战略”。",
        "力争全年“125计划”落地。",
        "紧盯管理团队、空间布局、人才机制等3个融合方向。",
        "全年分解120项量化指标。",
        "集中办好十件民生实事。",
        "坚持两个毫不动摇。",
        "是全省的1.8倍。",
        "增速高于全省2.1个百分点。",
        "失业率低于全省平均水平0.4个百分点。",
        "连续5年保持两位数增长。",
        "项目建成后预计年产值50亿元。",
        "地铁3号线建成通车。",
        "新建一批5G基站。",
        "打造15分钟生活圈。",
        "培育百亿级企业。",
        "推进一网通办、一次办结。",
        "利用五一、十一等消费旺季。",
        "60岁以上老年人免费体检。",
        "2月24日上午召开大会。",
        "瞄准国际国内500强和行业20强企业。",
        "PM2.5浓度持续下降。",
        "全省排名上升3位。",
        "综合排名前移2个位次。",
    ],
)
def test_not_commitments(text):
    assert extract(text, 2022).commitments == []


def test_thresholds_qualify_the_count():
    assert figures("新引进30亿元以上高质量项目2个。") == [("level", "eq", 2, None, "个")]
    assert figures("培育发展100张以上床位的养老机构2家。") == [("level", "eq", 2, None, "家")]
    assert figures("新开工单体投资10亿元以上项目20个。") == [("level", "eq", 20, None, "个")]
    assert figures("投资超10亿元的重大项目15个。") == [("level", "eq", 15, None, "个")]
    assert figures("全年培育税收超亿元楼宇44栋。") == [("level", "eq", 44, None, "栋")]
    assert figures("60岁以上老年人健康管理率达到75%。") == [("share", "eq", 75, None, "%")]


def test_full_width_digits_and_punctuation():
    c = only("农村居民人均可支配收入增长９．１％；")
    assert (c["measure"], c["value"], c["unit"]) == ("growth", 9.1, "%")


def test_figure_broken_across_a_paragraph_break():
    text = "着力加快民生事业发展\n\n培育软件人才4000人\n\n以上;新增绿地近50万平\n\n方米。\n"
    cs = extract(text, 2022).commitments
    assert [(c.comparator, c.value, c.unit) for c in cs] == [
        ("ge", 4000, "人"),
        ("about", 500000, "平方米"),
    ]
    assert cs[0].text == "培育软件人才4000人\n\n以上"
    for c in cs:
        assert text[c.start : c.end] == c.text


def test_html_markup_around_figures():
    text = "地区生产总值增长<b>8%</b>,新增停车位6000&nbsp;个。<p>完成**1400亿元**</p>\n"
    cs = extract(text, 2022).commitments
    assert [(c.measure, c.value) for c in cs] == [
        ("growth", 8),
        ("level", 6000),
        ("level", 140000000000),
    ]
    assert [c.text for c in cs] == [
        "地区生产总值增长<b>8%</b>",
        "新增停车位6000&nbsp;个",
        "<p>完成**1400亿元**</p>",
    ]


def test_speech_verb_opens_the_statement():
    text = "2022年工作会议\n会议指出,过去一年,全区地区生产总值完成850亿元,增长5%;一般公共预算收入60亿元。\n"
    cs = extract(text).commitments
    assert [(c.stance, c.year) for c in cs] == [("actual", 2021)] * 3


def test_lines_wrapped_as_in_a_pdf():
    text = (
        "2023年工作安排\n"
        "全年新增高新技术企业200家,培育专精特新企业25至30家,新增停车\n"
        "位6000个,推动金融岛3月上旬正式开岛,\n"
        "确保年底前内环及配套商业项目全面入驻运营。\n"
    )
    cs = extract(text).commitments
    assert [(c.measure, c.value, c.deadline) for c in cs] == [
        ("level", 200, "2023-12-31"),
        ("level", 25, "2023-12-31"),
        ("level", 6000, "2023-12-31"),
        ("milestone", None, "2023-03-10"),
        ("milestone", None, "2023-12-31"),
    ]
    assert cs[2].text == "新增停车\n位6000个"
