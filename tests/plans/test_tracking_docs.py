"""docs/tracking.md checked against the code, so that it cannot silently rot: its paths
resolve, its API paths and fields are the OpenAPI schema's, its commands and options exist,
the names it lists (statuses, comparators, measures, settings, roles, metrics) are the ones
the code knows, and its curl example works as written."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import importlib.util
import json
import re
import shlex
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.management import get_commands, load_command_class
from django.urls import Resolver404, resolve

from duban import env
from duban.accounts.models import Department, Role
from duban.plans import freshness, metrics, pace, selectors, spreadsheets, tracking
from duban.plans.models import (
    Cadence,
    Comparator,
    DataSource,
    Measure,
    PaceProfile,
    Plan,
    ProgressReport,
    SupervisionNotice,
)
from duban.plans.tracking_views import OVERVIEW_PAGE_SIZE
from tests.plans.factories import make_commitment, make_plan

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docs" / "tracking.md").read_text(encoding="utf-8")
FENCES = re.findall(r"^```\w*\n(.*?)^```", TEXT, flags=re.S | re.M)
PROSE = re.sub(r"^```\w*\n.*?^```", "", TEXT, flags=re.S | re.M)
SPANS = re.findall(r"`([^`\n]+)`", PROSE)
SHELL_LINES = [
    line.strip()
    for fence in FENCES
    for line in fence.replace("\\\n", " ").splitlines()
    if line.strip()
]
PLACEHOLDERS = {"<id>": "1", "<code>": "jingfa", "<year>": "2022"}
API = "/api/v1/"
NUMBERS = {2: "two", 4: "Four", 5: "five", 8: "Eight"}


def table(first_header: str) -> list[list[str]]:
    """The rows (as cells) of the table whose first column is headed `first_header`."""
    lines = TEXT.splitlines()
    for index, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_header:
            rows = []
            for body in lines[index + 2 :]:
                if not body.startswith("|"):
                    break
                rows.append([c.strip() for c in re.split(r"(?<!\\)\|", body.strip().strip("|"))])
            return rows
    raise AssertionError(f"no table headed {first_header!r} in docs/tracking.md")


def first_column_names(first_header: str) -> set[str]:
    return {name for row in table(first_header) for name in re.findall(r"`(\w+)`", row[0])}


def backticked(segment: str) -> list[str]:
    return re.findall(r"`(\w+)`", segment)


def after(marker: str, end: str) -> str:
    assert marker in TEXT, f"docs/tracking.md no longer says {marker!r}"
    return TEXT.split(marker, 1)[1].split(end, 1)[0]


# --- paths ---------------------------------------------------------------------------------


def doc_paths() -> list[tuple[str | None, str]]:
    """(method or None, path) of every path the document writes in backticks or curls."""
    found = []
    for span in SPANS:
        match = re.fullmatch(r"(?:(GET|POST) )?(/\S*)", span)
        if match:
            found.append((match.group(1), match.group(2)))
    for line in SHELL_LINES:
        if line.startswith("curl"):
            words = shlex.split(line)
            method = "POST" if "-d" in words else "GET"
            for word in words:
                if word.startswith("http://127.0.0.1:8000/"):
                    found.append((method, word.removeprefix("http://127.0.0.1:8000")))
    assert found
    return found


def _fill(path: str) -> str:
    path = path.split("?", 1)[0]
    for placeholder, value in PLACEHOLDERS.items():
        path = path.replace(placeholder, value)
    return path


def test_every_page_path_resolves():
    pages = [path for _, path in doc_paths() if not path.startswith(API)]
    assert "/plans/" in pages
    unresolved = []
    for path in pages:
        try:
            resolve(_fill(path))
        except Resolver404:
            unresolved.append(path)
    assert unresolved == []


@pytest.fixture
def schema(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _schema_path(schema, path: str) -> str | None:
    path = path.split("?", 1)[0]
    for candidate in schema["paths"]:
        pattern = re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(candidate))
        if re.fullmatch(pattern, path):
            return candidate
    return None


def test_every_api_path_is_in_the_openapi_schema(schema):
    named = [(method, path) for method, path in doc_paths() if path.startswith(API)]
    assert any(method == "POST" for method, _ in named)
    missing = []
    for method, path in named:
        if path == "/api/v1/openapi.json":
            continue
        if path.endswith("/") and method is None:  # a prefix: "Under /api/v1/plans/"
            if not any(p.startswith(path) for p in schema["paths"]):
                missing.append(path)
            continue
        found = _schema_path(schema, path)
        if found is None or (method and method.lower() not in schema["paths"][found]):
            missing.append(f"{method} {path}")
    assert missing == []


def _component(schema, name: str) -> dict:
    return schema["components"]["schemas"][name]


def test_the_api_fields_are_the_schemas(schema):
    listed = backticked(after("Each item:", ". "))
    assert set(listed) == set(_component(schema, "CommitmentOut")["properties"])
    returned = backticked(after("201 with", ";"))
    assert set(returned) == set(_component(schema, "ProgressOut")["properties"])
    # The query parameters the document names.
    path = schema["paths"][_schema_path(schema, "/api/v1/plans/2022/commitments")]["get"]
    parameters = {p["name"] for p in path["parameters"]}
    for name in ("as_of", "status", "department"):
        assert f"`{name}`" in after("GET /api/v1/plans/{year}/commitments", "- `POST")
        assert name in parameters


def test_the_curl_example_matches_the_progress_schema(schema):
    posts = [line for line in SHELL_LINES if line.startswith("curl") and " -d " in line]
    assert len(posts) == 1
    words = shlex.split(posts[0])
    payload = json.loads(words[words.index("-d") + 1])
    accepted = _component(schema, "ProgressIn")
    assert set(payload) <= set(accepted["properties"])
    assert set(accepted.get("required", [])) <= set(payload)
    headers = [words[i + 1].split(":")[0] for i, w in enumerate(words) if w == "-H"]
    schemes = schema["components"]["securitySchemes"].values()
    key_headers = {s["name"] for s in schemes if s.get("in") == "header"}
    assert "X-API-Key" in key_headers and "X-API-Key" in headers
    assert "`X-API-Key`" in TEXT


def test_the_api_example_works_as_written(client, db, capsys):
    """Make the key as the document does, then run its curl lines through the test client."""
    jingfa = Department.objects.create(code="jingfa", name="经济发展局")
    plan = make_plan(2022)
    gdp = make_commitment(plan, jingfa, indicator="地区生产总值", unit="元", value=Decimal(10**11))
    shell = next(line for line in SHELL_LINES if line.startswith("duban shell"))
    exec(shlex.split(shell)[3], {})  # the document's own snippet
    key = capsys.readouterr().out.strip()
    assert key
    answers = []
    with time_machine.travel(dt.datetime(2022, 9, 30, 10, tzinfo=dt.UTC), tick=False):
        for line in SHELL_LINES:
            if not line.startswith("curl"):
                continue
            words = shlex.split(line.replace("$KEY", key))
            headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
            url = next(w for w in words if w.startswith("http://"))
            path = url.removeprefix("http://127.0.0.1:8000")
            extra = {"HTTP_X_API_KEY": headers["X-API-Key"]}
            if "-d" in words:
                payload = json.loads(words[words.index("-d") + 1])
                payload["commitment_id"] = gdp.pk
                response = client.post(
                    path, json.dumps(payload), content_type=headers["Content-Type"], **extra
                )
                assert response.status_code == 201, response.content
                assert response.json()["status"] == ProgressReport.Status.SUBMITTED
            else:
                response = client.get(path, **extra)
                assert response.status_code == 200, response.content
            answers.append(response)
    assert len(answers) == 2
    report = ProgressReport.objects.get(commitment=gdp)
    assert report.channel == ProgressReport.Channel.API and report.department == jingfa


def test_the_status_filters_named_are_accepted(client, db, planner):
    make_plan(2022)
    client.force_login(planner)
    api_statuses = backticked(after("optional `status` (", ")"))
    overview = re.search(r"`\?status=([\w\\|]+)`", TEXT).group(1).split("\\|")
    assert set(api_statuses) == set(overview) == {*pace.STATUS_ORDER, "overdue"}
    for status in api_statuses:
        assert client.get(f"/api/v1/plans/2022/commitments?status={status}").status_code == 200
        assert client.get(f"/plans/?year=2022&status={status}").status_code == 200
    assert client.get("/api/v1/plans/2022/commitments?status=purple").status_code == 400
    for state in backticked(after("`?state=open`", "|")) + ["open"]:
        assert client.get(f"/plans/notices/?state={state}").status_code == 200


# --- commands ----------------------------------------------------------------------------


def test_every_duban_command_exists_with_its_options():
    named = [s for s in SPANS if s.startswith("duban ")]
    named += [line for line in SHELL_LINES if line.startswith("duban ")]
    assert any("plan supervise" in n for n in named)
    commands = get_commands()
    for line in named:
        words = [w.strip("[]") for w in shlex.split(line)]
        assert words[1] in commands, line
        parser = load_command_class(commands[words[1]], words[1]).create_parser("duban", words[1])
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subparsers:
            assert words[2] in subparsers[0].choices, line
            parser = subparsers[0].choices[words[2]]
        options = {o for action in parser._actions for o in action.option_strings}
        unknown = [w for w in words if w.startswith("--") and w.split("=")[0] not in options]
        assert unknown == [], line


# --- names the document lists ------------------------------------------------------------


def test_statuses_comparators_measures_and_roles_are_the_codes():
    assert first_column_names("status") == set(pace.STATUS_ORDER)
    assert first_column_names("comparator") == set(Comparator.values)
    assert first_column_names("measure") == set(Measure.values)
    assert first_column_names("role") == set(Role.values)


def test_every_choice_the_code_has_is_named():
    named = set(re.findall(r"`(\w+)`", TEXT))
    for choices in (
        Cadence,
        DataSource,
        PaceProfile,
        ProgressReport.Status,
        SupervisionNotice.Status,
        SupervisionNotice.Trigger,
    ):
        assert set(choices.values) <= named, choices.__name__
    chains = [
        set(backticked(chain)) for chain in re.findall(r"`\w+`(?: → `\w+`)+(?: or `\w+`)?", TEXT)
    ]
    assert set(ProgressReport.Status.values) in chains
    assert set(SupervisionNotice.Status.values) in chains


def test_the_thresholds_are_the_plans_with_their_defaults():
    rows = {backticked(row[0])[0]: row[1] for row in table("setting")}
    assert set(rows) == {f.name for f in dataclasses.fields(pace.Thresholds)}
    for name, default in rows.items():
        assert Decimal(default) == Decimal(str(Plan._meta.get_field(name).default)), name


def test_the_metrics_are_the_registry():
    listed = {s for s in SPANS if re.fullmatch(r"(projects|cases)\.\w+", s)}
    assert listed == set(metrics.registry())
    says_missing = "`duban.cases.metrics` is listed as a provider but does not exist"
    if says_missing in " ".join(TEXT.split()):
        assert "duban.cases.metrics" in metrics.PROVIDERS
        assert importlib.util.find_spec("duban.cases.metrics") is None


def test_the_spreadsheet_columns_are_the_code():
    for labels in (
        [label for _, label in spreadsheets.TEMPLATE_COLUMNS],
        spreadsheets.PLAN_HEADER,
    ):
        flat = " ".join(TEXT.split())
        position = flat.index(f"{labels[0]}, {labels[1]}")
        for label in labels:
            position = flat.index(label, position)  # each one, in order
    for letter, column in (("F", spreadsheets.LEAD_COLUMN), ("G", spreadsheets.CO_COLUMN)):
        assert f"(column {letter}" in TEXT and chr(ord("A") + column) == letter


def test_the_sizes_it_quotes_are_the_code():
    flat = " ".join(TEXT.split())
    assert f"{OVERVIEW_PAGE_SIZE} rows a page" in flat
    assert f"{NUMBERS[freshness.SIZE]} (plan, day) pairs per worker" in flat
    lower = flat.lower()
    assert f"{NUMBERS[selectors._assessed.size].lower()} (plan, day) pairs per worker" in lower
    assert f"{NUMBERS[selectors._prepared.size].lower()} plans per worker" in lower
    days_ahead = tracking.reminders_send.__kwdefaults__["days_ahead"]
    assert f"within {NUMBERS[days_ahead]} days" in flat


# --- code it names -----------------------------------------------------------------------

PLANS_MODULES = {"pace", "selectors", "tracking", "services", "freshness", "spreadsheets"}
PLANS_MODULES |= {"metrics", "api"}


def _lookup(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def test_every_function_and_file_it_names_exists():
    checked = 0
    for span in SPANS:
        name = span.removesuffix("()")
        first = name.removeprefix("duban.").split(".")[0]
        path = span.split()[0]  # `bench/plan_overview.py [--runs 7]`
        if re.fullmatch(r"[\w.-]+\.(py|md|html)|[\w.-]+/[\w/.-]*", path):
            if not path.startswith("../"):  # the spec lives beside the repository
                assert any(
                    (base / path).exists()
                    for base in (ROOT, ROOT / "duban", ROOT / "duban" / "plans")
                ), span
                checked += 1
        elif re.fullmatch(r"(duban\.)?\w+(\.\w+)+", name) and first in PLANS_MODULES:
            _lookup(f"duban.plans.{name}")
            checked += 1
        elif re.fullmatch(r"(duban\.)?(core|clock)(\.\w+)+", name):
            _lookup(name if name.startswith("duban.") else f"duban.{name}")
            checked += 1
        elif re.fullmatch(r"(DUBAN_[A-Z_]+)", span):
            assert span in env.KNOWN, span
            checked += 1
    assert checked > 10
