from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from duban.core import figures

register = template.Library()


@register.simple_tag
def figure(obj):
    return figures.figure(obj.measure, obj.comparator, obj.value, obj.upper, obj.unit)


@register.simple_tag
def baseline(obj):
    return figures.amount(obj.baseline_value, obj.unit)


_STATUS = {
    "green": ("●", _("On track")),
    "yellow": ("▲", _("Behind")),
    "red": ("■", _("Lagging")),
    "grey": ("○", _("Not due")),
}


@register.simple_tag
def status_badge(status, reason=""):
    """Status as a symbol and a word as well as a colour (never colour alone)."""
    symbol, label = _STATUS.get(status, ("?", status))
    title = f' title="{escape(reason)}"' if reason else ""
    return mark_safe(
        f'<span class="status status-{escape(status)}"{title}>{symbol} {escape(label)}</span>'
    )


@register.filter
def percent(value, digits=0):
    if value is None:
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.simple_tag
def amount(value, unit):
    return figures.amount(value, unit)
