"""The interface speaks Simplified Chinese by default: every string of every catalogue is
translated, and the compiled catalogues are the ones in use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(ROOT.glob("duban/**/locale/zh_Hans/LC_MESSAGES/django.po"))
# Words that are the same in both languages.
SAME = {"Excel", "API", "Duban API"}


def _entries(path: Path):
    text = path.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        if "#, fuzzy" in block and 'msgid ""\nmsgstr ""\n"' not in block:
            yield None, None, block
            continue
        msgid = re.search(r'^msgid ((?:".*"\n)+)', block + "\n", re.M)
        if msgid is None:
            continue
        key = "".join(part[1:-1] for part in msgid.group(1).split("\n") if part)
        if not key:
            continue
        msgstr = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n)+)', block + "\n", re.M)
        value = (
            "".join(part[1:-1] for part in msgstr.group(1).split("\n") if part) if msgstr else ""
        )
        yield key, value, block


def test_there_is_a_catalogue():
    assert ROOT / "duban/locale/zh_Hans/LC_MESSAGES/django.po" in CATALOGUES


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_string_is_translated(path):
    problems = []
    for key, value, block in _entries(path):
        if key is None:
            problems.append("fuzzy: " + block.splitlines()[-1])
        elif not value:
            problems.append(key)
    assert problems == []
    assert path.with_suffix(".mo").is_file(), "compile it: msgfmt -o django.mo django.po"


def test_compiled_catalogues_are_used():
    with translation.override("zh-hans"):
        assert translation.gettext("Log out") == "退出"
        assert translation.gettext("behind pace") == "落后序时进度"
    with translation.override("en"):
        assert translation.gettext("Log out") == "Log out"
