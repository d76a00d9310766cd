"""`duban extract`: table, --json, --score, and one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest

from duban.extract.cli import main

from .goldutil import DATA, load

REPORT = "2022年工作安排\n\n全年新增停车位6000个,同比增长**8%**;推动金融岛3月上旬正式开岛。\n"


@pytest.fixture
def report(tmp_path):
    p = tmp_path / "report.txt"
    p.write_text(REPORT, encoding="utf-8")
    return p


def test_table(report, capsys):
    assert main([str(report)]) == 0
    out = capsys.readouterr().out
    assert "stance" in out and "deadline" in out
    assert "新增停车位" in out and "6,000" in out and "2022-03-10" in out


def test_json_is_the_spec_document_only(report, capsys):
    assert main([str(report), "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert captured.err == ""
    assert doc["year"] == 2022
    first = doc["commitments"][0]
    assert list(first) == [
        "stance", "year", "section", "indicator", "text", "start", "end", "measure",
        "comparator", "value", "upper", "unit", "deadline",
    ]  # fmt: skip
    assert first["value"] == 6000 and first["unit"] == "个"
    for c in doc["commitments"]:
        assert REPORT[c["start"] : c["end"]] == c["text"]


def test_year_option(report, capsys):
    assert main([str(report), "--json", "--year", "2023"]) == 0
    assert json.loads(capsys.readouterr().out)["year"] == 2023


def test_bom_is_accepted(tmp_path, capsys):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf" + REPORT.encode("utf-8"))
    assert main([str(p), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    text = REPORT
    assert all(text[c["start"] : c["end"]] == c["text"] for c in doc["commitments"])


def test_score(tmp_path, capsys):
    # gold files in data/ leave out offsets; give the CLI a complete one
    text, year, commitments = load("county_2023")
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({"year": year, "commitments": commitments}), encoding="utf-8")
    assert main([str(DATA / "county_2023.txt"), "--score", str(gold)]) == 0
    out = capsys.readouterr().out
    assert "precision 1.0000" in out and "recall 1.0000" in out
    assert "misses (0)" in out and "false alarms (0)" in out


def error_of(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("duban extract: error: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_missing_file(tmp_path, capsys):
    assert "no such file" in error_of(capsys, [str(tmp_path / "nope.txt")])


def test_directory(tmp_path, capsys):
    assert "directory" in error_of(capsys, [str(tmp_path)])


def test_not_utf8(tmp_path, capsys):
    p = tmp_path / "gbk.txt"
    p.write_bytes(REPORT.encode("gbk"))
    assert "UTF-8" in error_of(capsys, [str(p)])


@pytest.mark.parametrize("content", [b"", b"   \n\t\n"])
def test_empty(tmp_path, capsys, content):
    p = tmp_path / "empty.txt"
    p.write_bytes(content)
    assert "empty" in error_of(capsys, [str(p)])


def test_no_commitment(tmp_path, capsys):
    p = tmp_path / "none.txt"
    p.write_text("2022年工作安排\n\n坚持稳中求进工作总基调。\n", encoding="utf-8")
    assert "no commitment" in error_of(capsys, [str(p)])


def test_year_not_inferable(tmp_path, capsys):
    p = tmp_path / "noyear.txt"
    p.write_text("新增停车位6000个。\n", encoding="utf-8")
    assert "--year" in error_of(capsys, [str(p)])


@pytest.mark.parametrize("year", ["abc", "22", "99999", "２０２２"])
def test_bad_year(report, capsys, year):
    assert "bad year" in error_of(capsys, [str(report), "--year", year])


@pytest.mark.parametrize("gold", [b"{not json", b'{"year": 2022}', b"\xff\xfe", b'[{"stance": 1}]'])
def test_bad_gold(report, tmp_path, capsys, gold):
    g = tmp_path / "gold.json"
    g.write_bytes(gold)
    assert "gold" in error_of(capsys, [str(report), "--score", str(g)])


def test_missing_gold(report, tmp_path, capsys):
    assert "gold" in error_of(capsys, [str(report), "--score", str(tmp_path / "no.json")])


def test_usage_errors_exit_2(capsys):
    error_of(capsys, [])
    error_of(capsys, ["a.txt", "--bogus"])


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "duban extract" in capsys.readouterr().out
