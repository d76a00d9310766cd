"""The intake lane (duban.core.intake_lane): machine intakes skip the browsers' middleware
and answer as the full stack answers."""

from __future__ import annotations

import io
import json
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import resolve

from duban.core.intake_lane import DROPPED, INTAKE_PATHS, IntakeHandler, IntakeLane

pytestmark = pytest.mark.django_db
KEY = "lane-key-0123456789abcdef"
O311 = "lane-311-0123456789abcdef"


@pytest.fixture
def call():
    """Call a WSGI application as gunicorn does (the test client has a handler of its
    own). Django would close the test's connection at each request's start and end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def _call(app, method, path, body=b"", content_type="", **headers):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
        }
        started = []
        chunks = app(environ, lambda status, headers: started.append((status, headers)))
        content = b"".join(chunks)
        chunks.close()
        status, headers = started[0]
        return int(status.split()[0]), dict(headers), content

    yield _call
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def both(category, planner):
    from duban.accounts.tokens import api_client_create

    api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)
    api_client_create(name="市民通", scope="open311", actor=planner, raw_key=O311)
    full = WSGIHandler()
    return IntakeLane(full), full


def _api(n, **extra):
    body = {"service_code": "noise", "description": f"噪音 {n}", "address": "金水东路1号"}
    body["attributes"] = {"when": "night"}
    return json.dumps({**body, **extra}).encode()


def _form(n, key=O311):
    from urllib.parse import urlencode

    fields = {"api_key": key, "service_code": "noise", "description": f"噪音 {n}"}
    fields.update({"address_string": "金水东路1号", "attribute[when]": "night"})
    return urlencode(fields).encode()


FORM = "application/x-www-form-urlencoded"


def _same(lane_answer, full_answer, *, same_body: bool):
    (status, headers, body), (status2, headers2, body2) = lane_answer, full_answer
    assert status == status2
    # the full stack's Vary also names Cookie (its operators' gate reads the session)
    assert headers.pop("Vary") == "Accept-Language"
    assert headers2.pop("Vary") == "Accept-Language, Cookie"
    if not same_body:  # another case: other ids in the body, maybe another length
        headers.pop("Content-Length"), headers2.pop("Content-Length")
    assert headers == headers2
    if same_body:
        assert body == body2


def test_intakes_answer_through_the_lane_as_through_the_full_stack(call, both, friday):
    lane, full = both
    for n, path, body, content_type, headers, created in [
        (1, "/api/v1/cases/", _api(1), "application/json", {"x_api_key": KEY}, True),
        (2, "/api/v1/cases/", _api(2), "application/json", {"x_api_key": "wrong"}, False),
        (3, "/api/v1/cases/", b"{not json", "application/json", {"x_api_key": KEY}, False),
        (4, "/api/v1/cases/", _api(4, channel="fax"), "application/json", {"x_api_key": KEY}, 0),
        (5, "/open311/v2/requests.json", _form(5), FORM, {}, True),
        (6, "/open311/v2/requests.xml", _form(6, key="wrong"), FORM, {}, False),
    ]:
        through_lane = call(lane, "POST", path, body, content_type, **headers)
        through_full = call(full, "POST", path, body, content_type, **headers)
        assert through_lane[0] in ((200, 201) if created else (400, 401, 403, 422)), n
        _same(through_lane, through_full, same_body=not created)
    # The language is chosen as for any request.
    english = call(
        lane,
        "POST",
        "/api/v1/cases/",
        _api(7),
        "application/json",
        x_api_key=KEY,
        accept_language="en",
    )
    assert english[1]["Content-Language"] == "en"


def test_a_session_cookie_beside_the_key_changes_nothing(call, both, friday, client):
    """The key says who files. An operator's session cookie sent along: the lane files the
    case (the full stack's gate refuses it, though the key alone would file it)."""
    from duban.accounts.models import User
    from tests.conftest import make_user

    operator = make_user("operator", "operator", None)
    assert User.objects.get(pk=operator.pk).is_operator
    client.force_login(operator)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    lane, full = both
    answer = call(
        lane, "POST", "/api/v1/cases/", _api(1), "application/json", x_api_key=KEY, cookie=cookie
    )
    assert answer[0] == 201
    assert (
        call(
            full,
            "POST",
            "/api/v1/cases/",
            _api(2),
            "application/json",
            x_api_key=KEY,
            cookie=cookie,
        )[0]
        == 403
    )
    # Open311 is the operators' too: both stacks file
    assert call(lane, "POST", "/open311/v2/requests.json", _form(3), FORM, cookie=cookie)[0] == 201
    assert call(full, "POST", "/open311/v2/requests.json", _form(4), FORM, cookie=cookie)[0] == 201


def test_only_intakes_take_the_lane(call, both, friday):
    lane, full = both
    taken = []
    real = lane.lane
    lane.lane = lambda environ, start_response: (
        taken.append(environ["PATH_INFO"]) or real(environ, start_response)
    )
    call(lane, "POST", "/api/v1/cases/", _api(1), "application/json", x_api_key=KEY)
    call(lane, "POST", "/open311/v2/requests.json", _form(2), FORM)
    call(lane, "GET", "/api/v1/cases/x", x_api_key=KEY)
    call(lane, "GET", "/open311/v2/requests.json")
    call(lane, "POST", "/api/v1/cases", _api(3), "application/json", x_api_key=KEY)
    call(lane, "POST", "/cases/new/", b"", FORM)
    assert taken == ["/api/v1/cases/", "/open311/v2/requests.json"]


def test_the_lane_runs_every_middleware_but_the_dropped_ones(call, settings, both):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.cases.test_intake_lane.Stamped"]
    status, headers, _body = call(
        IntakeHandler(), "POST", "/api/v1/cases/", b"{}", "application/json", x_api_key="wrong"
    )
    assert status == 401 and headers["X-Stamped"] == "yes"
    assert DROPPED <= set(settings.MIDDLEWARE)  # every name dropped is one in use


class Stamped:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Stamped"] = "yes"
        return response


def test_the_intake_paths_are_the_intake_views():
    """Should a URL move, the lane must move with it."""
    assert {path: resolve(path).view_name for path in INTAKE_PATHS} == {
        "/api/v1/cases/": "api:case_file",
        "/open311/v2/requests.json": "open311:open311-requests",
        "/open311/v2/requests.xml": "open311:open311-requests",
    }
