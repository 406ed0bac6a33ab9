"""The plain-language reading of each metric: direction and favoured group, word for word."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from clarify_engine.bias import POSTTRAINING_METRICS, PRETRAINING_METRICS
from clarify_engine.report._sentences import MEANINGS, sentence


class Expect(NamedTuple):
    name: str
    value: object
    text: str


CASES = [
    Expect("DPL", 0.25, "DPL = 0.25: the rest of Gender has more positive labels than Gender = 0; "
                        "favours the rest of Gender (0 is no difference; range -1 to 1)."),
    Expect("DPL", -0.25, "DPL = -0.25: Gender = 0 has more positive labels than the rest of Gender; "
                         "favours Gender = 0 (0 is no difference; range -1 to 1)."),
    Expect("DI", 0.5, "DI = 0.5: Gender = 0 receives positive predictions less often than the rest of Gender "
                      "(below 0.8 is often read as adverse impact); favours the rest of Gender "
                      "(1 is no difference; range 0 to infinity)."),
    Expect("DI", 1.0, "DI = 1: no difference between Gender = 0 and the rest of Gender "
                      "(1 is no difference; range 0 to infinity)."),
    Expect("CI", 0.4, "CI = 0.4: Gender = 0 has fewer rows than the rest of Gender (under-represented) "
                      "(0 is no difference; range -1 to 1)."),
    Expect("KL", 0.03, "KL = 0.03: the label distributions of Gender = 0 and the rest of Gender differ by this "
                       "measure; it has no direction, see DPL (0 is no difference; range 0 to infinity)."),
    Expect("TE", "Infinity", "TE = infinity: Gender = 0 has more false negatives per false positive than the rest "
                             "of Gender (wrongly rejected more); favours the rest of Gender "
                             "(0 is no difference; range -infinity to infinity)."),
    Expect("FT", -0.1, "FT = -0.1: more rows of Gender = 0 are predicted negative than their neighbours in the "
                       "rest of Gender would be; favours the rest of Gender (0 is no difference; range -1 to 1)."),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.name}={c.value}")
def test_reading(case):
    assert sentence(case.name, case.value, None, "Gender", "0") == case.text


def test_a_failed_metric_reads_its_error():
    assert sentence("CDDL", None, "Group variable is empty or not provided", "Gender", "0") == \
        "CDDL could not be computed: Group variable is empty or not provided."


def test_every_metric_the_engine_computes_has_a_reading():
    assert set(MEANINGS) == set(PRETRAINING_METRICS) | set(POSTTRAINING_METRICS)
