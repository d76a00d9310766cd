"""A report voided as a duplicate of another (merged): its citizen's tracking page shows
the surviving case's public status on the page itself (never the other citizen's link,
description, address or contact), and the staff pages link the two cases both ways."""

from __future__ import annotations

import re

import pytest

from duban.cases import services

pytestmark = pytest.mark.django_db

OTHER = ("李四", "13800001111", "ls@example.com", "工地夜间施工", "花园路9号")


@pytest.fixture
def merged(friday, make_case, planner):
    first = make_case(
        description=OTHER[3],
        address=OTHER[4],
        reporter_name=OTHER[0],
        reporter_phone=OTHER[1],
        reporter_email=OTHER[2],
    )
    second = make_case()
    services.case_void(case=second.case, actor=planner, reason="重复件", duplicate_of=first.case)
    return first, second


def test_the_merged_citizen_sees_the_surviving_case_on_their_own_page(
    client, merged, planner, owner
):
    first, second = merged
    services.case_dispatch(case=first.case, actor=planner)
    services.case_accept(case=first.case, actor=owner)
    url = f"/cases/t/{second.tracking_token}/"
    html = client.get(url).content.decode()
    # The ticket links to the section of this page that shows the surviving case.
    assert f'<a href="#surviving">{first.case.ticket}</a>' in html
    section = html.split('id="surviving"', 1)[1].split("</section>", 1)[0]
    assert first.case.ticket in section
    assert "Accepted by the department" in section  # its public steps
    assert "城市管理局" in section  # its department
    assert re.search(r'id="surviving-status">Accepted<', section)
    # Nothing of the other citizen: not their link, nor their words, place or contact.
    assert first.tracking_token not in html
    assert "/cases/t/" not in html.replace(url, "")
    for secret in OTHER:
        assert secret not in html
    # The surviving citizen's page does not show the merged one's either.
    theirs = client.get(f"/cases/t/{first.tracking_token}/").content.decode()
    assert second.tracking_token not in theirs and 'id="surviving"' not in theirs


def test_the_surviving_case_answers_both_citizens(client, merged, planner, owner):
    first, second = merged
    case = services.case_dispatch(case=first.case, actor=planner)
    case = services.case_accept(case=case, actor=owner)
    case = services.case_respond(case=case, actor=owner, note="已联系")
    services.case_resolve(case=case, actor=owner, result="已责令停工整改")
    html = client.get(f"/cases/t/{second.tracking_token}/").content.decode()
    section = html.split('id="surviving"', 1)[1].split("</section>", 1)[0]
    assert "已责令停工整改" in section and "Resolved" in section
    assert 'name="satisfaction"' not in html  # the void report takes no feedback


def test_staff_pages_link_the_merged_cases_both_ways(login, merged, planner, operator_user):
    first, second = merged
    for user in (planner, operator_user):
        client = login(user)
        dup = client.get(f"/cases/{second.case.pk}/").content.decode()
        assert re.search(
            rf'id="duplicate-of"><a href="/cases/{first.case.pk}/">{first.case.ticket}</a>', dup
        )
        # The merge step of the timeline links the surviving case too.
        assert f'<a class="hint" href="/cases/{first.case.pk}/">{first.case.ticket}</a>' in dup
        kept = client.get(f"/cases/{first.case.pk}/").content.decode()
        assert re.search(
            rf'id="merged"><a href="/cases/{second.case.pk}/">{second.case.ticket}</a>', kept
        )
        assert f'<a class="hint" href="/cases/{second.case.pk}/">{second.case.ticket}</a>' in kept


def test_a_chain_of_merges_shows_the_end_of_the_chain(client, friday, make_case, planner):
    a, b, c = make_case().case, make_case(), make_case()
    services.case_void(case=c.case, actor=planner, reason="重复", duplicate_of=b.case)
    services.case_void(case=b.case, actor=planner, reason="重复", duplicate_of=a)
    for merged in (b, c):
        html = client.get(f"/cases/t/{merged.tracking_token}/").content.decode()
        assert f'<a href="#surviving">{a.ticket}</a>' in html


@pytest.fixture
def operator_user(db):
    from tests.conftest import make_user

    return make_user("operator", "operator", None)
