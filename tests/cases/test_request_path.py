"""The request path of case intake (JSON API and Open311) was made cheaper: Duban's own
LocaleMiddleware and MessageMiddleware replace Django's, the API key header is read
directly. These tests hold what must not have changed: the answers' headers, the language
negotiation, messages on pages, and the protections of the pages."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.test import RequestFactory
from django.utils import translation

from duban.accounts.tokens import api_client_create
from duban.core.middleware import LocaleMiddleware, MessageMiddleware

pytestmark = pytest.mark.django_db
KEY = "cases-key-0123456789abcdef"
OPEN311_KEY = "open311-key-0123456789abcd"

# What every intake answer carried before the change, and still must.
INTAKE_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "X-Frame-Options": "DENY",
    "Vary": "Accept-Language, Cookie",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.fixture
def clients(planner):
    api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)
    api_client_create(name="市民端", scope="open311", actor=planner, raw_key=OPEN311_KEY)


def _api(client, headers=None, **data):
    body = {"service_code": "noise", "description": "工地夜间施工", "address": "金水东路1号"}
    body["attributes"] = {"when": "night"}
    return client.post(
        "/api/v1/cases/",
        json.dumps({**body, **data}),
        content_type="application/json",
        headers={"X-API-Key": KEY, **(headers or {})},
    )


def _open311(client, headers=None, **data):
    body = {"api_key": OPEN311_KEY, "service_code": "noise", "description": "工地夜间施工"}
    body["address_string"] = "金水东路1号"
    return client.post(
        "/open311/v2/requests.json", {**body, "attribute[when]": "night", **data}, headers=headers
    )


@pytest.mark.parametrize("post", [_api, _open311])
def test_intake_answers_keep_their_headers(client, friday, category, clients, post):
    for language in ("en", "zh-hans"):
        response = post(client, headers={"Accept-Language": language})
        assert response.status_code == 201, response.content
        assert {k: response.headers.get(k) for k in INTAKE_HEADERS} == INTAKE_HEADERS
        assert response.headers["Content-Language"] == language
        assert not response.cookies  # no session, CSRF or messages cookie


@pytest.mark.parametrize("post", [_api, _open311])
def test_intake_errors_still_speak_the_callers_language(client, friday, category, clients, post):
    answers = {}
    for language in ("en", "zh-hans"):
        response = post(client, headers={"Accept-Language": language}, media_url="file:///x")
        assert response.status_code == 400
        assert response.headers["Content-Language"] == language
        answers[language] = response.content.decode()
    assert answers["en"] != answers["zh-hans"]


def test_the_api_key_is_read_from_the_header_whatever_its_case(client, friday, category, clients):
    assert _api(client, headers={"x-api-key": KEY}).status_code == 201
    response = client.post(
        "/api/v1/cases/", "{}", content_type="application/json", headers={"X-API-Key": "nope"}
    )
    assert response.status_code == 401
    assert client.post("/api/v1/cases/", "{}", content_type="application/json").status_code == 401


@pytest.mark.parametrize(
    ("path", "cookie", "accept"),
    [
        ("/api/v1/cases/", None, None),
        ("/api/v1/cases/", None, "en-GB,en;q=0.9"),
        ("/open311/v2/requests.json", None, "zh-CN,zh;q=0.9"),
        ("/en/cases/", None, "zh-hans"),  # a language-like first segment is still ignored
        ("/cases/", "en", "zh-hans"),  # the language cookie wins over the header
        ("/cases/", "xx", "fr, *"),  # unknown everything: LANGUAGE_CODE
        ("/cases/", None, "zh-tw"),
    ],
)
def test_locale_middleware_decides_as_djangos(path, cookie, accept):
    def negotiated(middleware_class):
        request = RequestFactory().get(path, headers={"Accept-Language": accept} if accept else {})
        if cookie:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = cookie
        with translation.override(None):
            middleware = middleware_class(lambda r: HttpResponse(translation.get_language()))
            response = middleware(request)
        return request.LANGUAGE_CODE, response.content, dict(response.headers)

    assert negotiated(LocaleMiddleware) == negotiated(DjangoLocaleMiddleware)


def _session_request(factory_request):
    SessionMiddleware(lambda r: HttpResponse()).process_request(factory_request)
    return factory_request


def test_messages_are_stored_and_shown_as_before():
    def add(request):
        messages.success(request, "Saved.")
        return HttpResponse()

    def show(request):
        return HttpResponse(" | ".join(str(m) for m in messages.get_messages(request)))

    for middleware_class in (MessageMiddleware, DjangoMessageMiddleware):
        first = _session_request(RequestFactory().post("/x"))
        stored = middleware_class(add)(first)
        cookie = stored.cookies["messages"].value
        assert cookie
        second = _session_request(RequestFactory().get("/y"))
        second.COOKIES["messages"] = cookie
        shown = middleware_class(show)(second)
        assert shown.content == b"Saved."
        assert shown.cookies["messages"].value == ""  # read once, then cleared


def test_a_request_that_never_touches_messages_answers_unchanged():
    request = _session_request(RequestFactory().post("/api/v1/cases/"))
    request.COOKIES["messages"] = "left from a page"
    answer = HttpResponse("{}")
    assert MessageMiddleware(lambda r: answer)(request) is answer
    assert not answer.cookies


def test_pages_keep_their_protections(client, planner):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "csrfmiddlewaretoken" in page.content.decode()
    assert "csrftoken" in page.cookies
    strict = client.__class__(enforce_csrf_checks=True)
    assert strict.post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 403
    client.force_login(planner)
    home = client.get("/")
    assert home.status_code == 200 and "Cookie" in home.headers["Vary"]
    assert home.wsgi_request.user == planner


def test_the_middleware_stack_still_has_every_protection():
    stack = settings.MIDDLEWARE
    for required in (
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "duban.accounts.middleware.OperatorScopeMiddleware",
        "duban.core.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ):
        assert required in stack
    # The cheaper ones sit where Django's did: locale after sessions and before common.
    assert stack.index("duban.core.middleware.LocaleMiddleware") == (
        stack.index("django.contrib.sessions.middleware.SessionMiddleware") + 1
    )
