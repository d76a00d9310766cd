"""Plotly figures (as JSON for the page) of the cockpit. Every bar carries the address of
the list behind it in its customdata, so a click drills down."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

COLOURS = {"green": "#1e7b34", "yellow": "#d4a000", "red": "#b3261e", "grey": "#9aa0a6"}
# Bars carry a pattern as well as a colour: status is never told by colour alone.
PATTERNS = {"green": "", "yellow": "/", "red": "x", "grey": "."}


def _labels():
    return {
        "green": _("On track"),
        "yellow": _("Behind"),
        "red": _("Lagging"),
        "grey": _("Not due"),
    }


def _layout(**extra):
    layout = {
        "margin": {"l": 150, "r": 10, "t": 10, "b": 30},
        "barmode": "stack",
        "legend": {"orientation": "h"},
        "height": 320,
    }
    layout.update(extra)
    return layout


def status_bars(groups: list[dict], *, year: int, param: str) -> str:
    overview = reverse("plans:overview")
    labels = _labels()
    data = []
    for status, colour in COLOURS.items():
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": labels[status],
                "y": [g["name"][:14] for g in groups],
                "x": [g[status] for g in groups],
                "marker": {"color": colour, "pattern": {"shape": PATTERNS[status]}},
                "customdata": [
                    f"{overview}?{urlencode({'year': year, param: g['id'] if g['id'] is not None else '', 'status': status})}"
                    for g in groups
                ],
                "hovertemplate": "%{y}: %{x} " + labels[status] + "<extra></extra>",
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


def funnel(rows: list[dict]) -> str:
    url = reverse("projects:list")
    figure = {
        "data": [
            {
                "type": "funnel",
                "y": [str(r["label"]) for r in rows],
                "x": [r["reached"] for r in rows],
                "customdata": [url] * len(rows),
            }
        ],
        "layout": {"height": 300, "margin": {"l": 90, "r": 10, "t": 10, "b": 10}},
    }
    return json.dumps(figure, ensure_ascii=False)


def investment_curve(rows: list[dict]) -> str:
    """Cumulative investment completed against the plan spread over the year, in 亿元."""
    url = reverse("projects:index")
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


def case_volume(rows: list[dict]) -> str:
    url = reverse("cases:kpi")
    figure = {
        "data": [
            {
                "type": "bar",
                "x": [r["month"] for r in rows],
                "y": [r["n"] for r in rows],
                "name": _("Cases received"),
                "customdata": [url] * len(rows),
            }
        ],
        "layout": {"height": 260, "margin": {"l": 50, "r": 10, "t": 10, "b": 30}},
    }
    return json.dumps(figure, ensure_ascii=False)


def ranking(scores) -> str:
    url = reverse("cockpit:evaluation")
    top = list(scores)[:15]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [s.department.name for s in reversed(top)],
                "x": [float(s.total) for s in reversed(top)],
                "customdata": [f"{url}department/{s.department.code}/" for s in reversed(top)],
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
