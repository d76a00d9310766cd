from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Shanghai")


def at(y, m, d, hh=10, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def category(dept, planner):
    from duban.cases.services import category_save

    return category_save(
        actor=planner,
        code="noise",
        name="噪音扰民",
        group="环境",
        default_department=dept,
        response_limit=2,
        response_unit="working_hours",
        resolution_limit=3,
        resolution_unit="working_days",
        clock_start="receipt",
        attributes=[
            {
                "code": "when",
                "datatype": "singlevaluelist",
                "required": True,
                "description": "什么时候",
                "values": [{"key": "day", "name": "白天"}, {"key": "night", "name": "夜间"}],
            },
            {"code": "db", "datatype": "number", "required": False, "description": "分贝"},
        ],
    )


@pytest.fixture
def friday(time_machine):
    time_machine.move_to(at(2022, 9, 30, 10), tick=False)
    return time_machine


@pytest.fixture
def make_case(category):
    from duban.cases.services import case_create

    def _make(**kwargs):
        data = {
            "category": category,
            "channel": "web",
            "description": "楼下烧烤店深夜噪音",
            "address": "金水东路1号",
            "attributes": {"when": "night"},
            "reporter_name": "张三丰",
            "reporter_phone": "13912345678",
            "reporter_email": "zsf@example.com",
            "tracking": True,
        }
        data.update(kwargs)
        return case_create(**data)

    return _make


@pytest.fixture(autouse=True)
def english(settings):
    """Tests read the English source strings; test_pages checks the Chinese UI."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def no_process_memory():
    """Each test starts with no API client remembered and no keys taken ahead (both live
    for the process: a test's count of queries would depend on the tests before it)."""
    from duban.accounts.tokens import api_clients_forget
    from duban.core.sql import forget_reserved_keys

    api_clients_forget()
    forget_reserved_keys()
    yield
