"""The projects API: metrics for the office, the registry by keyset, bad input is a 4xx."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.projects.conftest import make_project, make_report

D = dt.date


@pytest.fixture
def pipeline(dept, other_dept):
    a = make_project(dept, "A", "new", start_actual=D(2022, 9, 30))
    make_project(dept, "B", "new", start_actual=D(2022, 10, 1))
    make_project(other_dept, "C", "preparatory")
    make_report(a, D(2022, 9, 30), "500", "500")
    return a


def test_metrics_as_of_a_day(login, planner, pipeline):
    response = login(planner).get("/api/v1/projects/metrics", {"year": 2022, "as_of": "2022-10-01"})
    assert response.status_code == 200
    body = response.json()
    values = {m["key"]: m["value"] for m in body["metrics"]}
    assert values["projects.new_start_rate"] == "100.00"
    assert values["projects.new_start_rate_by_q3"] == "50.00"
    assert values["projects.investment_completed"] == "500.00"
    assert body["new_start_started_by_q3"] == 1 and body["preparatory_total"] == 1


def test_metrics_are_for_the_office(login, owner, client, pipeline):
    assert client.get("/api/v1/projects/metrics", {"year": 2022}).status_code == 401
    assert login(owner).get("/api/v1/projects/metrics", {"year": 2022}).status_code == 403


@pytest.mark.parametrize(
    "query",
    [{"year": "x"}, {"year": 1999}, {}, {"year": 2022, "as_of": "2022-02-30"}],
)
def test_bad_metric_queries_are_4xx(login, planner, query):
    status = login(planner).get("/api/v1/projects/metrics", query).status_code
    assert 400 <= status < 500


def test_registry_pages_by_keyset_and_visibility(login, planner, owner, outsider, pipeline):
    first = login(planner).get("/api/v1/projects/", {"year": 2022, "limit": 2}).json()
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_after"]
    rest = (
        login(planner)
        .get("/api/v1/projects/", {"year": 2022, "limit": 2, "after": first["next_after"]})
        .json()
    )
    assert [i["code"] for i in first["items"] + rest["items"]] == ["A", "B", "C"]
    assert rest["next_after"] is None
    own = login(owner).get("/api/v1/projects/", {"year": 2022}).json()
    assert {i["code"] for i in own["items"]} == {"A", "B"}
    theirs = login(outsider).get("/api/v1/projects/", {"year": 2022}).json()
    assert [i["code"] for i in theirs["items"]] == ["C"]
    assert own["items"][0]["completed_this_year"] == "500.00"


@pytest.mark.parametrize(
    "query",
    [{"year": 2022, "limit": 0}, {"year": 2022, "stage": "x"}, {"year": 2022, "after": -1}],
)
def test_bad_registry_queries_are_400(login, planner, query):
    assert login(planner).get("/api/v1/projects/", query).status_code == 400
