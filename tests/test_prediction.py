"""The prediction analysis shared by seq and tm (levinsearch.analyses.prediction): one set
of field names, records saved under the old names read back renamed, the case without a
target, and no domain imported by the shared modules."""
from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path

import pytest

from conftest import invoke, run_json
from levinsearch import api, domains, experiments, pipeline, types
from levinsearch.analyses import prediction

ROOT = Path(__file__).resolve().parent.parent
LEGACY = Path(__file__).resolve().parent / "golden" / "legacy"
TM_TOML = ('[experiment]\ndomain = "tm"\n[target]\nprefix = "11"\ncontinuation = "11"\ndeploy = 3\n'
           '[machines]\nmax_states = 2\n[search]\nmax_bits = 17\n')


def legacy(name: str) -> dict:
    """A golden record stored before seq and tm shared the analysis (old field names)."""
    with gzip.open(LEGACY / f"{name}-old-names.json.gz", "rt") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def tm_record():
    raw = domains.get("tm").example()
    return pipeline.run_experiment(experiments.resolve(raw, domains=domains))


@pytest.mark.parametrize("name, renamed", [
    ("seq-occam", [("rare_defection", "by_first_step", "defectors_by_first_disagreement")]),
    ("tm-occam", [("occam", "right_posterior", "target_equivalent_posterior"),
                  ("occam", "right_programs", "target_equivalent_programs"),
                  ("occam", "shortest_right", "shortest_agrees")]),
])
def test_a_record_saved_with_the_old_names_reads_back_renamed(capsys, tmp_path, name, renamed):
    old = legacy(name)
    for part, was, _ in renamed:
        assert was in old["summary"][part]  # the stored record really has the old name
    # A saved run whose record.json is the old record (with the fields the golden store
    # leaves out put back: the run's place, versions, provenance and config source).
    path = tmp_path / "ex.toml"
    path.write_text(TM_TOML)
    fresh = run_json(capsys, str(path), "--runs-dir", str(tmp_path / "runs"))
    (run_dir,) = (tmp_path / "runs").iterdir()
    saved = dict(old, run=fresh["run"], versions=fresh["versions"], provenance=fresh["provenance"])
    saved["config"] = dict(old["config"], source=fresh["config"]["source"])
    saved["enumeration"] = dict(old["enumeration"], seconds=0.5,
                                per_length=[dict(row, seconds=0.1) for row in old["enumeration"]["per_length"]])
    (run_dir / "record.json").write_text(json.dumps(saved))

    for record in (api.load_run(run_dir), json.loads(invoke(capsys, "report", str(run_dir), "--json")[1])):
        for part, was, now in renamed:
            assert was not in record["summary"][part] and record["summary"][part][now] == old["summary"][part][was]
        assert record["summary"]["prediction"] == old["summary"]["prediction"]
    code, out, err = invoke(capsys, "report", str(run_dir))
    assert code == 0, err
    assert "Occam, MAP vs mixture, rare defectors" in out


def test_upgrade_renames_in_place_and_keeps_the_order():
    record = {"summary": {"occam": {"a": 1, "right_posterior": 0.5, "z": 2},
                          "whole_posterior": {"tail": None, "right": {"exact": 0.5}}}}
    prediction.upgrade(record)
    assert list(record["summary"]["occam"]) == ["a", "target_equivalent_posterior", "z"]
    assert record["summary"]["whole_posterior"] == {"tail": None, "target_equivalent": {"exact": 0.5}}
    again = json.loads(json.dumps(record))
    assert prediction.upgrade(again) == record  # a record with the current names is left alone
    assert prediction.upgrade([1]) == [1] and prediction.upgrade({"schema": "x"}) == {"schema": "x"}


def test_seq_and_tm_share_the_field_names(tm_record):
    with gzip.open(LEGACY.parent / "records" / "occam.json.gz", "rt") as f:
        seq = json.load(f)  # the seq golden record (test_golden_records checks it against a fresh run)
    for part in ("prediction", "rare_defection"):
        assert list(seq["summary"][part]) == list(tm_record["summary"][part]), part
    shared = [k for k in prediction.Occam.__annotations__]
    stored = [k for k in shared if k != "shortest_tie"]  # added after the golden record was stored
    assert [k for k in seq["summary"]["occam"] if k in shared] == stored
    assert [k for k in tm_record["summary"]["occam"] if k in shared] == shared
    assert set(seq["summary"]["online"]) == set(tm_record["summary"]["online"])
    # One schema entry: both summaries' schemas hold the shared summary's, part for part.
    shared_schema = types.json_schema(prediction.PredictionSummary)["properties"]
    for name in ("seq", "tm"):
        schema = types.json_schema(domains.get(name).summary_type)["properties"]
        for part in ("prediction", "rare_defection", "consensus", "online"):
            assert schema[part] == shared_schema[part], (name, part)
        occam = schema["occam"]["properties"]
        assert {k: occam[k] for k in shared_schema["occam"]["properties"]} == shared_schema["occam"]["properties"]


def test_without_a_target_defectors_are_measured_against_the_mixture():
    """The example's space (2-state machines whose output starts with 11) with no intended
    continuation: 244 of 256 machines end the output (---), so the mixture is ---; the
    machines of 0-- and 1-- differ from it on one bit."""
    raw = domains.get("tm").example()
    raw["target"] = {"prefix": "11", "deploy": 3}
    s = pipeline.run_experiment(experiments.resolve(raw, domains=domains))["summary"]
    o, p, r = s["occam"], s["prediction"], s["rare_defection"]
    assert (o["shortest_agrees"], o["target_equivalent_posterior"], o["target_equivalent_programs"]) == \
        (None, None, None)
    assert (p["map"], p["mixture"], p["target"], p["map_correct"], p["map_right"]) == ("0--", "---", None, None, None)
    assert (r["reference"], r["reference_continuation"], r["programs"], r["posterior"]) == \
        ("mixture", "---", 8, 8 / 256)
    assert r["by_first_disagreement"] == [12 / 256, 0.0, 0.0] and r["agree_posterior"] == 244 / 256
    assert s["consensus"] is None and "online" not in s


def test_the_tm_run_draws_the_prediction_figures(tm_record):
    pytest.importorskip("matplotlib")
    from levinsearch import figures
    assert [name for name, _ in figures.figures_of(tm_record, domains.get("tm"))] == ["behaviours", "online", "prior-mass"]


def test_the_shared_modules_import_no_domain():
    for module in ("prediction", "prediction_report", "prediction_figures"):
        tree = ast.parse((ROOT / "levinsearch" / "analyses" / f"{module}.py").read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in names if m.startswith("levinsearch.domains") or
                    (m.startswith("dsl.") and m not in ("dsl.syntax", "dsl.grammar", "dsl.errors"))], module
