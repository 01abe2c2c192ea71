"""The Python API: typed records from levinsearch.run / sweep / load_run, their keyword
parameters, JSON, reports and short summaries, the package's version, dir() and
`python -m levinsearch`, the published JSON Schema, the docs' API text, and the example
script."""
from __future__ import annotations

import html
import inspect
import io
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import get_args

import pytest

import levinsearch
from conftest import run_json, strip_timing
from dsl.errors import DslError
from levinsearch import api, backends, cli, config as config_mod, domains, types

ROOT = Path(__file__).resolve().parent.parent


def test_run_returns_a_typed_record_equal_to_the_cli_json(capsys):
    record = levinsearch.run("red-door", max_bits=16)
    assert isinstance(record, api.RunRecord)
    assert record.enumeration["fitting"] == 16 and record.summary["map_program"] == "(plan red)"
    assert record.hypotheses[0]["program"] == "(plan red)" and record.behaviours[0]["programs"] >= 1
    assert record.config["search"]["max_bits"] == 16.0
    assert record.provenance["command"] == "levinsearch.run('red-door', max_bits=16)"
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
    assert types.SCHEMA_PATH.read_text() == types.schema_text(domains), "run: python -m levinsearch.types"


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


# ------------------------------------------------------------------ keyword parameters
def test_every_keyword_reaches_the_config():
    record = levinsearch.run(
        "red-door", max_bits=12, order="levin", length_weight=1.5, time_weight=0.5, time_penalty="linear",
        fit_threshold=0.9, noise=0.01, tail_samples=20, tail_seed=7, tail_max_bits=14.0, profile="default",
        ban=["greedy"], bits={"red": 3.5}, cost={"plan": 2}, train_envs=3, test_envs=2, horizon=9, seed=4, top=5,
        keep=40, batch_size=4096, save=False, backend="local", workers=1, class_threshold=0.8)
    c = record.config
    assert c["search"] == dict(max_bits=12.0, order="levin", length_weight=1.5, time_weight=0.5,
                               time_penalty="linear", fit_threshold=0.9, noise=0.01, top=5, keep=40,
                               batch_size=4096, tail_samples=20, tail_seed=7, tail_max_bits=14.0)
    assert c["grammar"] == dict(ban=["greedy"], bits={"red": 3.5}, cost={"plan": 2}, profile="default")
    assert (c["seed"], c["train"]["envs"], c["test"]["blue_doors"]["envs"]) == (4, 3, 2)
    assert c["train"]["horizon"] == c["test"]["blue_doors"]["horizon"] == 9
    assert c["analysis"]["class_threshold"] == 0.8
    assert record["tail"]["samples"] == 20
    assert "run" not in record  # save=False: nothing written


def test_a_setting_left_at_none_keeps_the_experiments_value():
    config = levinsearch.run("red-door", max_bits=12, time_weight=None, seed=None).config
    assert config["search"]["time_weight"] == 0.0 and config["seed"] == 0
    assert config["flags"] == ["max_bits"]


def test_unknown_keywords_are_refused():
    with pytest.raises(TypeError, match=r"unknown setting 'max_bit' for levinsearch.run\(\) \(did you mean "
                                        r"max_bits\?\)") as info:
        levinsearch.run("red-door", max_bit=12)
    assert isinstance(info.value, DslError)  # the package's error too, as the command line reports it
    with pytest.raises(TypeError, match="unknown setting 'colour' for levinsearch.sweep"):
        levinsearch.sweep("red-door", {"time_weight": [0]}, colour=3)
    with pytest.raises(DslError, match="--train-terms does not apply to grid experiments"):
        levinsearch.run("red-door", max_bits=12, train_terms=3)  # a seq setting on a grid experiment
    with pytest.raises(DslError, match="save must be True or False"):
        levinsearch.run("red-door", save="yes")
    with pytest.raises(DslError, match="backend must be one of local, processes, dask"):
        levinsearch.run("red-door", backend="gpu")
    with pytest.raises(DslError, match="metric: unknown metric 'colour'"):
        levinsearch.sweep("red-door", {"time_weight": [0]}, metric="colour")


def _api_keywords(fn) -> set[str]:
    return {name for name, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}


#: Flags that shape what the command prints or which saved run it continues: no keyword.
# width: the text report's layout (record.report(width=...)); figures: drawn by `report RUN --figures`.
DISPLAY_ONLY = {"as_json", "resume", "width", "figure_formats", "dpi", "share_axis"}
#: Flags whose keyword has another name.
RENAMED = {"no_save": "save", "show_progress": "progress", "split_name": "split"}


@pytest.mark.parametrize("command,fn", [(cli.run, api.run), (cli.sweep, api.sweep)], ids=["run", "sweep"])
def test_every_command_line_setting_is_a_keyword(command, fn):
    flags = {p.name for p in command.params if p.param_type_name == "option"} - DISPLAY_ONLY
    wanted = {RENAMED.get(name, name) for name in flags} - {"settings"}  # sweep's --set: the `settings` argument
    assert wanted - _api_keywords(fn) == set(), "a flag has no keyword in levinsearch.api (or list it above)"


