from django import template

from duban.core import figures

register = template.Library()


@register.simple_tag
def figure(obj):
    return figures.figure(obj.measure, obj.comparator, obj.value, obj.upper, obj.unit)


@register.simple_tag
def baseline(obj):
    return figures.amount(obj.baseline_value, obj.unit)
