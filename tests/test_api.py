"""The Python API: typed records from levinsearch.run / sweep / load_run, their JSON and
reports, the published JSON Schema, and the example script."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import levinsearch
from conftest import run_json, strip_timing
from levinsearch import api, types

ROOT = Path(__file__).resolve().parent.parent


def test_run_returns_a_typed_record_equal_to_the_cli_json(capsys):
    record = levinsearch.run("red-door", max_bits=16)
    assert isinstance(record, api.RunRecord)
    assert record.enumeration["fitting"] == 16 and record.summary["map_program"] == "(plan red)"
    assert record.hypotheses[0]["program"] == "(plan red)" and record.behaviours[0]["programs"] >= 1
    assert record.config["search"]["max_bits"] == 16.0
    cli = run_json(capsys, "--max-bits", "16", "--no-save")
    assert strip_timing(json.loads(record.to_json())) == strip_timing(cli)
    assert "(plan red)" in record.report() and "enumeration" in record.report()
    types.validate(record)


def test_sweep_and_seeds_return_sweep_records():
    s = levinsearch.sweep("red-door", {"time_weight": [0, 1]}, max_bits=14)
    assert isinstance(s, api.SweepRecord) and len(s.points) == 2
    assert [p["setting"] for p in s.points] == [{"search.time_weight": 0}, {"search.time_weight": 1}]
    assert s.points[1]["metrics"]["pseudo"] > s.points[0]["metrics"]["pseudo"]
    seeds = levinsearch.run("red-door", max_bits=12, seeds=2)
    assert isinstance(seeds, api.SweepRecord) and seeds.points[0]["seeds"] == [0, 1]


def test_load_run_reads_a_saved_run(capsys, tmp_path):
    saved = run_json(capsys, "--max-bits", "12", "--runs-dir", str(tmp_path))
    for where in (saved["run"], Path(saved["run"]) / "record.json"):
        record = levinsearch.load_run(where)
        assert isinstance(record, api.RunRecord) and record == saved


def test_the_published_schema_is_generated_from_the_types():
    assert types.SCHEMA_PATH.read_text() == types.schema_text(), "run: python -m levinsearch.types"


def test_the_schema_rejects_a_broken_record():
    import jsonschema
    record = levinsearch.run("occam", max_bits=16)
    types.validate(record)
    broken = json.loads(record.to_json())
    broken["enumeration"]["fitting"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        types.validate(broken)
    del broken["enumeration"]
    with pytest.raises(jsonschema.ValidationError):
        types.validate(broken)


def test_the_example_script_runs():
    # PYTHONPATH: this checkout's code, not whatever an editable install points at.
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "speed_prior.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "time weight" in done.stdout and "best program is" in done.stdout
