"""Edges of progress reporting: the offline template per cadence, one outcome per filing
request, evidence files served to those who may see them, computed figures never filed by
hand, and assignment only by the supervision office, all or nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from duban.accounts.models import ApiClient
from duban.accounts.tokens import api_client_create
from duban.plans import services, spreadsheets, tracking
from duban.plans.models import Commitment, Evidence, ProgressReport
from tests.plans.factories import make_commitment, make_plan
from tests.plans.test_tracking import _filled, _template_rows, at

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100


@pytest.fixture
def plan(db):
    return make_plan(2022)


@pytest.fixture
def parking(plan, dept):
    return make_commitment(plan, dept, key="parking")


@pytest.fixture
def quarterly(plan, dept):
    return make_commitment(plan, dept, key="q", indicator="新增就业", cadence="quarterly")


@pytest.fixture
def computed(plan, dept):
    return make_commitment(
        plan,
        dept,
        key="c",
        indicator="新开工项目",
        data_source="computed",
        metric="projects.new_start_rate",
    )


def test_the_template_gives_each_row_its_own_cadences_period(
    client, parking, quarterly, computed, owner, dept
):
    with at("2022-11-03"):
        client.force_login(owner)
        response = client.get(f"/plans/departments/{dept.code}/template.xlsx")
        assert response.status_code == 200
        rows = _template_rows(response.content)
        periods = {row[0]: row[4] for row in rows[1:]}
        # Computed figures are not in the template; each row has its cadence's period.
        assert periods == {parking.pk: "2022-10-31", quarterly.pk: "2022-09-30"}
        for row in rows[1:]:
            row[5] = 1200
        upload = io.BytesIO(_filled(rows))
        upload.name = "progress.xlsx"
        response = client.post(f"/plans/departments/{dept.code}/upload/", {"file": upload})
        assert response.status_code == 302
    filed = dict(ProgressReport.objects.values_list("commitment_id", "period_end"))
    assert filed == {parking.pk: dt.date(2022, 10, 31), quarterly.pk: dt.date(2022, 9, 30)}


def test_before_any_period_ended_the_template_leaves_the_period_empty(plan, parking, quarterly):
    # Nothing can be reported yet: a prefilled period would only be refused on upload.
    with at("2022-01-10"):
        rows = _template_rows(spreadsheets.template_export([parking, quarterly], plan.year))
    assert [row[4] for row in rows[1:]] == [None, None]
    with at("2022-02-03"):
        rows = _template_rows(spreadsheets.template_export([parking, quarterly], plan.year))
    assert [row[4] for row in rows[1:]] == ["2022-01-31", None]


@pytest.mark.parametrize("figure", ["NaN", "Infinity", "-inf", "1e20", "1e999999"])
def test_figures_that_cannot_be_stored_are_refused_on_every_path(
    client, parking, owner, planner, dept, figure
):
    with at("2022-07-03"):
        with pytest.raises(ValidationError):
            tracking.progress_save(
                commitment=parking,
                actor=owner,
                period_end=dt.date(2022, 6, 30),
                value=Decimal(figure),
            )
        rows = [
            [label for _, label in spreadsheets.TEMPLATE_COLUMNS],
            [parking.pk, "", "", "", "2022-06-30", figure, None, "", "", ""],
        ]
        with pytest.raises(ValidationError):
            spreadsheets.template_import(data=_filled(rows), actor=owner, plan=parking.plan)
        client.force_login(owner)
        response = client.post(
            f"/plans/commitments/{parking.pk}/report/",
            {"period_end": "2022-06-30", "value": figure},
        )
        assert response.status_code == 400
        _, key = api_client_create(
            name=f"统计局{figure}", scope=ApiClient.Scope.PROGRESS, department=dept, actor=planner
        )
        response = client.post(
            "/api/v1/plans/progress",
            f'{{"commitment_id": {parking.pk}, "period_end": "2022-06-30", "value": "{figure}"}}',
            content_type="application/json",
            HTTP_X_API_KEY=key,
        )
        assert response.status_code in (400, 422), response.content
        client.force_login(planner)
        for pace_profile in ("seasonal", "plan"):
            response = client.post(
                f"/plans/commitments/{parking.pk}/assign/",
                {
                    "lead_department": dept.pk,
                    "cadence": "monthly",
                    "data_source": "manual",
                    "pace_profile": pace_profile,
                    "pace_values": ", ".join([figure] + ["1"] * 11),
                },
            )
            assert response.status_code == 400
    assert not ProgressReport.objects.exists()
    parking.refresh_from_db()
    assert parking.pace_values is None


def test_a_refused_evidence_file_leaves_no_draft(client, parking, owner):
    fake = SimpleUploadedFile("photo.png", b"<script>alert(1)</script>", content_type="image/png")
    with at("2022-07-03"):
        client.force_login(owner)
        response = client.post(
            f"/plans/commitments/{parking.pk}/report/",
            {"period_end": "2022-06-30", "value": "3000", "evidence": fake},
        )
    assert response.status_code == 400
    assert not ProgressReport.objects.exists()
    assert not Evidence.objects.exists()


def test_evidence_is_served_to_those_who_see_the_commitment(
    client, parking, owner, colleague, leader, outsider, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    with at("2022-07-03"):
        report = tracking.progress_save(
            commitment=parking, actor=owner, period_end=dt.date(2022, 6, 30), value=3000
        )
        upload = SimpleUploadedFile("现场照片.png", PNG, content_type="image/png")
        evidence = tracking.evidence_add(report=report, actor=owner, upload=upload)
    url = f"/plans/evidence/{evidence.pk}/"
    client.force_login(owner)
    detail = client.get(f"/plans/commitments/{parking.pk}/").content.decode()
    assert f'href="{url}"' in detail
    for user in (owner, colleague, leader):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    evidence.file.delete(save=False)
    client.force_login(owner)
    assert client.get(url).status_code == 404
    assert client.get("/plans/evidence/999999/").status_code == 404


def test_a_computed_figure_is_never_filed_by_hand(client, computed, owner, dept, planner):
    with at("2022-07-03"), pytest.raises(ValidationError) as info:
        tracking.progress_save(
            commitment=computed, actor=owner, period_end=dt.date(2022, 6, 30), value=3
        )
    assert "projects.new_start_rate" in " ".join(info.value.messages)
    with at("2022-07-03"):
        client.force_login(owner)
        page = client.get(f"/plans/commitments/{computed.pk}/").content.decode()
        assert f"/plans/commitments/{computed.pk}/report/" not in page
        response = client.post(
            f"/plans/commitments/{computed.pk}/report/",
            {"period_end": "2022-06-30", "value": "3"},
        )
        assert response.status_code == 400
        _, key = api_client_create(
            name="统计局", scope=ApiClient.Scope.PROGRESS, department=dept, actor=planner
        )
        response = client.post(
            "/api/v1/plans/progress",
            {"commitment_id": computed.pk, "period_end": "2022-06-30", "value": "3"},
            content_type="application/json",
            HTTP_X_API_KEY=key,
        )
        assert response.status_code == 400
        rows = [
            [label for _, label in spreadsheets.TEMPLATE_COLUMNS],
            [computed.pk, "", "", "", "2022-06-30", 3, None, "", "", ""],
        ]
        with pytest.raises(ValidationError):
            spreadsheets.template_import(data=_filled(rows), actor=owner, plan=computed.plan)
    assert not ProgressReport.objects.exists()


def test_a_draft_of_a_figure_since_made_computed_cannot_be_submitted(parking, owner, planner):
    with at("2022-07-03"):
        draft = tracking.progress_save(
            commitment=parking, actor=owner, period_end=dt.date(2022, 6, 30), value=3000
        )
        services.commitment_configure(
            commitment=parking,
            actor=planner,
            data_source="computed",
            metric="projects.new_start_rate",
        )
        draft.commitment.refresh_from_db()
        with pytest.raises(ValidationError):
            tracking.progress_submit(report=draft, actor=owner)
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_only_the_supervision_office_assigns_and_configures(parking, owner, leader, other_dept):
    for actor in (owner, leader):
        with pytest.raises(PermissionDenied):
            services.commitment_assign(commitment=parking, actor=actor, lead=other_dept)
        with pytest.raises(PermissionDenied):
            services.commitment_configure(commitment=parking, actor=actor, cadence="quarterly")
    parking.refresh_from_db()
    assert parking.lead_department_id != other_dept.pk and parking.cadence == "monthly"


def test_a_refused_configuration_keeps_the_old_assignment(client, parking, planner, other_dept):
    client.force_login(planner)
    response = client.post(
        f"/plans/commitments/{parking.pk}/assign/",
        {
            "lead_department": other_dept.pk,
            "cadence": "monthly",
            "data_source": "manual",
            "pace_profile": "seasonal",
            "pace_values": ", ".join(["0"] * 12),  # a seasonal profile that adds up to nothing
        },
    )
    assert response.status_code == 400
    parking.refresh_from_db()
    assert parking.lead_department_id != other_dept.pk
    assert Commitment.objects.get(pk=parking.pk).pace_profile != "seasonal"
