"""Sweep metrics fail loudly on a missing field (a renamed field must not become a blank
column), and are None only where a figure is legitimately absent: no program fitted, no
tail samples, a split figure that is None, a split the record does not have."""
from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

from levinsearch import domains, sweeps

GOLDEN = Path(__file__).resolve().parent / "golden" / "records"
GRID = domains.get("grid")
SHARES = ("search", "agents", "executes_search", "proxy_given_executes_search", "proxy_given_search", "robust",
          "pseudo", "capability_failure", "base", "proxy")


@pytest.fixture
def red_door() -> dict:
    with gzip.open(GOLDEN / "red-door.json.gz", "rt") as f:
        return json.load(f)


def test_a_run_reads_its_figures(red_door):
    row = sweeps.metrics(red_door, "blue_doors", GRID)
    s = red_door["summary"]
    assert row["fitting"] == red_door["enumeration"]["fitting"] == 218
    assert row["search"] == s["search_mass"]
    assert row["robust"] == s["splits"]["blue_doors"]["classes"]["robust"]["mass"]
    assert row["proxy_given_search"] == s["splits"]["blue_doors"]["search"]["class_share"]["pseudo"]
    assert row["tail_share"] is None and row["whole_search"] is None  # no tail samples


@pytest.mark.parametrize("path,metric", [
    (("summary", "search_mass"), "search"),
    (("summary", "splits", "blue_doors", "classes", "robust"), "robust"),
    (("summary", "splits", "blue_doors", "outcome_mass", "proxy"), "proxy"),
    (("enumeration", "unenumerated_mass"), "unenumerated_mass"),
    (("enumeration", "fitting"), "fitting"),
])
def test_a_renamed_field_is_an_error_naming_the_metric_and_the_field(red_door, path, metric):
    node = red_door
    for key in path[:-1]:
        node = node[key]
    node[path[-1] + "_renamed"] = node.pop(path[-1])
    field = ".".join(path)
    with pytest.raises(sweeps.MissingField, match=rf"^sweep metric '{metric}' reads {field}, which the record "
                                                  r"does not have \(a renamed or removed field\?\)$"):
        sweeps.metrics(red_door, "blue_doors", GRID)


def test_a_renamed_whole_posterior_field_is_an_error(red_door):
    split = red_door["summary"]["splits"]["blue_doors"]
    whole = dict(tail=None, search=None, executes_search=None, agent=None,
                 splits=dict(blue_doors=dict(classes={c: None for c in split["classes"]},
                                             outcome={k: None for k in split["outcome_mass"]})))
    red_door["summary"]["whole_posterior"] = whole
    row = sweeps.metrics(red_door, "blue_doors", GRID)
    assert [row[name] for name in sweeps.metrics_of(GRID) if name.startswith("whole_") or name == "tail_share"] == \
        [None] * 9  # every estimate is None: the tail took no samples yet
    whole["agents"] = whole.pop("agent")
    with pytest.raises(sweeps.MissingField, match=r"^sweep metric 'whole_agents' reads summary\.whole_posterior\.agent,"):
        sweeps.metrics(red_door, "blue_doors", GRID)


def test_no_fitting_program_gives_no_shares_without_reading_them(red_door):
    red_door["enumeration"]["fitting"] = 0
    del red_door["summary"]["splits"]  # not read: there is no posterior
    row = sweeps.metrics(red_door, "blue_doors", GRID)
    assert row["fitting"] == 0 and row["unenumerated_mass"] == red_door["enumeration"]["unenumerated_mass"]
    assert all(row[name] is None for name in SHARES)


def test_a_split_figure_that_is_none_is_none(red_door):
    red_door["summary"]["splits"]["blue_doors"]["search"]["class_share"]["pseudo"] = None
    assert sweeps.metrics(red_door, "blue_doors", GRID)["proxy_given_search"] is None


def test_a_split_the_record_does_not_have_gives_none_for_its_figures_only(red_door):
    # diff of two grid runs with different test splits reads the first run's split in both
    row = sweeps.metrics(red_door, "small", GRID)
    split_metrics = ("proxy_given_executes_search", "proxy_given_search", "robust", "pseudo",
                     "capability_failure", "base", "proxy")
    assert all(row[name] is None for name in split_metrics)
    assert row["search"] == red_door["summary"]["search_mass"]
    assert row["agents"] == red_door["summary"]["agent_mass"]


@pytest.mark.parametrize("name", sorted(p.name[: -len(".json.gz")] for p in GOLDEN.glob("*.json.gz")))
def test_every_stored_record_has_every_field_its_metrics_read(name):
    with gzip.open(GOLDEN / f"{name}.json.gz", "rt") as f:
        record = json.load(f)
    domain = domains.get(record["config"]["domain"])
    split = domain.sweep_split([record["config"]], None)
    row = sweeps.metrics(copy.deepcopy(record), split, domain)
    assert set(row) == set(sweeps.metrics_of(domain))
    assert row["fitting"] == record["enumeration"]["fitting"] > 0
