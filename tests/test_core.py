from __future__ import annotations

from unittest import mock

from django.db.utils import OperationalError


def test_healthz_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_is_down(client, db):
    with mock.patch("duban.core.views.connection.cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_home_per_role(client, planner, leader, owner):
    for user, marker in ((planner, "导入工作报告"), (leader, "暂无计划"), (owner, "暂无计划")):
        client.force_login(user)
        response = client.get("/")
        assert response.status_code == 200
        assert marker in response.content.decode()


def test_chinese_by_default_english_when_asked(client, planner):
    client.force_login(planner)
    assert "退出" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Log out" in client.get("/").content.decode()
    assert "Log out" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_pages_use_no_external_resources(client, planner):
    client.force_login(planner)
    body = client.get("/").content.decode()
    assert "http://" not in body.replace("http://www.w3.org", "")
    assert "https://" not in body


def test_static_assets_are_served_by_duban(client, db):
    for path in (
        "/static/vendor/htmx.min.js",
        "/static/vendor/plotly.min.js",
        "/static/css/duban.css",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
