"""insert_row's fast paths for int, bool, str and aware datetimes take exact types only:
values of a neighbouring type (a bool or an IntEnum in an integer field, an int in a
boolean field, a str subclass, a naive datetime, a Decimal with more places, JSON with
nulls) take the fields' conversions and store what Model.save() stores, on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import enum
import warnings
from decimal import Decimal

import pytest
from django.db import models

from duban.cases.models import Case, Channel, Status
from duban.core.sql import insert_row

from .conftest import at

pytestmark = pytest.mark.django_db


class Amount(enum.IntEnum):
    TEN = 10


def _case(category, tracking_hash: str) -> Case:
    return Case(
        category=category,
        channel=Channel.API,
        status=Status.REGISTERED,  # a str subclass
        description="井盖缺失 100% 50%%",
        address="金水东路8号",
        lat=Decimal("34.7700011"),
        long=Decimal("113.73"),
        attributes={"when": None, "n": [1, None, True]},
        received_at=at(2022, 9, 30, 10),
        updated_at=at(2022, 9, 30, 10),
        registered_at=dt.datetime(2022, 9, 30, 11, 0),  # naive
        return_count=True,  # bool in a PositiveSmallIntegerField
        pending_amount=Amount.TEN,  # int subclass
        feedback_solved=1,  # int in a BooleanField
        tracking_hash=tracking_hash,
    )


def test_neighbouring_types_store_what_the_orm_stores(category):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the naive datetime
        by_orm = _case(category, "a" * 64)
        models.Model.save(by_orm)
        plain = _case(category, "b" * 64)
        assert insert_row(plain) is True
    rows = {r.pop("id"): r for r in Case.objects.filter(pk__in=[by_orm.pk, plain.pk]).values()}
    rows[by_orm.pk].pop("tracking_hash")
    rows[plain.pk].pop("tracking_hash")
    assert rows[by_orm.pk] == rows[plain.pk]
    stored = rows[plain.pk]
    assert stored["return_count"] == 1 and stored["pending_amount"] == 10
    assert stored["feedback_solved"] is True and stored["status"] == "registered"
