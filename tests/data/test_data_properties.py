"""Property tests: splitting a CSV into part files or gzipping it never changes the frame."""

from __future__ import annotations

import io

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.data._spec import load_dataset
from tests.data.conftest import write

_cells = {
    "int": st.integers(-10**6, 10**6).map(str),
    "float": st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    "text": st.sampled_from(["a", "b", "c d", "yes", "no"]),
}


@st.composite
def tables(draw):
    kinds = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=4))
    n_rows = draw(st.integers(1, 12))
    rows = [[draw(_cells[k]) for k in kinds] for _ in range(n_rows)]
    for row in rows:  # some missing values
        if draw(st.booleans()) and len(row) > 1:
            row[draw(st.integers(0, len(row) - 1))] = ""
    cuts = sorted(draw(st.lists(st.integers(1, n_rows), max_size=3, unique=True)))
    return kinds, rows, cuts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables(), st.booleans(), st.booleans())
def test_parts_and_gzip_give_the_frame_of_one_read_csv(tmp_path_factory, table, with_header_row, gz):
    kinds, rows, cuts = table
    headers = [f"h{i}" for i in range(len(kinds))]
    lines = [",".join(row) for row in rows]
    folder = tmp_path_factory.mktemp("parts")
    bounds = [0, *cuts, len(rows)]
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        if a < b:
            header = [",".join(headers)] if with_header_row else []
            write(folder / f"part-{i:05d}.csv", "\n".join(header + lines[a:b]) + "\n", gz=gz and i % 2 == 0)
    ds = load_dataset({"dataset_type": "text/csv", "headers": headers}, folder)
    parts = [pd.read_csv(io.StringIO("\n".join(lines[a:b]) + "\n"), header=None, names=headers)
             for a, b in zip(bounds, bounds[1:]) if a < b]
    expected = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(ds.frame, expected)
    assert ds.features == headers
