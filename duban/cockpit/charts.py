"""Plotly figures (as JSON for the page) of the cockpit. Every bar carries the address of
the list behind it in its customdata, so a click drills down."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from duban import clock

COLOURS = {"green": "#1e7b34", "yellow": "#d4a000", "red": "#b3261e", "grey": "#9aa0a6"}
# Bars carry a pattern as well as a colour: status is never told by colour alone.
PATTERNS = {"green": "", "yellow": "/", "red": "x", "grey": "."}
# And a symbol in the legend, the same as the status badges of the pages.
SYMBOLS = {"green": "●", "yellow": "▲", "red": "■", "grey": "○"}


def _labels():
    """Each status's legend entry: a symbol and a word, as on the status badges."""
    words = {
        "green": _("On track"),
        "yellow": _("Behind"),
        "red": _("Lagging"),
        "grey": _("Not due"),
    }
    return {status: f"{SYMBOLS[status]} {word}" for status, word in words.items()}


def _short_names(names: list[str], width: int = 14) -> list[str]:
    """Axis labels cut to a width, kept distinct: two groups that start alike must not
    fall on one bar."""
    result, seen = [], set()
    for name in names:
        short = name if len(name) <= width else name[: width - 1] + "…"
        n = 2
        while short in seen:
            short = f"{name[: width - 3]}…{n}"
            n += 1
        seen.add(short)
        result.append(short)
    return result


def _layout(**extra):
    layout = {
        "margin": {"l": 150, "r": 10, "t": 10, "b": 30},
        "barmode": "stack",
        # Plotly reverses the legend of stacked bars; horizontal bars read left to right
        # from green, and so does their legend.
        "legend": {"orientation": "h", "traceorder": "normal"},
        "height": 320,
    }
    layout.update(extra)
    return layout


def status_bars(groups: list[dict], *, year: int, param: str) -> str:
    """Commitments by status per section or lead department, stacked; a bar segment drills
    down to the plan overview filtered by the group and the status."""
    overview = reverse("plans:overview")
    labels = _labels()
    names = _short_names([g["name"] for g in groups])

    def url(group, status):
        if group["id"] is None:
            # Commitments without a lead department: the overview has no filter for them.
            return None
        query = {"year": year, param: group["id"], "status": status}
        if param == "department":
            # The bars count lead departments; the overview also lists co-departments'.
            query["lead"] = "1"
        return f"{overview}?{urlencode(query)}"

    data = []
    for status, colour in COLOURS.items():
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": labels[status],
                "y": names,
                "x": [g[status] for g in groups],
                "hovertext": [g["name"] for g in groups],
                "marker": {"color": colour, "pattern": {"shape": PATTERNS[status]}},
                "customdata": [url(g, status) for g in groups],
                "hovertemplate": "%{hovertext}: %{x} " + labels[status] + "<extra></extra>",
            }
        )
    return json.dumps(
        {"data": data, "layout": _layout(height=max(220, 28 * len(groups) + 80))},
        ensure_ascii=False,
    )


def sparkline(points: list[tuple[str, float]]) -> str:
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [p[0] for p in points],
                "y": [p[1] for p in points],
                "line": {"width": 2},
                "hoverinfo": "x+y",
            }
        ],
        "layout": {
            "height": 70,
            "margin": {"l": 0, "r": 0, "t": 4, "b": 4},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "showlegend": False,
        },
    }
    return json.dumps(figure)


def funnel(rows: list[dict], *, year: int | None = None) -> str:
    """Projects that reached each gate; a stage drills down to the projects now at it (the
    project list filters by the present stage, not by a gate passed)."""
    url = reverse("projects:list")
    year = year or clock.today().year
    figure = {
        "data": [
            {
                "type": "funnel",
                "y": [str(r["label"]) for r in rows],
                "x": [r["reached"] for r in rows],
                "customdata": [
                    f"{url}?{urlencode({'year': year, 'stage': r['stage']})}" for r in rows
                ],
                "hovertemplate": "%{y}: %{x}<br>"
                + _("Click: the projects now at this stage")
                + "<extra></extra>",
            }
        ],
        "layout": {"height": 300, "margin": {"l": 90, "r": 10, "t": 10, "b": 10}},
    }
    return json.dumps(figure, ensure_ascii=False)


def investment_curve(rows: list[dict]) -> str:
    """Cumulative investment completed against the plan spread over the year, in 亿元."""
    year = rows[0]["month"].year if rows else clock.today().year
    url = f"{reverse('projects:index')}?{urlencode({'year': year})}"
    hundred_million = 100_000_000
    names = {"planned": _("Planned (pace)"), "completed": _("Completed")}
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": names[key],
            "x": [r["month"].isoformat() for r in rows],
            "y": [
                None if r[key] is None else round(float(r[key]) / hundred_million, 2) for r in rows
            ],
            "customdata": [url] * len(rows),
            "line": {"dash": "dash"} if key == "planned" else {},
        }
        for key in ("planned", "completed")
    ]
    layout = {
        "height": 300,
        "margin": {"l": 60, "r": 10, "t": 10, "b": 30},
        "legend": {"orientation": "h"},
        "yaxis": {"title": {"text": "亿元"}},
    }
    return json.dumps({"data": data, "layout": layout}, ensure_ascii=False)


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """The first day of a "YYYY-MM" month and its last day up to today (the as-of day)."""
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return first, min(last, clock.today())


def case_volume(rows: list[dict]) -> str:
    """Cases received per month; a month drills down to its cases by category."""
    url = reverse("cases:kpi")

    def month_url(month):
        start, end = _month_bounds(month)
        return f"{url}?{urlencode({'group': 'category', 'start': start, 'end': end})}"

    figure = {
        "data": [
            {
                "type": "bar",
                "x": [r["month"] for r in rows],
                "y": [r["n"] for r in rows],
                "name": _("Cases received"),
                "customdata": [month_url(r["month"]) for r in rows],
            }
        ],
        "layout": {"height": 260, "margin": {"l": 50, "r": 10, "t": 10, "b": 30}},
    }
    return json.dumps(figure, ensure_ascii=False)


def ranking(scores, *, as_of: dt.date | None = None) -> str:
    """Departments by this month's score so far; a bar opens the department's score page
    for the same day, so the points behind it are the ones the bar shows."""
    url = reverse("cockpit:evaluation")
    query = f"?kind=month&period={as_of.isoformat()}" if as_of else ""
    top = list(scores)[:15]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [s.department.name for s in reversed(top)],
                "x": [float(s.total) for s in reversed(top)],
                "customdata": [
                    f"{url}department/{s.department.code}/{query}" for s in reversed(top)
                ],
                "text": [f"{s.total}" for s in reversed(top)],
                "textposition": "auto",
            }
        ],
        "layout": {
            "height": max(220, 26 * len(top) + 60),
            "margin": {"l": 150, "r": 10, "t": 10, "b": 30},
            "xaxis": {"range": [0, 100]},
        },
    }
    return json.dumps(figure, ensure_ascii=False)