def test_sweep_takes_the_same_settings_as_run():
    assert _api_keywords(api.sweep) == _api_keywords(api.run) | {"metric", "split"}


def test_the_literal_types_list_the_choices():
    assert get_args(api.Order) == config_mod.ORDERS
    assert get_args(api.TimePenalty) == config_mod.TIME_PENALTIES
    assert get_args(api.Backend) == backends.BACKENDS


def test_save_writes_a_run_directory_that_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record = levinsearch.run("red-door", max_bits=12)
    assert "run" not in record and not (tmp_path / "runs").exists()  # not saved by default
    saved = levinsearch.run("red-door", max_bits=12, save=True, runs_dir=tmp_path / "mine")
    run_dir = Path(saved["run"])
    assert run_dir.parent == tmp_path / "mine"
    assert {"manifest.json", "record.json", "report.txt"} <= {p.name for p in run_dir.iterdir()}
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    assert levinsearch.load_run(run_dir) == saved and "(plan red)" in (run_dir / "report.txt").read_text()
    monkeypatch.setenv("LEVINSEARCH_RUNS_DIR", str(tmp_path / "env"))
    swept = levinsearch.sweep("red-door", {"time_weight": [0, 1]}, max_bits=12, save=True)
    assert Path(swept["run"]).parent == tmp_path / "env"
    assert sorted(p.name for p in (Path(swept["run"]) / "points").iterdir()) == ["001.json", "002.json"]
    assert levinsearch.load_run(swept["run"]) == swept


# ------------------------------------------------------------------ summaries
def test_repr_is_one_short_line_naming_the_experiment():
    record = levinsearch.run("red-door", max_bits=12)
    assert len(record.to_json()) > 5_000  # the dict is large; its repr is not
    text = repr(record)
    assert text == str(record) and "\n" not in text and len(text) < 200
    # (plan red) and (plan door) tie at the best score: the MAP is named as one of a tie.
    assert text == ("<RunRecord red-door (grid): programs judged 44 · fitting 2 · MAP (plan red) +1 tied 50.0% · "
                    "P(search) on blue_doors 100.0%>")
    sweep = levinsearch.sweep("red-door", {"time_weight": [0, 1]}, max_bits=12)
    assert repr(sweep) == ("<SweepRecord red-door (grid): points 2 over time_weight · programs judged 88 · "
                           "P(search) on blue_doors time_weight=0 100.0%; time_weight=1 100.0%>")
    assert isinstance(record, dict) and json.loads(record.to_json()) == record  # still the plain record


def test_rich_and_html_summaries(tmp_path):
    from rich.console import Console
    record = levinsearch.run("red-door", max_bits=12)
    console = Console(file=io.StringIO(), width=100, record=True)
    console.print(record)
    text = console.export_text()
    assert "RunRecord red-door (grid)" in text and "MAP" in text and "(plan red) +1 tied 50.0%" in text
    assert len(text.splitlines()) < 12
    page = record._repr_html_()
    assert page.startswith("<table><caption>RunRecord red-door (grid)</caption>") and page.endswith("</table>")
    assert "<td style=\"text-align:left\">(plan red) +1 tied 50.0%</td>" in page
    odd = api.RunRecord(dict(record, experiment="<script>x</script>&"))
    page = odd._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;&amp;" in page
    assert re.sub(r"<[^>]+>", "", page).count("<") == 0


def test_a_summary_never_hides_a_strange_record():
    odd = api.RunRecord(schema="levinsearch.run/1", experiment="half")
    assert repr(odd) == "<RunRecord half (?)>"
    assert "half" in odd._repr_html_()


# ------------------------------------------------------------------ the package
def test_version_and_dir():
    assert levinsearch.__version__ == metadata.version("levinsearch")
    assert {"run", "sweep", "load_run", "RunRecord", "SweepRecord", "__version__"} <= set(dir(levinsearch))
    for name in levinsearch.__all__:
        assert getattr(levinsearch, name) is not None
    assert levinsearch.RunRecord is api.RunRecord
    with pytest.raises(AttributeError):
        levinsearch.no_such_thing  # noqa: B018


def test_python_dash_m_runs_the_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "levinsearch", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage: levinsearch ") and "run" in done.stdout


def test_import_stays_light():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = "import sys, levinsearch; dir(levinsearch); print(sorted(m for m in ('numpy', 'numba', 'levinsearch.api') " \
           "if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


# ------------------------------------------------------------------ the docs
def test_the_docs_describe_every_keyword():
    text = (ROOT / "docs" / "python-api.md").read_text()
    for fn in (api.run, api.sweep):
        for name in inspect.signature(fn).parameters:
            assert re.search(rf"`[^`]*\b{name}\b[^`]*`", text), f"docs/python-api.md does not mention {name}"
    assert "Unknown keywords are **refused**" in text and not re.search(r"unknown \w+ (is|are) ignored", text, re.I)
    for member in ("to_pandas", "provenance", "_repr_html_", "__rich__", "__version__", "python -m levinsearch",
                   "UnknownSetting"):
        assert member in text, member
