"""Which columns are text."""

from __future__ import annotations

import pandas as pd
import pytest

from clarify_engine.errors import DataError
from clarify_engine.explain.text import data_type, detect_text_columns


def test_detects_free_text_and_types_the_others():
    frame = pd.DataFrame({
        "Rating": [1, 2, 3, 4],
        "Colour": ["red", "blue", "red", "red"],
        "Code": ["12", "13", "14", "15"],
        "Comments": ["so nice", "very bad fit", "ok", "would buy again"],
    })
    assert detect_text_columns(frame, list(frame.columns)) == ("Comments",)
    assert data_type(frame["Rating"]) == "numerical" and data_type(frame["Colour"]) == "categorical"


def test_no_text_column_names_each_column_and_the_fix():
    frame = pd.DataFrame({"Rating": [1.0, 2.0], "Colour": ["red", "blue"]})
    with pytest.raises(DataError) as err:
        detect_text_columns(frame, ["Rating", "Colour"])
    message = str(err.value)
    assert "no feature column holds free text ('Rating' is numerical; 'Colour' is categorical (1 words per value" \
           in message
    assert "remove text_config to explain every column as a tabular feature" in message
