"""levinsearch.tables: every table of a run or sweep record as flat rows, as pandas
DataFrames and as CSV, JSON and Parquet, for the three domains (small runs)."""
from __future__ import annotations

import builtins
import csv
import io
import json

import pytest

from levinsearch import api, tables, types

pd = pytest.importorskip("pandas")

RUN_TABLES = ["behaviours", "hypotheses", "summary", "config", "enumeration", "per_length"]
SPLIT_TABLES = ["splits", "classes", "outcomes"]
TAIL_TABLES = ["whole_posterior", "tail", "tail_lengths", "tail_largest"]


@pytest.fixture(scope="module")
def grid():
    """red-door to 14 bits with 300 tail samples: 4 behaviours, one split, a whole posterior."""
    return api.run("red-door", max_bits=14, tail_samples=300)


@pytest.fixture(scope="module")
def seq():
    return api.run("occam", max_bits=20)


@pytest.fixture(scope="module")
def tm():
    return api.run("tm-occam", max_bits=18)


@pytest.fixture(scope="module")
def sweep():
    return api.sweep("red-door", {"time_weight": [0, 1]}, max_bits=12)


@pytest.fixture(scope="module")
def seeds():
    return api.run("red-door", max_bits=12, seeds=2)


def test_grid_run_has_every_table_with_the_records_values(grid):
    t = tables.record_tables(grid)
    assert list(t) == RUN_TABLES + SPLIT_TABLES + TAIL_TABLES
    assert len(t["behaviours"]) == len(grid["behaviours"]) == 4
    assert len(t["hypotheses"]) == len(grid["hypotheses"])
    assert len(t["per_length"]) == len(grid["enumeration"]["per_length"])
    assert [len(t[n]) for n in ("summary", "config", "enumeration", "tail")] == [1, 1, 1, 1]
    first = t["behaviours"][0]
    b = grid["behaviours"][0]
    assert tables.columns("behaviours", t["behaviours"])[:5] == ["key", "program", "score", "programs",
                                                                 "search_programs"]
    assert first["key"] == b["key"] and first["posterior"] == b["posterior"]
    # nested tables become dotted columns, lists their JSON text
    assert first["test.blue_doors.base"] == b["test"]["blue_doors"]["base"]
    assert first["outcome_class.blue_doors"] == b["outcome_class"]["blue_doors"]
    assert first["agency.kind"] == b["agency"]["kind"]
    assert first["posterior_range"] == json.dumps(b["posterior_range"])
    assert t["config"][0]["search.max_bits"] == 14.0 and t["config"][0]["search.tail_samples"] == 300
    assert t["enumeration"][0]["programs"] == grid["enumeration"]["programs"]
    assert "per_length" not in t["enumeration"][0]


def test_grid_split_tables(grid):
    t = tables.record_tables(grid)
    split = grid["summary"]["splits"]["blue_doors"]
    whole = grid["summary"]["whole_posterior"]["splits"]["blue_doors"]
    assert [(r["split"], r["class"]) for r in t["classes"]] == [("blue_doors", c) for c in split["classes"]]
    for row in t["classes"]:
        cls = split["classes"][row["class"]]
        assert (row["mass"], row["count"], row["prior_mass"]) == (cls["mass"], cls["count"], cls["prior_mass"])
        assert row["whole.estimate"] == whole["classes"][row["class"]]["estimate"]
        assert row["whole.low"] == whole["classes"][row["class"]]["low"]
    assert [r["outcome"] for r in t["outcomes"]] == list(split["outcome_mass"])
    assert [r["mass"] for r in t["outcomes"]] == list(split["outcome_mass"].values())
    assert [r["dominant_count"] for r in t["outcomes"]] == list(split["dominant_count"].values())
    assert t["splits"][0]["split"] == "blue_doors"
    assert t["splits"][0]["classes.robust.mass"] == split["classes"]["robust"]["mass"]


