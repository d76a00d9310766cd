"""The demo pipeline: the 848 projects worth 4768亿元 of the fixture report (紧盯全年谋划的
总投资为4768亿元的848个项目), with realistic types, sectors, gates, approval steps, a year of
monthly reports and some problems, as of 2022-09-30.

Deterministic (one seeded random.Random), written with bulk_create, and idempotent: a second
run finds the projects and adds nothing. The caller owns the transaction (duban.demo)."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from duban.audit.services import audit_record
from duban.projects.models import (
    ApprovalStep,
    MonthlyReport,
    Problem,
    Project,
    ProjectType,
    Sector,
)

YEAR = 2022
AS_OF = dt.date(2022, 9, 30)
COUNT = 848
TOTAL_YUAN = Decimal("476800000000")  # 4768亿元
TOTAL_WAN = 47_680_000
CODE_PREFIX = "ZD2022-"
SEED = 20220930

# How many projects of each type, and the relative size of their investment.
TYPES = [
    (ProjectType.NEW, 286, 1.0),
    (ProjectType.CONTINUING, 372, 1.5),
    (ProjectType.PREPARATORY, 130, 1.7),
    (ProjectType.COMPLETING, 60, 0.8),
]
# sector, weight, departments (code), name parts
SECTORS = [
    (
        Sector.INDUSTRY,
        14,
        ["jingfa", "touzi"],
        ["智能制造产业园", "新能源汽车零部件基地", "高端装备制造项目"],
    ),
    (Sector.TECHNOLOGY, 16, ["keji"], ["科创园", "软件小镇二期", "研发中心", "数字产业园"]),
    (Sector.FINANCE, 10, ["jinrong"], ["金融岛总部大厦", "基金小镇", "金融中心"]),
    (Sector.COMMERCE, 10, ["shangwu", "touzi"], ["商业综合体", "商贸中心", "文旅街区"]),
    (
        Sector.INFRASTRUCTURE,
        18,
        ["jianshe"],
        ["道路工程", "综合管廊", "供冷供热工程", "地下空间工程"],
    ),
    (Sector.URBAN, 8, ["chengguan"], ["老旧小区改造", "美丽街区提升", "停车场建设"]),
    (Sector.HOUSING, 10, ["jianshe"], ["安置房", "人才公寓", "保障性租赁住房"]),
    (
        Sector.SOCIAL,
        10,
        ["jiaowen", "weijian"],
        ["小学", "中学", "社区医院", "文化中心", "体育公园"],
    ),
    (Sector.ECOLOGY, 4, ["shengtai", "chengguan"], ["湿地公园", "水系治理", "绿化工程"]),
]
PLACES = ["龙子湖", "白沙", "金融岛", "龙湖", "东区", "如意湖", "商都", "博学路", "杨金", "祭城"]
COMPANIES = [
    "郑东新区建设开发投资总公司",
    "郑州东区发展投资有限公司",
    "中原科技城建设有限公司",
    "郑州龙湖金融中心开发有限公司",
    "河南省建设投资集团",
    "郑东新区城市更新有限公司",
]
# The months' share of the year's investment (more in spring and autumn, less in winter).
SEASON = [0.04, 0.04, 0.08, 0.09, 0.10, 0.10, 0.09, 0.09, 0.10, 0.10, 0.09, 0.08]


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _split(rng: random.Random, types) -> list[int]:
    """Integer 万元 per project that sum exactly to TOTAL_WAN: log-normal sizes (a few
    very large projects, many small ones), scaled, with the rounding put right at the end."""
    weights = []
    for _kind, count, scale in types:
        weights += [scale * rng.lognormvariate(0, 0.9) for _ in range(count)]
    total = sum(weights)
    amounts = [max(2000, int(TOTAL_WAN * w / total)) for w in weights]
    difference = TOTAL_WAN - sum(amounts)
    biggest = max(range(len(amounts)), key=amounts.__getitem__)
    amounts[biggest] += difference
    return amounts


def _dates(rng: random.Random, kind: str) -> dict:
    """Planned and actual gate dates of one project, consistent with its type and with
    nothing actual after AS_OF."""
    d: dict[str, dt.date | None] = {}

    def actual(planned: dt.date, slip_max: int, chance: float) -> dt.date | None:
        if rng.random() > chance:
            return None
        day = planned + dt.timedelta(days=rng.randint(-10, slip_max))
        return day if day <= AS_OF else None

    if kind == ProjectType.NEW:
        d["prep_planned"] = _day(rng, dt.date(2021, 3, 1), dt.date(2021, 9, 30))
        d["prep_actual"] = d["prep_planned"]
        late_plan = rng.random() < 0.06
        d["start_planned"] = _day(
            rng,
            dt.date(2022, 10, 1) if late_plan else dt.date(2022, 2, 20),
            dt.date(2022, 12, 15) if late_plan else dt.date(2022, 9, 20),
        )
        d["start_actual"] = actual(d["start_planned"], 35, 0.96)
        d["main_planned"] = d["start_planned"] + dt.timedelta(days=rng.randint(45, 120))
        if d["start_actual"]:
            d["main_actual"] = actual(
                max(d["main_planned"], d["start_actual"] + dt.timedelta(days=30)), 30, 0.9
            )
        d["topped_planned"] = d["main_planned"] + dt.timedelta(days=rng.randint(200, 420))
    elif kind == ProjectType.CONTINUING:
        d["prep_actual"] = d["prep_planned"] = _day(rng, dt.date(2018, 6, 1), dt.date(2020, 6, 1))
        d["start_planned"] = d["prep_planned"] + dt.timedelta(days=rng.randint(150, 400))
        d["start_actual"] = d["start_planned"] + dt.timedelta(days=rng.randint(0, 60))
        d["main_planned"] = d["start_planned"] + dt.timedelta(days=rng.randint(60, 120))
        d["main_actual"] = max(d["main_planned"], d["start_actual"]) + dt.timedelta(
            days=rng.randint(0, 40)
        )
        d["topped_planned"] = _day(rng, dt.date(2022, 3, 1), dt.date(2023, 10, 31))
        d["topped_actual"] = (
            actual(d["topped_planned"], 50, 0.85) if d["main_actual"] < AS_OF else None
        )
        if d["topped_actual"] and d["topped_actual"] <= d["main_actual"]:
            d["topped_actual"] = None
        d["complete_planned"] = d["topped_planned"] + dt.timedelta(days=rng.randint(180, 400))
        d["operate_planned"] = d["complete_planned"] + dt.timedelta(days=rng.randint(30, 120))
    elif kind == ProjectType.PREPARATORY:
        d["prep_actual"] = d["prep_planned"] = _day(rng, dt.date(2021, 10, 1), dt.date(2022, 4, 30))
        d["start_planned"] = _day(rng, dt.date(2022, 5, 1), dt.date(2023, 6, 30))
        d["start_actual"] = actual(d["start_planned"], 40, 0.8)
        if d["start_actual"] and d["start_actual"] <= d["prep_actual"]:
            d["start_actual"] = None
        d["main_planned"] = d["start_planned"] + dt.timedelta(days=rng.randint(60, 150))
    else:  # completing: built, finishing and opening this year
        d["prep_actual"] = d["prep_planned"] = _day(rng, dt.date(2017, 6, 1), dt.date(2018, 12, 31))
        d["start_planned"] = d["start_actual"] = d["prep_planned"] + dt.timedelta(
            days=rng.randint(200, 400)
        )
        d["main_planned"] = d["main_actual"] = d["start_actual"] + dt.timedelta(
            days=rng.randint(60, 120)
        )
        d["topped_planned"] = _day(rng, dt.date(2021, 1, 1), dt.date(2021, 10, 31))
        d["topped_actual"] = d["topped_planned"] + dt.timedelta(days=rng.randint(0, 40))
        d["complete_planned"] = _day(rng, dt.date(2022, 2, 1), dt.date(2022, 12, 15))
        d["complete_actual"] = actual(d["complete_planned"], 40, 0.9)
        if d["complete_actual"] and d["complete_actual"] <= d["topped_actual"]:
            d["complete_actual"] = None
        d["operate_planned"] = d["complete_planned"] + dt.timedelta(days=rng.randint(20, 90))
        if d["complete_actual"]:
            d["operate_actual"] = actual(
                max(d["operate_planned"], d["complete_actual"] + dt.timedelta(days=15)), 20, 0.8
            )
    return d


def _approvals(rng: random.Random, project: Project) -> list[ApprovalStep]:
    """立项 → 用地 → 规划许可 / 环评 → 施工许可, before the (planned or actual) start."""
    start = project.start_actual or project.start_planned
    prep = project.prep_actual or project.prep_planned or (start - dt.timedelta(days=300))
    land_gap = rng.choice([rng.randint(5, 30), rng.randint(30, 120), rng.randint(60, 200)])
    plans = {
        "approval": prep + dt.timedelta(days=rng.randint(10, 40)),
        "land": start - dt.timedelta(days=land_gap),
        "planning": start - dt.timedelta(days=rng.randint(10, max(11, land_gap - 1))),
        "eia": start - dt.timedelta(days=rng.randint(10, 60)),
        "construction": start - dt.timedelta(days=rng.randint(1, 9)),
    }
    steps = []
    for kind, planned in plans.items():
        planned = max(planned, prep)
        if project.start_actual:
            done = min(planned, project.start_actual)
        elif rng.random() < 0.6 and planned <= AS_OF:
            done = min(AS_OF, planned + dt.timedelta(days=rng.randint(0, 30)))
        else:
            done = None
        steps.append(
            ApprovalStep(project=project, kind=kind, planned_date=planned, actual_date=done)
        )
    return steps


def _reports(rng: random.Random, project: Project, before_year: Decimal, now) -> list:
    """Monthly reports of 2022 up to September, from the month the project started; a few
    September reports are still waiting for review on 09-30."""
    if project.start_actual is None and project.project_type != ProjectType.PREPARATORY:
        return []
    first = 1
    if project.start_actual and project.start_actual.year == YEAR:
        first = project.start_actual.month
    elif project.start_actual is None:
        return []
    pace = rng.uniform(0.9, 1.25)
    cumulative = before_year
    stage_on = {}
    for stage in ("start", "main", "topped", "complete", "operate"):
        actual = getattr(project, f"{stage}_actual")
        if actual and actual.year == YEAR:
            stage_on[actual.month] = (stage, actual)
    reports = []
    share_left = sum(SEASON[first - 1 :])
    for month in range(first, 10):
        share = SEASON[month - 1] / share_left if share_left else 0
        amount = project.annual_investment * Decimal(
            str(round(share * pace * rng.uniform(0.6, 1.2), 4))
        )
        amount = min(amount, project.total_investment - cumulative).quantize(Decimal("1"))
        amount = max(amount, Decimal(0))
        cumulative += amount
        period = _month_end(YEAR, month)
        stage, stage_date = stage_on.get(month, ("", None))
        waiting = month == 9 and rng.random() < 0.15
        reports.append(
            MonthlyReport(
                project=project,
                period_end=period,
                status=MonthlyReport.Status.SUBMITTED if waiting else MonthlyReport.Status.APPROVED,
                month_investment=amount,
                cumulative_investment=cumulative,
                stage=stage,
                stage_date=stage_date,
                work_done=f"{month}月完成投资{(amount / 10000).quantize(Decimal('1'))}万元",
                created_at=now,
                submitted_at=now,
                reviewed_at=None if waiting else now,
            )
        )
    return reports


PROBLEMS = [
    ("land", "用地指标尚未落实，需协调土地报批", "jianshe"),
    ("permits", "施工许可办理材料需并联审批", "zhengwu"),
    ("utilities", "临时用电、用水接入滞后", "chengguan"),
    ("financing", "项目资本金到位不足，需协调融资", "jinrong"),
    ("demolition", "红线内征迁未完成", "jianshe"),
    ("permits", "规划方案调整待审批", "zhengwu"),
    ("financing", "专项债资金拨付进度慢", "caizheng"),
]


def build_projects_demo(*, departments: dict, progress=None) -> str:
    """Make the demo pipeline (once) and return a one-line summary."""
    existing = Project.objects.filter(plan_year=YEAR, code__startswith=CODE_PREFIX)
    if existing.exists():
        return _summary(existing, created=False)
    rng = random.Random(SEED)
    now = timezone.make_aware(dt.datetime(2022, 9, 30, 18, 0))
    amounts = _split(rng, TYPES)
    kinds = [kind for kind, count, _scale in TYPES for _ in range(count)]
    order = list(range(COUNT))
    rng.shuffle(order)
    sector_weights = [w for _s, w, _d, _n in SECTORS]
    projects = []
    for number, index in enumerate(order, start=1):
        kind = kinds[index]
        sector, _w, codes, names = rng.choices(SECTORS, weights=sector_weights)[0]
        total = Decimal(amounts[index]) * 10000
        share = {
            ProjectType.NEW: (0.15, 0.35),
            ProjectType.CONTINUING: (0.18, 0.40),
            ProjectType.PREPARATORY: (0.02, 0.08),
            ProjectType.COMPLETING: (0.08, 0.25),
        }[kind]
        annual = (total * Decimal(str(round(rng.uniform(*share), 3))) / 10000).quantize(
            Decimal("1")
        ) * 10000
        place = rng.choice(PLACES)
        latitude = Decimal(str(round(34.72 + rng.uniform(0, 0.12), 6)))
        longitude = Decimal(str(round(113.70 + rng.uniform(0, 0.16), 6)))
        projects.append(
            Project(
                plan_year=YEAR,
                code=f"{CODE_PREFIX}{number:04}",
                name=f"{place}{rng.choice(names)}",
                sector=sector,
                project_type=kind,
                lead_department=departments[rng.choice(codes)],
                owner_company=rng.choice(COMPANIES),
                address=f"郑东新区{place}片区",
                latitude=latitude if rng.random() < 0.7 else None,
                longitude=longitude,
                total_investment=total,
                annual_investment=annual,
                created_at=now,
                updated_at=now,
                **_dates(rng, kind),
            )
        )
    for p in projects:
        if p.latitude is None:
            p.longitude = None
    Project.objects.bulk_create(projects, batch_size=500)
    if progress:
        progress.step("projects")
    # bulk_create sets primary keys on PostgreSQL and SQLite (RETURNING).
    steps, reports = [], []
    for project in projects:
        steps += _approvals(rng, project)
        done_before = Decimal(0)
        if project.project_type in (ProjectType.CONTINUING, ProjectType.COMPLETING):
            done_before = (project.total_investment - project.annual_investment) * Decimal(
                str(round(rng.uniform(0.45, 0.9), 3))
            )
            done_before = done_before.quantize(Decimal("1"))
        reports += _reports(rng, project, done_before, now)
    ApprovalStep.objects.bulk_create(steps, batch_size=1000)
    MonthlyReport.objects.bulk_create(reports, batch_size=1000)
    if progress:
        progress.step("reports")
    problems = []
    candidates = [p for p in projects if p.project_type != ProjectType.COMPLETING]
    for project in rng.sample(candidates, 64):
        category, text, code = rng.choice(PROBLEMS)
        raised = _day(rng, dt.date(2022, 3, 1), dt.date(2022, 9, 20))
        deadline = raised + dt.timedelta(days=rng.choice([15, 30, 45, 60]))
        state = rng.random()
        problem = Problem(
            project=project,
            category=category,
            description=text,
            assigned_department=departments[code],
            deadline=deadline,
            raised_on=raised,
        )
        if state < 0.45:
            resolved = min(AS_OF, raised + dt.timedelta(days=rng.randint(5, 70)))
            problem.status = Problem.Status.CLOSED if state < 0.35 else Problem.Status.RESOLVED
            problem.resolution = "已协调相关单位解决"
            problem.resolved_on = resolved
            if problem.status == Problem.Status.CLOSED:
                problem.closed_on = min(AS_OF, resolved + dt.timedelta(days=3))
        problems.append(problem)
    Problem.objects.bulk_create(problems)
    with transaction.atomic():
        audit_record(
            actor=None,
            action="project.demo",
            entity="projects.demo",
            after={"projects": len(projects), "reports": len(reports), "problems": len(problems)},
        )
    if progress:
        progress.step("problems")
    return _summary(existing, created=True)


def _summary(projects, *, created: bool) -> str:
    from django.db.models import Count, Sum

    agg = projects.aggregate(n=Count("id"), total=Sum("total_investment"))
    reports = MonthlyReport.objects.filter(project__in=projects).count()
    problems = Problem.objects.filter(project__in=projects).count()
    total = (agg["total"] or 0) / Decimal(100000000)
    verb = "made" if created else "found"
    return (
        f"projects: {verb} {agg['n']} projects worth {total:.0f}亿元, "
        f"{reports} monthly reports, {problems} problems"
    )
