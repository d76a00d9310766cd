"""The leader's cockpit in a real browser, on the demo data (a small year of cases): every
chart drawn with data and no error, status told by more than colour, drill-downs that land
on the list behind the figure, the date switch, the wall display, outsiders refused."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from duban import clock
from duban.accounts.models import Department
from duban.cockpit import selectors
from duban.demo import DEMO_PASSWORD, build_demo
from duban.plans.models import Plan
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_user
from tests.plans.factories import make_commitment, make_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "cockpit" / "index.html"
# The charts the template draws, read from it, so that a chart added later is checked too.
CHART_IDS = re.findall(r'id="(chart-[\w-]+)"[^>]*data-figure', TEMPLATE.read_text("utf-8"))
SEP, JUNE = dt.date(2022, 9, 30), dt.date(2022, 6, 30)
SYMBOLS = {"green": "●", "yellow": "▲", "red": "■", "grey": "○"}

# Every [data-figure] of the page: what Plotly drew and the data it drew.
CHARTS_JS = """() => Array.from(document.querySelectorAll("[data-figure]")).map((el) => {
  const numbers = (values) => (values || []).filter((v) => typeof v === "number");
  const traces = el._fullData || [];
  return {
    id: el.id || el.className,
    svg: el.querySelectorAll(".main-svg").length,
    traces: traces.length,
    values: traces.map((t) => numbers(t.x).length + numbers(t.y).length),
    positive: traces.some((t) => numbers(t.x).concat(numbers(t.y)).some((v) => v > 0)),
    drawn: el.querySelectorAll(".point").length,
    drills: el.classList.contains("drills"),
  };
})"""

# The centre of the biggest bar of a chart's trace, with what it stands for.
BAR_JS = """([id, trace]) => {
  const gd = document.getElementById(id);
  const data = gd.data[trace];
  const values = gd._fullData[trace].orientation === "h" ? data.x : data.y;
  const i = values.indexOf(Math.max(...values));
  const point = gd.querySelectorAll(".barlayer .trace, .funnellayer .trace")[trace].querySelectorAll(".point")[i];
  const box = point.getBoundingClientRect();
  return {
    x: box.x + box.width / 2, y: box.y + box.height / 2, n: values[i],
    url: data.customdata[i], name: (data.hovertext || [])[i] || (data.y || [])[i],
    text: (data.text || [])[i],
  };
}"""


@pytest.fixture
def demo(db):
    build_demo(cases_total=300)
    return Plan.objects.get(year=2022)


def watch_requests(page):
    """Failed requests and error responses (a missing script or style) of the page. A
    request cut short by leaving the page (a drill-down while the favicon loads) is not
    a failure."""
    page.failed_requests = []
    page.on(
        "requestfailed",
        lambda r: (
            r.failure != "net::ERR_ABORTED" and page.failed_requests.append(f"{r.url} {r.failure}")
        ),
    )
    page.on(
        "response",
        lambda r: r.status >= 400 and page.failed_requests.append(f"{r.status} {r.url}"),
    )


def open_cockpit(page, url):
    response = page.goto(url)
    assert response.status == 200
    page.wait_for_function("document.documentElement.dataset.chartsReady")
    # Its scripts and style all arrived.
    assert page.evaluate("Boolean(window.Plotly && window.htmx)")
    assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") == "6px"


def check_charts(page):
    charts = page.evaluate(CHARTS_JS)
    ids = [c["id"] for c in charts]
    assert set(CHART_IDS) <= set(ids), f"charts of the template not on the page: {ids}"
    assert page.evaluate("document.documentElement.dataset.chartsReady") == str(len(charts))
    for chart in charts:
        assert chart["svg"] >= 1, chart
        assert chart["traces"] >= 1 and all(chart["values"]), chart
        assert chart["positive"] and chart["drawn"] >= 1, chart
    for chart in charts:
        if chart["id"] in CHART_IDS:
            assert chart["drills"], f"{chart['id']} does not drill down"
    return charts


def page_counts(page):
    return {
        status: int(page.locator(f".status-counts [data-count={status}]").inner_text())
        for status in ("green", "yellow", "red", "grey", "overdue")
    }


def click_bar(page, chart_id, trace):
    page.locator(f"#{chart_id}").scroll_into_view_if_needed()
    bar = page.evaluate(BAR_JS, [chart_id, trace])
    assert bar["n"] > 0 and bar["url"].startswith("/"), bar
    page.mouse.click(bar["x"], bar["y"])
    page.wait_for_url(re.compile(re.escape(bar["url"]) + "$"))
    return bar


def test_leader_reads_the_cockpit_drills_down_and_switches_the_date(page, live_server, demo):
    watch_requests(page)
    log_in(page, live_server, "leader", DEMO_PASSWORD)
    page.get_by_role("navigation").get_by_role("link", name=re.compile("驾驶舱|Cockpit")).click()
    expect(page).to_have_url(re.compile(r"/cockpit/$"))
    page.wait_for_function("document.documentElement.dataset.chartsReady")
    open_cockpit(page, f"{live_server.url}/cockpit/?as_of={SEP}")
    expect(page.locator("h1")).to_contain_text(str(SEP))
    charts = check_charts(page)
    assert len(CHART_IDS) >= 6
    # One sparkline per headline card with a trend.
    sparks = [c for c in charts if c["id"] not in CHART_IDS]
    assert len(sparks) == page.locator(".headline .spark").count() >= 1

    with clock.as_of(SEP):
        expected = selectors.cockpit(demo)
    counts = page_counts(page)
    assert counts == {k: expected["counts"][k] for k in counts}
    assert counts["green"] and counts["yellow"] and counts["red"]

    # Status is never told by colour alone: the legend says it in words and symbols, the
    # same as the badges, and the bars carry a pattern as well.
    badges = {s: page.locator(f".status-counts .status-{s}").inner_text().strip() for s in SYMBOLS}
    assert all(badges[s].startswith(SYMBOLS[s]) and len(badges[s]) > 2 for s in SYMBOLS)
    for chart_id in ("chart-sections", "chart-departments"):
        legend = page.locator(f"#{chart_id} .legend .legendtext").all_text_contents()
        assert [t.strip() for t in legend] == list(badges.values())
        shapes = page.evaluate(
            "(id) => document.getElementById(id)._fullData.map((t) => t.marker.pattern.shape)",
            chart_id,
        )
        assert len(set(shapes)) == 4
    assert page.locator(".headline .status").count() >= len(expected["headlines"])
    for text in page.locator(".headline .status").all_inner_texts():
        assert text.strip()[0] in SYMBOLS.values() and len(text.strip()) > 2

    # The red segment of a section's bar lists that section's lagging commitments.
    bar = click_bar(page, "chart-sections", 2)
    rows = page.locator("table.status-table tbody tr")
    expect(rows).to_have_count(bar["n"])
    expect(page.locator("main h2")).to_have_text([bar["name"]])
    assert rows.locator(".status-red").count() == bar["n"]
    page.go_back()
    page.wait_for_function("document.documentElement.dataset.chartsReady")

    # The yellow segment of a department's bar lists its commitments that are behind.
    bar = click_bar(page, "chart-departments", 1)
    rows = page.locator("table.status-table tbody tr")
    expect(rows).to_have_count(bar["n"])
    assert rows.locator(".status-yellow").count() == bar["n"]
    assert rows.filter(has_text=bar["name"]).count() == bar["n"]
    page.go_back()
    page.wait_for_function("document.documentElement.dataset.chartsReady")

    # A month of cases lists that month's cases by category, as many as the bar says.
    bar = click_bar(page, "chart-cases", 0)
    totals = page.locator("table tbody tr td:nth-child(2)").all_inner_texts()
    assert sum(int(t) for t in totals) == bar["n"]
    page.go_back()
    page.wait_for_function("document.documentElement.dataset.chartsReady")

    # A stage of the funnel lists the projects now at that stage: those that reached it
    # less those that went on to the next.
    page.locator("#chart-funnel").scroll_into_view_if_needed()
    reached = page.evaluate("document.getElementById('chart-funnel').data[0].x")
    bar = click_bar(page, "chart-funnel", 0)
    assert bar["n"] == reached[0]
    expect(page.locator("select[name=stage]")).to_have_value("prep")
    expect(page.locator("form.filters + p")).to_have_text(
        re.compile(rf"^{reached[0] - reached[1]}\D")
    )
    page.go_back()
    page.wait_for_function("document.documentElement.dataset.chartsReady")

    # The best department of the ranking opens its score, every point traced.
    bar = click_bar(page, "chart-ranking", 0)
    expect(page.locator("h1")).to_contain_text(bar["name"])
    expect(page.locator("main")).to_contain_text(bar["text"])
    page.go_back()
    page.wait_for_function("document.documentElement.dataset.chartsReady")

    # The red list: a lagging commitment opens its page.
    red = page.locator("#h-red + table tbody tr").filter(has_text="■").first
    label = red.locator("td:nth-child(2) a").inner_text()
    red.locator("td:nth-child(2) a").click()
    expect(page).to_have_url(re.compile(r"/plans/commitments/\d+/$"))
    expect(page.locator("h1")).to_contain_text(label)
    page.go_back()
    page.wait_for_function("document.documentElement.dataset.chartsReady")

    # The overdue cases of a department open that department's overdue queue.
    overdue = page.locator("#h-red + table tbody tr").filter(has_text="☎").first
    n = int(overdue.locator("td:nth-child(2) a").inner_text())
    department = overdue.locator("td:nth-child(4)").inner_text()
    overdue.locator("td:nth-child(2) a").click()
    expect(page).to_have_url(re.compile(r"/cases/queue/\?scope=overdue&department=\w+"))
    expect(page.locator("h1")).to_contain_text(department)
    expect(page.locator("table.cases tbody tr")).to_have_count(n)
    page.go_back()
    page.wait_for_function("document.documentElement.dataset.chartsReady")

    # The date switch of the top bar: the figures are those of the new day.
    page.locator("form.asof input[name=as_of]").fill(str(JUNE))
    page.locator("form.asof button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text(str(JUNE))
    page.wait_for_function("document.documentElement.dataset.chartsReady")
    check_charts(page)
    with clock.as_of(JUNE):
        june = selectors.cockpit(demo)
    counts = page_counts(page)
    assert counts == {k: june["counts"][k] for k in counts}
    assert counts != {k: expected["counts"][k] for k in counts}
    months = page.evaluate("document.getElementById('chart-cases').data[0].x")
    assert months == [f"2022-{m:02d}" for m in range(1, 7)]
    section_red = page.evaluate(
        "document.getElementById('chart-sections').data[2].x.reduce((a, b) => a + b, 0)"
    )
    assert section_red == june["counts"]["red"]

    assert page.console_errors == []
    assert page.failed_requests == []


def test_wall_display_refreshes_itself(page, live_server, demo):
    watch_requests(page)
    log_in(page, live_server, "leader", DEMO_PASSWORD)
    open_cockpit(page, f"{live_server.url}/cockpit/?as_of={SEP}&wall=1")
    check_charts(page)
    expect(page.locator(".topbar")).to_be_hidden()
    wall = page.locator(".cockpit[data-refresh-seconds]")
    expect(wall).to_have_count(1)
    assert int(wall.get_attribute("data-refresh-seconds")) > 0
    # The page scheduled its reload (it is not waited for).
    page.wait_for_function("document.querySelector('.cockpit').dataset.refreshAt")
    expect(page.locator(".refresh-note")).to_be_visible()
    expect(page.locator("[data-fullscreen]")).to_be_visible()
    page.get_by_role("link", name=re.compile("退出大屏|Leave wall display")).click()
    page.wait_for_function("document.documentElement.dataset.chartsReady")
    expect(page.locator(".cockpit[data-refresh-seconds]")).to_have_count(0)
    assert page.console_errors == []
    assert page.failed_requests == []


def test_outsiders_are_refused_the_cockpit(page, live_server):
    office = Department.objects.create(name="督查室", code="duchashi", is_supervision_office=True)
    dept = Department.objects.create(name="城市管理局", code="chengguan")
    other = Department.objects.create(name="教育局", code="jiaoyu")
    make_user("leader", "leader", office)
    make_user("outsider", "reporter", other)
    make_commitment(make_plan(2022), dept)

    # Anonymous: sent to log in.
    page.goto(f"{live_server.url}/cockpit/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/cockpit/$"))

    # A reporter of an unrelated department: refused, and not offered the link.
    log_in(page, live_server, "outsider", PASSWORD)
    expect(page.get_by_role("navigation").get_by_role("link", name="驾驶舱")).to_have_count(0)
    for url in ("/cockpit/", "/cockpit/?wall=1", "/cockpit/?as_of=2022-09-30"):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 403, url

    # The same page opens for a leader.
    page.context.clear_cookies()
    log_in(page, live_server, "leader", PASSWORD)
    response = page.goto(f"{live_server.url}/cockpit/")
    assert response.status == 200
    expect(page.locator("#chart-sections")).to_be_attached()
