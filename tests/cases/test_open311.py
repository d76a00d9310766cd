"""Open311 GeoReport v2, written from the spec (wiki.open311.org/GeoReport_v2): every
endpoint in both formats, every error, and no personal data in any answer."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest

from duban.accounts.tokens import api_client_create
from duban.cases import services
from duban.cases.models import Case

from .conftest import at

pytestmark = pytest.mark.django_db
KEY = "test-open311-key-0123456789"
BASE = "/open311/v2/"
PRIVATE = ("张三丰", "13912345678", "zsf@example.com")


@pytest.fixture
def open311_client(planner):
    return api_client_create(name="城市App", scope="open311", actor=planner, raw_key=KEY)[0]


@pytest.fixture
def filed(friday, make_case, open311_client):
    return make_case().case


def get(client, path, fmt="json", **params):
    response = client.get(f"{BASE}{path}.{fmt}", params)
    return response, parse(response, fmt)


def parse(response, fmt):
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    return ET.fromstring(response.content)


def post(client, fmt="json", **data):
    data.setdefault("api_key", KEY)
    response = client.post(f"{BASE}requests.{fmt}", data)
    return response, parse(response, fmt)


GOOD = {
    "service_code": "noise",
    "lat": "34.7701",
    "long": "113.7301",
    "address_string": "金水东路1号",
    "description": "工地夜间施工噪音",
    "attribute[when]": "night",
    "first_name": "三丰",
    "last_name": "张",
    "phone": "13912345678",
    "email": "zsf@example.com",
}


def test_discovery(client, category):
    response, body = get(client, "discovery")
    assert response.status_code == 200
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/")
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    _response, xml = get(client, "discovery", "xml")
    assert xml.tag == "discovery"
    assert [f.text for f in xml.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


def test_service_list_both_formats(client, category):
    _r, body = get(client, "services")
    assert body == [
        {
            "service_code": "noise",
            "service_name": "噪音扰民",
            "description": "",
            "metadata": True,
            "type": "realtime",
            "keywords": "",
            "group": "环境",
        }
    ]
    _r, xml = get(client, "services", "xml")
    service = xml.find("service")
    assert xml.tag == "services"
    assert service.findtext("service_code") == "noise"
    assert service.findtext("metadata") == "true"


def test_service_definition_both_formats(client, category):
    _r, body = get(client, "services/noise")
    assert body["service_code"] == "noise"
    when = body["attributes"][0]
    assert when == {
        "variable": True,
        "code": "when",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "",
        "order": 1,
        "description": "什么时候",
        "values": [{"key": "day", "name": "白天"}, {"key": "night", "name": "夜间"}],
    }
    _r, xml = get(client, "services/noise", "xml")
    assert xml.tag == "service_definition"
    attribute = xml.find("attributes/attribute")
    assert attribute.findtext("code") == "when"
    assert [v.findtext("key") for v in attribute.findall("values/value")] == ["day", "night"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_code_is_404_in_the_error_format(client, category, fmt):
    response, body = get(client, "services/nope", fmt)
    assert response.status_code == 404
    if fmt == "json":
        assert body == [{"code": 404, "description": "service_code nope not found"}]
    else:
        assert body.tag == "errors"
        assert body.find("error/code").text == "404"
        assert "nope" in body.find("error/description").text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_request_and_follow_it(client, friday, category, open311_client, fmt):
    response, body = post(client, fmt, **GOOD)
    assert response.status_code == 201, response.content
    if fmt == "xml":
        assert body.tag == "service_requests"
        ticket = body.findtext("request/service_request_id")
        token = body.findtext("request/token")
        assert body.find("request/account_id") is not None
    else:
        assert set(body[0]) == {"service_request_id", "token", "service_notice", "account_id"}
        ticket, token = body[0]["service_request_id"], body[0]["token"]
    case = Case.objects.get()
    assert case.ticket == ticket and case.channel == "open311"
    assert case.reporter_name == "三丰 张" and case.attributes == {"when": "night"}
    _r, found = get(client, f"tokens/{token}")
    assert found == [{"service_request_id": ticket, "token": token}]
    _r, xml = get(client, f"tokens/{token}", "xml")
    assert xml.findtext("request/service_request_id") == ticket
    _r, one = get(client, f"requests/{ticket}")
    assert len(one) == 1
    record = one[0]
    assert list(record) == [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ]
    assert record["status"] == "open"
    assert record["requested_datetime"] == "2022-09-30T10:00:00+08:00"
    # expected_datetime is the resolution deadline: 3 working days over National Day.
    assert record["expected_datetime"] == "2022-10-10T18:00:00+08:00"
    assert record["lat"] == 34.7701 and record["long"] == 113.7301
    _r, xml = get(client, f"requests/{ticket}", "xml")
    assert xml.findtext("request/expected_datetime") == "2022-10-10T18:00:00+08:00"
    assert xml.findtext("request/service_code") == "noise"


def test_multivalue_attributes(client, friday, category, open311_client, planner):
    services.category_save(
        actor=planner,
        code="noise",
        attributes=[
            {
                "code": "src",
                "datatype": "multivaluelist",
                "required": True,
                "description": "来源",
                "values": [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}],
            }
        ],
    )
    data = {k: v for k, v in GOOD.items() if not k.startswith("attribute")}
    response, _body = post(client, **data, **{"attribute[src][]": ["a", "b"]})
    assert response.status_code == 201
    assert Case.objects.get().attributes == {"src": ["a", "b"]}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"api_key": ""}, 403, "api_key"),
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "nope"}, 404, "service_code"),
        ({"lat": "", "long": "", "address_string": ""}, 400, "address"),
        ({"lat": "north"}, 400, "lat"),
        ({"description": "x" * 4001}, 400, "4000"),
        ({"attribute[when]": ""}, 400, "required"),
        ({"attribute[when]": "noon"}, 400, "not among"),
        ({"email": "bad"}, 400, "e-mail"),
        ({"media_url": "ftp://x"}, 400, "media_url"),
        ({"jurisdiction_id": "elsewhere.gov"}, 404, "jurisdiction"),
    ],
)
def test_post_errors(
    client, friday, category, open311_client, settings, monkeypatch, fmt, change, status, words
):
    from duban.cases import conf

    monkeypatch.setattr(conf, "OPEN311_JURISDICTION", "zhengdong.gov.cn")
    response, body = post(client, fmt, **{**GOOD, **change})
    assert response.status_code == status
    if fmt == "json":
        assert all(set(e) == {"code", "description"} for e in body)
        assert body[0]["code"] == status
        text = " ".join(e["description"] for e in body)
    else:
        assert body.tag == "errors"
        text = " ".join(e.findtext("description") for e in body.findall("error"))
    assert words in text
    assert Case.objects.count() == 0


def test_a_key_of_another_scope_is_refused(client, friday, category, planner):
    api_client_create(name="巡查", scope="cases", actor=planner, raw_key=KEY)
    response, _body = post(client, **GOOD)
    assert response.status_code == 403


def test_requests_default_window_and_filters(client, time_machine, make_case, planner, owner):
    time_machine.move_to(at(2022, 5, 10), tick=False)
    old = make_case().case
    time_machine.move_to(at(2022, 9, 1), tick=False)
    recent = make_case().case
    closed = make_case().case
    services.case_void(case=closed, actor=planner, reason="无效")
    time_machine.move_to(at(2022, 9, 30), tick=False)
    _r, body = get(client, "requests")
    assert {r["service_request_id"] for r in body} == {recent.ticket, closed.ticket}
    _r, body = get(client, "requests", status="open")
    assert [r["service_request_id"] for r in body] == [recent.ticket]
    _r, body = get(client, "requests", status="closed")
    assert [(r["service_request_id"], r["status_notes"]) for r in body] == [(closed.ticket, "无效")]
    _r, body = get(
        client, "requests", start_date="2022-05-01T00:00:00+08:00", end_date="2022-06-01"
    )
    assert [r["service_request_id"] for r in body] == [old.ticket]
    # service_request_id overrides every other filter
    _r, body = get(client, "requests", service_request_id=f"{old.ticket},{recent.ticket}")
    assert {r["service_request_id"] for r in body} == {old.ticket, recent.ticket}
    _r, body = get(client, "requests", service_code="noise", status="open,closed")
    assert len(body) == 2
    _r, xml = get(client, "requests", "xml", status="open")
    assert [r.findtext("service_request_id") for r in xml.findall("request")] == [recent.ticket]
    _r, body = get(client, "requests", page_size="1", page="2")
    assert len(body) == 1


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start_date": "2022-01-01", "end_date": "2022-06-01"}, 400),
        ({"start_date": "2022-06-01", "end_date": "2022-05-01"}, 400),
        ({"start_date": "yesterday"}, 400),
        ({"status": "pending"}, 400),
        ({"service_code": "nope"}, 404),
        ({"page_size": "5000"}, 400),
        ({"service_request_id": "abc"}, 400),
    ],
)
def test_requests_errors(client, friday, category, fmt, params, status):
    response, body = get(client, "requests", fmt, **params)
    assert response.status_code == status
    if fmt == "xml":
        assert body.findtext("error/code") == str(status)
    else:
        assert body[0]["code"] == status


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_request_token_and_resource_are_404(client, filed, fmt):
    for path in ("requests/20220930-999999", f"requests/20220101-{filed.pk}", "tokens/nope"):
        response, _body = get(client, path, fmt)
        assert response.status_code == 404, path
    response = client.get(f"{BASE}nothing.{fmt}")
    assert response.status_code == 404
    assert parse(response, fmt) is not None


def test_wrong_method_is_refused_in_the_error_format(client, category):
    response = client.post(f"{BASE}services.json")
    assert response.status_code == 405
    assert json.loads(response.content)[0]["code"] == 405


def test_no_personal_data_in_any_open311_answer(client, friday, category, open311_client):
    response, body = post(client, **GOOD)
    ticket = body[0]["service_request_id"]
    token = body[0]["token"]
    outputs = [response.content]
    for fmt in ("json", "xml"):
        for path in ("requests", f"requests/{ticket}", f"tokens/{token}", "services"):
            outputs.append(client.get(f"{BASE}{path}.{fmt}").content)
    blob = b"".join(outputs).decode("utf-8")
    for secret in PRIVATE:
        assert secret not in blob
    assert ticket in blob


def test_a_retired_service_is_not_offered(client, friday, category, open311_client):
    category.is_active = False
    category.save()
    _r, body = get(client, "services")
    assert body == []
    response, _body = post(client, **GOOD)
    assert response.status_code == 404


def test_times_carry_the_offset(client, filed):
    _r, body = get(client, f"requests/{filed.ticket}")
    moment = dt.datetime.fromisoformat(body[0]["requested_datetime"])
    assert moment.utcoffset() == dt.timedelta(hours=8)


def test_control_characters_never_reach_the_database_or_the_xml(
    client, friday, category, open311_client
):
    response, body = post(
        client, "xml", **{**GOOD, "description": "噪音\x00很大\x07", "attribute[when]": "night\x00"}
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert case.description == "噪音很大" and case.attributes == {"when": "night"}
    for path in ("services/no\x00pe", "tokens/a\x00b", "requests/1\x00"):
        response = client.get(f"{BASE}{path}.json")
        assert response.status_code == 404, path
    response, body = get(client, "requests", service_code="noise\x00")
    assert response.status_code == 200
