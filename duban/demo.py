"""The demo data, built the same way for `duban demo` and for tests (one builder, so the
tests exercise what a newcomer sees).

Every step is idempotent: running it twice finds what the first run made."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from duban.accounts.models import Department, Role, User

DEMO_PASSWORD = "duban-demo-2022"
REPORT_NAME = "zhengdong_2022_work_conference.txt"
DEMO_YEAR = 2022
# The demo tells the plan year's story as of this day (make demo pins the clock to it).
DEMO_AS_OF = dt.date(2022, 9, 30)

# (code, name) of the district's departments; the first is the supervision office.
DEPARTMENTS = [
    ("duchashi", "党政办公室（督查室）"),
    ("jingfa", "经济发展局"),
    ("caizheng", "财政局"),
    ("keji", "科技创新局"),
    ("shangwu", "商务局"),
    ("jinrong", "金融服务局"),
    ("jianshe", "建设局"),
    ("chengguan", "城市管理局"),
    ("jiaowen", "教育文化体育局"),
    ("weijian", "卫生健康局"),
    ("renshe", "人力资源和社会保障局"),
    ("shengtai", "生态环境分局"),
    ("zhengwu", "政务服务办公室"),
    ("touzi", "投资促进局"),
]

# (username, full name, role, department code or None)
USERS = [
    ("admin", "系统管理员", Role.ADMIN, "duchashi"),
    ("planner", "王督查", Role.PLANNER, "duchashi"),
    ("leader", "李主任", Role.LEADER, "duchashi"),
    ("jingfa", "张经发", Role.REPORTER, "jingfa"),
    ("keji", "赵科创", Role.REPORTER, "keji"),
    ("jianshe", "陈建设", Role.REPORTER, "jianshe"),
    ("chengguan", "刘城管", Role.REPORTER, "chengguan"),
    ("jinrong", "周金融", Role.REPORTER, "jinrong"),
    ("zhengwu", "吴政务", Role.REPORTER, "zhengwu"),
    # 12345 hotline: enters calls and looks cases up; no department (docs/cases.md).
    ("operator", "孙话务", Role.OPERATOR, None),
]

# Where a commitment's words point to its lead department (牵头单位). A planner reviews
# these; they only spare the demo from starting with nothing assigned.
LEAD_KEYWORDS = [
    ("金融", "jinrong"),
    ("基金", "jinrong"),
    ("科技", "keji"),
    ("人才", "keji"),
    ("高新技术", "keji"),
    ("创新", "keji"),
    ("消费", "shangwu"),
    ("零售", "shangwu"),
    ("外资", "shangwu"),
    ("招商", "touzi"),
    ("项目", "jianshe"),
    ("投资", "jingfa"),
    ("生产总值", "jingfa"),
    ("工业", "jingfa"),
    ("预算", "caizheng"),
    ("税收", "caizheng"),
    ("学", "jiaowen"),
    ("医", "weijian"),
    ("就业", "renshe"),
    ("垃圾", "chengguan"),
    ("停车", "chengguan"),
    ("绿", "chengguan"),
    ("道路", "jianshe"),
    ("安置", "jianshe"),
    ("空气", "shengtai"),
    ("水", "shengtai"),
    ("审批", "zhengwu"),
    ("政务", "zhengwu"),
]


def report_text() -> str:
    """The fixture report: the shared copy when the repository sits beside ../shared,
    else the copy the project carries."""
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / REPORT_NAME
    own = Path(__file__).resolve().parent / "demo_data" / REPORT_NAME
    path = shared if shared.is_file() else own
    return path.read_text(encoding="utf-8")


@dataclass
class DemoSummary:
    departments: int
    users: int
    commitments: int
    details: list[str]


def demo_departments() -> dict[str, Department]:
    result = {}
    for index, (code, name) in enumerate(DEPARTMENTS):
        department, _ = Department.objects.get_or_create(
            code=code, defaults={"name": name, "is_supervision_office": index == 0}
        )
        result[code] = department
    return result


def demo_users(departments: dict[str, Department]) -> list[User]:
    users = []
    for username, full_name, role, code in USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                first_name=full_name,
                role=role,
                department=departments[code] if code else None,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
                email=f"{username}@duban.example",
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        users.append(user)
    return users


def guess_lead_department(indicator: str, text: str, departments: dict[str, Department]):
    for keyword, code in LEAD_KEYWORDS:
        if keyword in indicator:
            return departments[code]
    for keyword, code in LEAD_KEYWORDS:
        if keyword in text:
            return departments[code]
    return departments["jingfa"]


def demo_plan(departments: dict[str, Department], planner: User):
    """Import the fixture report through the same path a planner uses, approve it, and
    give each commitment a lead department."""
    from duban.plans.models import ReportImport
    from duban.plans.services import commitment_assign, report_import_approve, report_import_create

    result = report_import_create(
        text=report_text(), year=DEMO_YEAR, title="郑东新区2022年度工作大会", actor=planner
    )
    report_import = result.report_import
    if report_import.status == ReportImport.Status.REVIEWING:
        report_import_approve(report_import=report_import, actor=planner)
    commitments = list(report_import.plan.commitments.filter(lead_department__isnull=True))
    for commitment in commitments:
        commitment_assign(
            commitment=commitment,
            actor=planner,
            lead=guess_lead_department(commitment.indicator, commitment.text, departments),
        )
    return report_import.plan


def build_demo(progress=None, *, cases_total: int | None = None) -> DemoSummary:
    """Load the whole demo in one transaction: interrupted, it leaves nothing half-written.

    The pipeline is built before the plan, so that the plan's commitments about starting
    projects can take their figures from it."""
    from duban.cases.demo import build_cases_demo
    from duban.plans.demo import build_tracking_demo
    from duban.projects.demo import build_projects_demo

    details = []
    if progress is not None:
        progress.total = 5
    cases_options = {} if cases_total is None else {"total": cases_total}
    with transaction.atomic():
        departments = demo_departments()
        users = demo_users(departments)
        if progress:
            progress.step("departments and users")
        details.append(build_projects_demo(departments=departments))
        if progress:
            progress.step("projects")
        planner = next(u for u in users if u.username == "planner")
        plan = demo_plan(departments, planner)
        if progress:
            progress.step("plan")
        details.append(build_tracking_demo(plan=plan, planner=planner, as_of=DEMO_AS_OF))
        if progress:
            progress.step("progress")
        details.append(build_cases_demo(departments=departments, **cases_options))
        if progress:
            progress.step("cases")
    return DemoSummary(
        departments=Department.objects.count(),
        users=User.objects.count(),
        commitments=plan.commitments.count(),
        details=details,
    )
