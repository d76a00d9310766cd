from django import template
from django.utils.html import format_html

register = template.Library()

CLASSES = {
    "green": "green",
    "yellow": "yellow",
    "red": "red",
    "done": "green",
    "late": "red",
    "paused": "grey",
    "none": "grey",
    "void": "grey",
}
SYMBOLS = {"done": "✓", "late": "✓", "paused": "❚❚", "none": "–", "void": "×"}


@register.simple_tag
def light(value):
    """A light as a coloured dot with its words (colour is never the only signal)."""
    if value is None:
        return ""
    return format_html(
        '<span class="status status-{}" title="{}">{} {}</span>',
        CLASSES[value.colour],
        value.deadline.strftime("%Y-%m-%d %H:%M") if value.deadline else "",
        SYMBOLS.get(value.colour, "●"),
        value.label,
    )


@register.filter
def percent(value):
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"
