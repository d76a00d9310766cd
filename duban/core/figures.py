"""Figures written the way a Chinese report writes them: 1400亿元, 1.6万个, ≥98%."""

from __future__ import annotations

from decimal import Decimal

COMPARATOR_SIGNS = {
    "eq": "",
    "ge": "≥",
    "gt": ">",
    "le": "≤",
    "lt": "<",
    "about": "≈",
    "between": "",
}

# Units that take 亿/万 back when the amount is large.
_SCALED_UNITS = {
    "元",
    "美元",
    "人",
    "个",
    "家",
    "套",
    "张",
    "人次",
    "户",
    "辆",
    "平方米",
    "吨",
    "千瓦时",
}


def _plain(number: Decimal) -> str:
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def amount(value, unit: str | None) -> str:
    if value is None:
        return "—"
    number = Decimal(str(value))
    unit = unit or ""
    if unit in _SCALED_UNITS:
        if abs(number) >= Decimal("100000000"):
            return f"{_plain((number / Decimal('100000000')).quantize(Decimal('0.0001')))}亿{unit}"
        if abs(number) >= Decimal("10000") and number % 100 == 0:
            return f"{_plain((number / Decimal('10000')).quantize(Decimal('0.0001')))}万{unit}"
    return f"{_plain(number)}{unit}"


def figure(measure: str, comparator: str | None, value, upper, unit: str | None) -> str:
    if measure == "milestone" or value is None:
        return "—"
    if comparator == "between":
        return f"{amount(value, unit)}–{amount(upper, unit)}"
    sign = COMPARATOR_SIGNS.get(comparator or "eq", "")
    text = amount(value, unit)
    if measure == "growth" and Decimal(str(value)) > 0:
        text = "+" + text
    return f"{sign}{text}"
