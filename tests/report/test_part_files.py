"""The Spark-style part-file layout of explanations_shap/out.csv."""

from __future__ import annotations

import re

import pytest

from clarify_engine.report._part_files import split_records, write_part_files

PART = re.compile(r"^part-(\d{5})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-c000\.csv$")


def _parts(folder):
    names = sorted(p.name for p in folder.iterdir())
    assert names[0] == "_SUCCESS" and (folder / "_SUCCESS").read_bytes() == b""
    parts = names[1:]
    assert all(PART.match(n) for n in parts), parts
    assert [int(PART.match(n).group(1)) for n in parts] == list(range(len(parts)))
    assert len({n.split("-", 2)[2] for n in parts}) == 1, "one job uuid for every part"
    return [(folder / n).read_text() for n in parts]


@pytest.mark.parametrize("rows, parts, sizes", [(10, 3, [4, 3, 3]), (2, 3, [1, 1]), (0, 3, [0]), (6, 1, [6])])
def test_rows_are_split_contiguously_with_a_header_in_each_part(tmp_path, rows, parts, sizes):
    header = "id,a_label0,b_label0\n"
    lines = [f"{i},0.{i}25,-1.5e-0{i % 9}\n" for i in range(rows)]
    out = tmp_path / "out.csv"
    out.write_text(header + "".join(lines))
    assert write_part_files(out, parts) == out and out.is_dir()
    texts = _parts(out)
    assert [t.count("\n") - 1 for t in texts] == sizes
    assert all(t.startswith(header) for t in texts)
    assert "".join(t[len(header):] for t in texts) == "".join(lines), "bytes unchanged, rows in order"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"], "no staging folder left"


def test_a_quoted_field_with_a_line_break_stays_in_one_record():
    header, rows = split_records('id,v\n"a\nb",1\n"c""\n",2\nd,3')
    assert header == "id,v\n"
    assert rows == ['"a\nb",1\n', '"c""\n",2\n', "d,3"]


@pytest.mark.parametrize("joinsource, warned", [(None, True), ("id", False)])
def test_the_container_writes_parts_only_with_the_flag_and_warns_without_joinsource(tmp_path, monkeypatch, caplog,
                                                                                   joinsource, warned):
    from clarify_engine.container import ProcessingLayout, _part_files

    layout = ProcessingLayout(tmp_path)
    out = layout.output_dir / "explanations_shap" / "out.csv"
    out.parent.mkdir(parents=True)
    out.write_text("id,a_label0\n1,0.5\n2,0.25\n")
    monkeypatch.delenv("CLARIFY_SHAP_PART_FILES", raising=False)
    _part_files(layout, 2, joinsource)
    assert out.is_file(), "no flag: the single file stays"
    monkeypatch.setenv("CLARIFY_SHAP_PART_FILES", "1")
    caplog.set_level("WARNING", logger="clarify_engine.container")
    _part_files(layout, 2, joinsource)
    assert [t[len("id,a_label0\n"):] for t in _parts(out)] == ["1,0.5\n", "2,0.25\n"]
    assert ("joinsource_name_or_index not set: local SHAP part files cannot be mapped back to input rows"
            in caplog.text) is warned