def test_grid_whole_posterior_and_tail_tables(grid):
    t = tables.record_tables(grid)
    rows = {r["figure"]: r for r in t["whole_posterior"]}
    wp = grid["summary"]["whole_posterior"]
    assert rows["search"] == dict(figure="search", **wp["search"])
    assert rows["splits.blue_doors.classes.pseudo"]["high"] == wp["splits"]["blue_doors"]["classes"]["pseudo"]["high"]
    assert len(t["tail_lengths"]) == len(grid["tail"]["per_length"])
    assert len(t["tail_largest"]) == len(grid["tail"]["largest"])
    largest = grid["tail"]["largest"][0]
    assert t["tail_largest"][0]["posterior.low"] == largest["posterior"]["low"]
    assert t["tail"][0]["region.node_cap"] == grid["tail"]["region"]["node_cap"]
    assert t["tail"][0]["share.estimate"] == grid["tail"]["share"]["estimate"]
    assert "largest.0.key" not in t["tail"][0] and "per_length" not in t["tail"][0]


def test_to_pandas_default_named_and_unknown_tables(grid):
    df = tables.to_pandas(grid)
    assert len(df) == len(grid["behaviours"])
    assert list(df["program"]) == [b["program"] for b in grid["behaviours"]]
    assert list(df["posterior"]) == [b["posterior"] for b in grid["behaviours"]]
    hyp = tables.to_pandas(grid, "hypotheses")
    assert list(hyp["rank"]) == [h["rank"] for h in grid["hypotheses"]]
    with pytest.raises(ValueError) as info:
        tables.to_pandas(grid, "points")
    assert str(info.value) == ("no table 'points' in this run record; its tables: "
                               + ", ".join(RUN_TABLES + SPLIT_TABLES + TAIL_TABLES))


def test_a_run_without_tail_samples_has_no_tail_tables():
    record = api.run("red-door", max_bits=12)
    assert list(tables.record_tables(record)) == RUN_TABLES + SPLIT_TABLES


def test_seq_run(seq):
    t = tables.record_tables(seq)
    assert list(t) == RUN_TABLES  # no splits, no tail samples
    assert len(t["behaviours"]) == len(seq["behaviours"]) == 3
    b = seq["behaviours"][0]
    assert t["behaviours"][0]["predictions"] == json.dumps(b["predictions"])
    assert json.loads(t["behaviours"][0]["predictions"]) == b["predictions"]
    assert t["summary"][0]["occam.shortest_program"] == seq["summary"]["occam"]["shortest_program"]


def test_tm_run(tm):
    t = tables.record_tables(tm)
    assert list(t) == RUN_TABLES
    df = tables.to_pandas(tm)
    assert len(df) == len(tm["behaviours"]) == 2
    b = tm["behaviours"][0]
    assert df.loc[0, "continuation"] == b["continuation"]
    assert df.loc[0, "by_states.2.posterior"] == b["by_states"]["2"]["posterior"]
    assert t["hypotheses"][0]["table"] == json.dumps(tm["hypotheses"][0]["table"])


def test_a_run_where_nothing_fits_has_empty_tables_with_the_shared_columns():
    record = api.run("tm-occam", max_bits=12)
    assert record["behaviours"] == []
    df = tables.to_pandas(record)
    assert len(df) == 0 and list(df.columns) == list(types.Behaviour.__annotations__)
    assert tables.csv_text("behaviours", []) == "key,program,score,programs,posterior\n"


