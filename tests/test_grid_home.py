"""What the grid hands the engine instead of the engine reading the grid: the
distributions a sweep compares (Domain.sweep_distributions) and the flags of
`levinsearch show` (Domain.show_options), with other domains refusing them."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from conftest import invoke
from levinsearch import domains, report, sweeps


def _record(behaviours: dict[str, float], classes: dict[str, float] | None = None, name: str = "red-door") -> dict:
    """A golden record (every field a sweep metric reads) with these behaviour posteriors
    and, for a grid record, these outcome-class masses (the other classes 0) on a split
    named "blue"."""
    import copy
    import json

    from golden.records import stored
    record = copy.deepcopy(json.loads(stored(name)))
    record["enumeration"]["seconds"] = 0.5  # timings are not stored with golden records
    if classes is not None:
        split = record["summary"]["splits"].pop("blue_doors")
        split["classes"] = {k: dict(row, mass=classes.get(k, 0.0)) for k, row in split["classes"].items()}
        record["summary"]["splits"] = {"blue": split}
    record["behaviours"] = [dict(key=k, posterior=v) for k, v in behaviours.items()]
    return record


POINTS = [({"experiment.seed": 1}, [_record({"a": 0.5, "b": 0.5}, {"robust": 0.75, "pseudo": 0.25})]),
          ({"experiment.seed": 2}, [_record({"a": 1.0}, {"robust": 0.5, "pseudo": 0.5})])]
SEQ_POINTS = [({"experiment.seed": 1}, [_record({"a": 0.5, "b": 0.5}, name="occam")]),
              ({"experiment.seed": 2}, [_record({"a": 1.0}, name="occam")])]


def test_grid_sweeps_compare_outcome_classes_on_the_split():
    grid = domains.get("grid")
    assert list(grid.sweep_distributions) == ["outcome_class"]
    record = sweeps.sweep_record("x", grid, [("experiment.seed", [1, 2])], POINTS, "blue", "search", False)
    assert record["distances"] == {"behaviour": [[0.0, 0.5], [0.5, 0.0]],
                                   "outcome_class": [[0.0, 0.25], [0.25, 0.0]]}
    assert grid.sweep_distributions["outcome_class"](POINTS[0][1][0], None) == {}


def test_a_domain_without_distributions_records_behaviours_only_and_reports():
    seq = domains.get("seq")
    assert dict(seq.sweep_distributions) == {} and dict(domains.get("tm").sweep_distributions) == {}
    record = sweeps.sweep_record("x", seq, [("experiment.seed", [1, 2])], SEQ_POINTS, None, seq.default_metric,
                                 False)
    assert record["distances"] == {"behaviour": [[0.0, 0.5], [0.5, 0.0]]}
    text = io.StringIO()
    Console(file=text, width=140).print(report.sweep_report(record))
    assert "0.500" in text.getvalue()


def test_show_flags_are_the_grids_and_other_domains_refuse_them():
    names = [o.name for o in domains.get("grid").show_options]
    assert names == ["grid_file", "env_ref", "horizon", "seed", "base", "proxy"]
    assert domains.get("seq").show_options == () and domains.get("tm").show_options == ()
    assert domains.get("tm").foreign_show_flag("--env") == "a machine runs on the blank tape: drop --env"
    assert domains.get("seq").foreign_show_flag("--grid") == \
        "a seq experiment takes no --env or --grid: show PROGRAM --experiment NAME"
    assert domains.get("grid").show_overrides({"env_ref": "train:0", "seed": 3}) == {"seed": 3, "horizon": None}
    assert domains.get("grid").show_overrides({"seed": 3}) == {}


@pytest.mark.parametrize("flag, value", [("--base", "door"), ("--seed", "2"), ("--horizon", "5")])
def test_a_seq_show_refuses_a_grid_flag(capsys, flag, value):
    code, _, err = invoke(capsys, "show", "(mul t x1)", "--experiment", "occam", flag, value)
    assert code == 2
    assert err.strip().splitlines()[-1] == f"error: a seq experiment takes no {flag}: show PROGRAM --experiment NAME"
