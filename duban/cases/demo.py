"""The cases demo: the service catalogue of a Chinese district, the Open311 client with the
key `demo-open311-key`, and a year of cases as of 2022-09-30 (seasonal, some overdue),
generated deterministically and written in batches.

Idempotent: the generated cases carry the demo generator's client and an external id, so a
second run finds them and adds nothing."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from duban.accounts.models import ApiClient
from duban.accounts.tokens import api_client_create, key_hash
from duban.audit.services import audit_record
from duban.cases import rollup
from duban.cases.models import (
    Case,
    CaseEvent,
    Category,
    ClockStart,
    Status,
    overdue_at_refresh,
)
from duban.cases.services import calendar_load, category_save
from duban.cases.workdays import WorkCalendar

OPEN311_KEY = "demo-open311-key"
AS_OF = dt.date(2022, 9, 30)
SEED = 20220930
TOTAL = 104_000
BATCH = 5000
GENERATOR = "演示数据生成器"

# code, name, group, department, emergency, (response), (resolution), clock start,
# keywords, monthly weights Jan..Dec, share, sample problems
CATALOGUE = [
    (
        "city",
        "城市管理",
        "城市管理",
        "chengguan",
        False,
        (4, "working_hours"),
        (5, "working_days"),
        "receipt",
        "占道经营,违章搭建,户外广告",
        [8, 8, 9, 10, 11, 12, 12, 12, 11, 10, 9, 8],
        14,
        ["门口占道经营严重影响通行", "小区内有人私搭乱建", "户外广告牌松动有坠落危险"],
    ),
    (
        "sanitation",
        "市容环卫",
        "城市管理",
        "chengguan",
        False,
        (2, "working_hours"),
        (2, "working_days"),
        "receipt",
        "垃圾,保洁,公厕",
        [8, 9, 9, 10, 11, 13, 14, 14, 11, 10, 9, 8],
        12,
        ["垃圾桶满溢无人清运", "道路保洁不到位", "公厕卫生差"],
    ),
    (
        "traffic",
        "交通出行",
        "交通",
        "jianshe",
        False,
        (4, "working_hours"),
        (5, "working_days"),
        "receipt",
        "信号灯,道路破损,停车",
        [9, 9, 10, 10, 10, 11, 11, 11, 10, 10, 9, 9],
        11,
        ["路口信号灯故障", "道路坑洼影响行车", "共享单车乱停放"],
    ),
    (
        "water-heat",
        "供水供暖",
        "公用事业",
        "jianshe",
        True,
        (2, "hours"),
        (24, "hours"),
        "receipt",
        "停水,水压,暖气",
        [20, 18, 12, 4, 3, 4, 5, 5, 4, 6, 16, 20],
        10,
        ["家中暖气不热", "小区突然停水", "水压太低"],
    ),
    (
        "property",
        "物业管理",
        "住房",
        "jianshe",
        False,
        (1, "working_days"),
        (10, "working_days"),
        "receipt",
        "物业,电梯,维修基金",
        [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10],
        9,
        ["电梯经常故障", "物业不作为", "小区门禁损坏"],
    ),
    (
        "noise",
        "噪音扰民",
        "生态环境",
        "shengtai",
        False,
        (2, "hours"),
        (3, "working_days"),
        "receipt",
        "噪音,施工,广场舞",
        [5, 5, 7, 9, 11, 14, 15, 15, 10, 8, 6, 5],
        9,
        ["夜间施工噪音扰民", "广场舞音响声音过大", "商铺外放音乐"],
    ),
    (
        "labour",
        "劳动保障",
        "人社",
        "renshe",
        False,
        (1, "working_days"),
        (15, "working_days"),
        "dispatch",
        "欠薪,社保,劳动合同",
        [18, 14, 8, 8, 8, 8, 8, 8, 8, 8, 10, 14],
        7,
        ["工地拖欠农民工工资", "公司未缴社保", "被无故辞退"],
    ),
    (
        "education",
        "教育",
        "教育文体",
        "jiaowen",
        False,
        (1, "working_days"),
        (10, "working_days"),
        "receipt",
        "入学,校外培训,学校",
        [6, 10, 8, 6, 6, 8, 10, 14, 16, 6, 5, 5],
        6,
        ["孩子入学咨询", "校外培训机构违规收费", "学校周边交通拥堵"],
    ),
    (
        "medical",
        "医疗卫生",
        "卫生健康",
        "weijian",
        False,
        (4, "working_hours"),
        (5, "working_days"),
        "receipt",
        "医院,疫苗,核酸",
        [12, 12, 10, 10, 9, 8, 8, 8, 8, 9, 10, 12],
        8,
        ["医院挂号难", "疫苗接种预约咨询", "核酸检测点排队过长"],
    ),
    (
        "govservice",
        "政务服务",
        "政务",
        "zhengwu",
        False,
        (2, "working_hours"),
        (3, "working_days"),
        "receipt",
        "办事,审批,窗口",
        [8, 6, 10, 10, 10, 10, 9, 9, 10, 8, 10, 10],
        7,
        ["办事窗口排队时间长", "审批材料要求不清楚", "网上办事系统打不开"],
    ),
    (
        "market",
        "市场监管与消费",
        "商务",
        "shangwu",
        False,
        (1, "working_days"),
        (7, "working_days"),
        "receipt",
        "消费,价格,食品",
        [10, 12, 8, 8, 9, 9, 9, 9, 9, 10, 12, 12],
        5,
        ["商家拒不退款", "超市销售过期食品", "价格欺诈"],
    ),
    (
        "environment",
        "环境污染",
        "生态环境",
        "shengtai",
        False,
        (4, "working_hours"),
        (5, "working_days"),
        "receipt",
        "油烟,异味,污水",
        [8, 8, 8, 9, 10, 11, 12, 12, 10, 8, 8, 8],
        3,
        ["餐馆油烟直排", "河道有异味", "工厂夜间偷排污水"],
    ),
]
NOISE_ATTRIBUTES = [
    {
        "code": "when",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "噪音发生时段",
        "values": [
            {"key": "day", "name": "白天"},
            {"key": "night", "name": "夜间（22时至次日6时）"},
        ],
    },
    {
        "code": "source",
        "datatype": "multivaluelist",
        "required": False,
        "description": "噪音来源",
        "values": [
            {"key": "construction", "name": "施工"},
            {"key": "business", "name": "商业经营"},
            {"key": "residents", "name": "居民生活"},
        ],
    },
]
WATER_NOTICE = "燃气泄漏、爆管等危险情况请立即拨打119或燃气抢修电话。"
STREETS = [
    "金水东路",
    "商务外环路",
    "农业东路",
    "龙湖中环路",
    "如意西路",
    "心怡路",
    "众意路",
    "平安大道",
    "七里河南路",
    "聚源路",
    "祥盛街",
    "博学路",
]
CHANNELS = [
    ("hotline", 55),
    ("web", 14),
    ("open311", 9),
    ("inspection", 10),
    ("camera", 6),
    ("drone", 2),
    ("api", 4),
]
MONTH_VOLUME = [7, 6, 8, 8, 9, 10, 10, 10, 9, 8, 8, 7]


def demo_catalogue(departments) -> dict[str, Category]:
    result = {}
    for position, row in enumerate(CATALOGUE):
        code, name, group, dept, emergency, response, resolution, start, keywords = row[:9]
        category = Category.objects.filter(code=code).first()
        if category is None:
            category = category_save(
                actor=None,
                code=code,
                name=name,
                group=group,
                description=f"{name}：{keywords.replace(',', '、')}等",
                keywords=keywords,
                default_department=departments[dept],
                emergency=emergency,
                service_notice=WATER_NOTICE if emergency else "",
                response_limit=response[0],
                response_unit=response[1],
                resolution_limit=resolution[0],
                resolution_unit=resolution[1],
                clock_start=start,
                position=position,
                attributes=[dict(a) for a in NOISE_ATTRIBUTES] if code == "noise" else [],
            )
        result[code] = category
    return result


def _client(name: str, scope: str, raw_key: str | None = None) -> ApiClient:
    if raw_key is not None:
        existing = ApiClient.objects.filter(key_hash=key_hash(raw_key)).first()
    else:
        existing = ApiClient.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return api_client_create(name=name, scope=scope, actor=None, raw_key=raw_key)[0]


def _pick(rng: random.Random, weighted):
    return rng.choices([k for k, _w in weighted], weights=[w for _k, w in weighted])[0]


def build_cases_demo(*, departments: dict, progress=None, total: int = TOTAL) -> str:
    """Create the catalogue, the Open311 client and a year of cases (once)."""
    with transaction.atomic():
        calendar_load(actor=None)
        categories = demo_catalogue(departments)
        _client("Open311 演示客户端", ApiClient.Scope.OPEN311, OPEN311_KEY)
        generator = _client(GENERATOR, ApiClient.Scope.CASES)
        if generator.is_active:
            # It only marks the generated cases; nobody knows its key, nobody may use it.
            ApiClient.objects.filter(pk=generator.pk).update(is_active=False)
        existing = Case.objects.filter(api_client=generator).count()
        created = 0
        if existing == 0:
            created = _generate(categories, generator, total=total, progress=progress)
            # The bulk insert bypassed the services: count its days into the KPI roll-up,
            # and set when each case turns red.
            rollup.rebuild(start=AS_OF - dt.timedelta(days=364), end=AS_OF)
            overdue_at_refresh(Case.objects.filter(api_client=generator))
            audit_record(
                actor="demo",
                action="case.demo_generate",
                entity="cases.case",
                entity_id="",
                after={"cases": created, "as_of": AS_OF},
            )
    count = Case.objects.count()
    overdue = Case.objects.filter(
        status__in=[Status.DISPATCHED, Status.ACCEPTED, Status.RESPONDED],
        resolution_deadline__lt=dt.datetime.combine(
            AS_OF, dt.time(23, 59, 59), tzinfo=timezone.get_default_timezone()
        ),
    ).count()
    return (
        f"cases: {len(categories)} services, {count} cases ({created} new, {overdue} overdue "
        f"as of {AS_OF}), Open311 key {OPEN311_KEY}"
    )


class _Row:
    """A case as plain attributes (no model instance: 100,000 of those are slow)."""

    def __init__(self, defaults: dict):
        self.__dict__.update(defaults)


def _defaults(model) -> dict:
    values = {}
    for field in model._meta.concrete_fields:
        values[field.attname] = None if field.primary_key else field.get_default()
    return values


def _insert(model, rows: list[dict]) -> None:
    """INSERT many rows with one executemany, adapting values as the ORM would."""
    ops = connection.ops
    fields = model._meta.concrete_fields
    converters = []
    for field in fields:
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            if connection.vendor == "sqlite":
                # What the SQLite backend stores: naive UTC text.
                converters.append(lambda v: str(v.astimezone(dt.UTC).replace(tzinfo=None)))
            else:
                converters.append(ops.adapt_datetimefield_value)
        elif kind == "DecimalField":
            converters.append(
                lambda v, f=field: ops.adapt_decimalfield_value(v, f.max_digits, f.decimal_places)
            )
        elif kind == "JSONField":
            converters.append(lambda v, f=field: f.get_db_prep_save(v, connection))
        else:
            converters.append(None)
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"
    names = [f.attname for f in fields]
    params = [
        [
            conv(row[name]) if conv is not None and row[name] is not None else row[name]
            for name, conv in zip(names, converters, strict=True)
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _reset_sequences(*models) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _generate(categories, generator, *, total, progress) -> int:
    rng = random.Random(SEED)
    tz = timezone.get_default_timezone()
    now = dt.datetime.combine(AS_OF, dt.time(23, 59, 59), tzinfo=tz)
    first_day = AS_OF - dt.timedelta(days=364)
    calendar = WorkCalendar()
    days = [first_day + dt.timedelta(days=i) for i in range(365)]
    day_weights = [
        MONTH_VOLUME[d.month - 1]
        * (0.7 if d.weekday() >= 5 else 1.0)
        * (1.6 if d > AS_OF - dt.timedelta(days=20) else 1.0)
        for d in days
    ]
    cats = list(CATALOGUE)
    month_weights = [[c[10] * c[9][m] for c in cats] for m in range(12)]
    hours = [
        (h, w)
        for h, w in zip(
            range(24),
            [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 11, 8, 9, 11, 12, 11, 10, 9, 8, 7, 5, 3, 2],
            strict=True,
        )
    ]
    made = 0
    seq = 0
    case_defaults = _defaults(Case)
    event_defaults = _defaults(CaseEvent)
    next_case = _first_free_id(Case)
    next_event = _first_free_id(CaseEvent)
    while made < total:
        batch_size = min(BATCH, total - made)
        cases, lives = [], []
        for _i in range(batch_size):
            seq += 1
            day = rng.choices(days, weights=day_weights)[0]
            month = day.month - 1
            row = rng.choices(cats, weights=month_weights[month])[0]
            category = categories[row[0]]
            received = dt.datetime.combine(
                day, dt.time(_pick(rng, hours), rng.randint(0, 59)), tzinfo=tz
            )
            if received > now:
                received = now - dt.timedelta(minutes=rng.randint(1, 600))
            case, life = _one(
                rng, calendar, now, category, row, received, generator, seq, case_defaults
            )
            cases.append(case)
            lives.append(life)
        events = []
        for case, life in zip(cases, lives, strict=True):
            case.id = next_case
            next_case += 1
            for kind, at, status, department_id in life:
                event = dict(event_defaults)
                event.update(
                    id=next_event,
                    case_id=case.id,
                    kind=kind,
                    at=at,
                    actor_label=ACTORS.get(kind, "department"),
                    to_status=status,
                    department_id=department_id,
                )
                next_event += 1
                events.append(event)
        _insert(Case, [case.__dict__ for case in cases])
        _insert(CaseEvent, events)
        made += batch_size
        if progress is not None:
            progress.step(f"cases {made}/{total}", n=0)
    if made:  # the sequences then move on past the ids written (never back)
        _reset_sequences(Case, CaseEvent)
    return made


def _first_free_id(model) -> int:
    """Above every stored id and, on PostgreSQL, every key the sequence has given out: a
    worker may hold keys it took ahead and has not used yet (core.sql.reserve_key)."""
    highest = model.objects.aggregate(m=Max("id"))["m"] or 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT last_value FROM pg_sequences "
                "WHERE format('%%I.%%I', schemaname, sequencename) = "
                "pg_get_serial_sequence(%s, %s)",
                [model._meta.db_table, model._meta.pk.column],
            )
            row = cursor.fetchone()
        highest = max(highest, (row and row[0]) or 0)
    return highest + 1


ACTORS = {
    "received": "citizen",
    "feedback": "citizen",
    "register": "planner",
    "dispatch": "planner",
    "verify": "planner",
    "close": "planner",
    "void": "planner",
    "approve_return": "planner",
    "approve_extension": "planner",
}


def _one(rng, calendar, now, category, row, received, generator, seq, defaults):
    channel = _pick(rng, CHANNELS)
    street = rng.choice(STREETS)
    address = f"{street}{rng.randint(1, 300)}号"
    lat = round(34.74 + rng.random() * 0.06, 6)
    lon = round(113.70 + rng.random() * 0.08, 6)
    description = rng.choice(row[11])
    attributes = {}
    if row[0] == "noise":
        attributes = {"when": rng.choice(["day", "night", "night"])}
    case = _Row(defaults)
    case.__dict__.update(
        category_id=category.pk,
        channel=channel,
        description=f"{address}附近{description}。",
        address=address,
        lat=Decimal(str(lat)),
        long=Decimal(str(lon)),
        attributes=attributes,
        reporter_name=""
        if rng.random() < 0.3
        else rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["先生", "女士"]),
        reporter_phone="" if rng.random() < 0.2 else f"139{rng.randint(10_000_000, 99_999_999)}",
        api_client_id=generator.pk,
        external_id=f"demo-{seq:07d}",
        received_at=received,
        status=Status.RECEIVED,
    )
    life = [("received", received, Status.RECEIVED, None)]
    department = category.default_department_id

    def step(kind, at, status):
        life.append((kind, at, status, case.department_id))
        case.status = status
        case.updated_at = at

    case.updated_at = received
    if category.clock_start == ClockStart.RECEIPT:
        _deadlines(case, calendar, received, category)
    # Registered and dispatched within minutes to a few hours (nights wait for the morning).
    registered = received + dt.timedelta(minutes=rng.randint(2, 40))
    if registered > now:
        return case, life
    case.registered_at = registered
    step("register", registered, Status.REGISTERED)
    if rng.random() < 0.02:
        case.closed_at = registered + dt.timedelta(minutes=5)
        case.status_notes = "重复件，已合并办理" if rng.random() < 0.6 else "无效诉求"
        if case.closed_at <= now:
            step("void", case.closed_at, Status.VOID)
        return case, life
    dispatched = registered + dt.timedelta(minutes=rng.randint(3, 120))
    if dispatched > now:
        return case, life
    case.department_id = department
    case.dispatched_at = dispatched
    if category.clock_start == ClockStart.DISPATCH:
        _deadlines(case, calendar, dispatched, category)
    step("dispatch", dispatched, Status.DISPATCHED)
    if rng.random() < 0.03:
        case.return_count = 1  # returned once and re-dispatched to the same default
        life.append(
            ("approve_return", dispatched + dt.timedelta(minutes=30), Status.REGISTERED, department)
        )
        dispatched = dispatched + dt.timedelta(minutes=rng.randint(40, 240))
        if dispatched > now:
            case.status = Status.REGISTERED
            case.department_id = None
            return case, life
        case.dispatched_at = dispatched
        step("dispatch", dispatched, Status.DISPATCHED)
    span = case.response_deadline - case.clock_started_at
    accepted = dispatched + min(span * 0.3, dt.timedelta(minutes=rng.randint(5, 90)))
    if accepted > now:
        return case, life
    case.accepted_at = accepted
    step("accept", accepted, Status.ACCEPTED)
    late = rng.random() < 0.07
    responded = (
        case.response_deadline + dt.timedelta(minutes=rng.randint(10, 600))
        if late
        else accepted + (case.response_deadline - accepted) * rng.uniform(0.1, 0.95)
    )
    if responded > now:
        return case, life
    case.responded_at = responded
    step("respond", responded, Status.RESPONDED)
    if rng.random() < 0.04:
        case.extension_count = 1
        extended = calendar.deadline(
            case.resolution_deadline,
            3 if category.resolution_unit == "working_days" else 12,
            category.resolution_unit,
        )
        case.resolution_deadline = extended
        case.resolution_warn_at = calendar.warn_at(
            case.clock_started_at, extended, category.resolution_unit
        )
        life.append(
            ("approve_extension", responded + dt.timedelta(hours=2), Status.RESPONDED, department)
        )
    stuck = rng.random() < 0.02  # forgotten: turns red
    if stuck:
        return case, life
    resolution_span = case.resolution_deadline - responded
    late = rng.random() < 0.08
    resolved = (
        case.resolution_deadline + dt.timedelta(hours=rng.randint(2, 96))
        if late
        else responded + resolution_span * rng.uniform(0.05, 0.98)
    )
    if resolved > now:
        return case, life
    case.resolved_at = resolved
    case.result = (
        "已到现场核查处理，问题已解决。"
        if rng.random() < 0.85
        else "已答复诉求人相关政策及办理途径。"
    )
    case.status_notes = case.result
    step("resolve", resolved, Status.RESOLVED)
    feedback_at = resolved + dt.timedelta(hours=rng.randint(2, 72))
    if rng.random() < 0.65 and feedback_at <= now:
        answer = rng.choices(["satisfied", "basic", "dissatisfied"], weights=[74, 18, 8])[0]
        case.satisfaction = answer
        case.feedback_solved = answer != "dissatisfied" or rng.random() < 0.2
        case.feedback_at = feedback_at
        if answer == "dissatisfied" and rng.random() < 0.5:
            case.reopen_count = 1
        if answer != "dissatisfied":
            case.verified_at = feedback_at
            step("feedback", feedback_at, Status.VERIFIED)
        else:
            life.append(("feedback", feedback_at, Status.RESOLVED, department))
    if case.verified_at is None:
        verified = resolved + dt.timedelta(days=1)
        if verified > now:
            return case, life
        case.verified_at = verified
        step("verify", verified, Status.VERIFIED)
    closed = case.verified_at + dt.timedelta(days=2)
    if closed <= now:
        case.closed_at = closed
        step("close", closed, Status.CLOSED)
    return case, life


def _deadlines(case, calendar, start, category):
    case.clock_started_at = start
    case.response_deadline = calendar.deadline(
        start, category.response_limit, category.response_unit
    )
    case.response_warn_at = calendar.warn_at(start, case.response_deadline, category.response_unit)
    case.resolution_deadline = calendar.deadline(
        start, category.resolution_limit, category.resolution_unit
    )
    case.resolution_warn_at = calendar.warn_at(
        start, case.resolution_deadline, category.resolution_unit
    )