def test_sweep_tables(sweep):
    t = tables.record_tables(sweep)
    assert list(t) == ["points", "metrics", "distances"]  # one seed: no per-seed table
    df = tables.to_pandas(sweep)
    assert len(df) == 2
    assert list(df["point"]) == [1, 2]
    assert list(df["setting.search.time_weight"]) == [0, 1]
    for k, p in enumerate(sweep["points"]):
        assert df.loc[k, "search"] == p["metrics"]["search"]
        assert df.loc[k, "map_program"] == p["map_program"]
        assert df.loc[k, "map_tie"] == p["map_tie"]["program_count"] == 2  # (plan red) and (plan door)
        assert df.loc[k, "programs"] == p["programs"]
    metrics = {r["metric"]: r for r in t["metrics"]}
    assert list(metrics) == list(sweep["metric_headings"])
    assert metrics["search"]["heading"] == "P(search)" and metrics["search"]["in_table"]
    assert metrics["whole_search"]["needs_tail"] and not metrics["search"]["needs_tail"]
    assert t["distances"] == [dict(measure=m, a=1, b=2, distance=sweep["distances"][m][0][1])
                              for m in sweep["distances"]]


def test_a_multi_seed_run_has_per_seed_values(seeds):
    t = tables.record_tables(seeds)
    assert list(t) == ["points", "seeds", "metrics"]
    point = seeds["points"][0]
    row = t["points"][0]
    assert row["search"] == point["metrics"]["search"]
    assert (row["fitting.low"], row["fitting.high"]) == tuple(point["intervals"]["fitting"])
    assert row["whole_search.low"] is None and row["seeds"] == "[0, 1]"
    df = tables.to_pandas(seeds, "seeds")
    assert list(df["seed"]) == point["seeds"] == [0, 1]
    assert list(df["fitting"]) == point["per_seed"]["fitting"]
    assert list(df["map_program"]) == point["map_programs"]
    assert list(df["map_tie"]) == [tie["program_count"] for tie in point["map_ties"]] == [2, 2]


def test_missing_pandas_is_one_line_naming_the_extra(grid, monkeypatch):
    real = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError) as info:
        tables.to_pandas(grid)
    assert str(info.value) == "to_pandas needs pandas: pip install 'levinsearch[table]'"


def test_not_a_record_is_refused():
    from dsl.errors import DslError
    with pytest.raises(DslError, match="not a levinsearch run or sweep record"):
        tables.record_tables({"schema": "levinsearch.runs/1"})


def test_csv_round_trips(grid):
    for name, rows in tables.record_tables(grid).items():
        text = tables.csv_text(name, rows)
        back = list(csv.DictReader(io.StringIO(text)))
        assert len(back) == len(rows)
        for row, read in zip(rows, back):
            for col, value in row.items():
                if value is None:
                    assert read[col] == ""
                elif isinstance(value, bool):
                    assert read[col] == ("true" if value else "false")
                elif isinstance(value, float):
                    assert float(read[col]) == value  # exactly: repr round-trips
                else:
                    assert read[col] == str(value)
    df = pd.read_csv(io.StringIO(tables.csv_text("behaviours", tables.record_tables(grid)["behaviours"])))
    pd.testing.assert_frame_equal(df, tables.to_pandas(grid))


def test_parquet_reads_back_equal_to_the_dataframe(grid, seeds, tm):
    pytest.importorskip("pyarrow")
    for record in (grid, seeds, tm):
        for name, rows in tables.record_tables(record).items():
            back = pd.read_parquet(io.BytesIO(tables.parquet_bytes(name, rows)))
            pd.testing.assert_frame_equal(back, tables.to_pandas(record, name))


def test_parquet_writes_a_column_of_mixed_types_as_text():
    pytest.importorskip("pyarrow")
    rows = [dict(setting="red", n=1), dict(setting=2, n=2.5), dict(setting=None, n=None)]
    back = pd.read_parquet(io.BytesIO(tables.parquet_bytes("x", rows)))
    assert list(back["setting"][:2]) == ["red", "2"] and back["setting"].isna()[2]
    assert list(back["n"][:2]) == [1.0, 2.5]


def test_json_rows_have_every_column(grid):
    rows = tables.record_tables(grid)["tail_largest"]
    cols = tables.columns("tail_largest", rows)
    parsed = json.loads(tables.json_text("tail_largest", rows))
    assert [list(r) for r in parsed] == [cols] * len(rows)
    assert parsed[0]["program"] == grid["tail"]["largest"][0]["program"]
