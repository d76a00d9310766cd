from django import template

from duban.core import figures

register = template.Library()


@register.filter
def yuan(value):
    """An amount in 元 written the Chinese way: 4768亿元, 1.25万元."""
    return figures.amount(value, "元")


@register.filter
def pct(value):
    return "—" if value is None else f"{value}%"
