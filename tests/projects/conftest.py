"""Small hand-made pipelines: projects are written directly (the services are tested on
their own), so that each test states exactly the dates it is about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from duban.projects.models import ApprovalStep, MonthlyReport, Project

D = dt.date
NOW = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)


def make_project(department, code: str, project_type: str = "new", **fields) -> Project:
    values = {
        "plan_year": 2022,
        "name": f"项目{code}",
        "sector": "industry",
        "owner_company": "某某建设有限公司",
        "total_investment": Decimal("100000000"),
        "annual_investment": Decimal("12000000"),
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return Project.objects.create(
        code=code, project_type=project_type, lead_department=department, **values
    )


def make_report(project, period_end, month, cumulative, status="approved", version=1, **fields):
    return MonthlyReport.objects.create(
        project=project,
        period_end=period_end,
        version=version,
        status=status,
        month_investment=Decimal(month),
        cumulative_investment=Decimal(cumulative),
        created_at=NOW,
        **fields,
    )


def make_land(project, actual, planned=None):
    return ApprovalStep.objects.create(
        project=project, kind="land", actual_date=actual, planned_date=planned
    )


@pytest.fixture
def project(dept):
    """A continuing project of the owner's department, started 2021-05-10."""
    return make_project(
        dept,
        "P-1",
        "continuing",
        start_planned=D(2021, 5, 1),
        start_actual=D(2021, 5, 10),
        main_planned=D(2021, 8, 1),
        main_actual=D(2021, 8, 20),
        topped_planned=D(2022, 6, 30),
    )


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in their English source form (the UI default is Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_stranger(db):
    """A reporter of a third department, concerned by nothing in the tests."""

    def _make():
        from duban.accounts.models import Department
        from tests.conftest import make_user

        third = Department.objects.create(name="卫生健康局", code="weijian")
        return make_user("stranger", "reporter", third)

    return _make
