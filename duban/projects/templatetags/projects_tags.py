from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()

YI = Decimal("100000000")
WAN = Decimal("10000")
HUNDREDTH = Decimal("0.01")


def _plain(number: Decimal) -> str:
    text = f"{number.quantize(HUNDREDTH, rounding=ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def yuan(value):
    """An amount in 元 as a Chinese table writes it, to two decimals of its scale:
    476800000000 -> 4768亿元, 65849115 -> 6584.91万元, 950 -> 950元."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    if abs(number) >= YI:
        return f"{_plain(number / YI)}亿元"
    if abs(number) >= WAN:
        return f"{_plain(number / WAN)}万元"
    return f"{_plain(number)}元"
