"""Bad input of the kinds a hostile user tries on the newer surfaces: files read back
(records, run and census checkpoints and manifests), numbers at the edges, deep
nesting, settings that mean nothing for a domain, and the Python API. Every row gives
one error line naming the file (and field) and a non-zero exit, or an `DslError` from
the API; never a traceback, a wrong result or a hang."""
from __future__ import annotations

import contextlib
import io
import json
import math
import shutil

import numpy as np
import pytest

from conftest import invoke
from dsl.errors import DslError
from levinsearch import api, domains
from levinsearch.runs import config_digest

BIG = "1" + "0" * 400
DEEP_TOML_ARRAY = "[" * 2000 + "]" * 2000
DEEP_TABLE = "{a = " * 200 + "1" + "}" * 200


# ------------------------------------------------------------------ saved runs to damage
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved red-door run (complete), one stopped part-way with a checkpoint, and a tm
    ctm census: the originals every damaged copy is made from."""
    import os
    root = tmp_path_factory.mktemp("readback")
    runs_dir = root / "runs"
    old = os.environ.get("LEVINSEARCH_RUNS_DIR")
    os.environ["LEVINSEARCH_RUNS_DIR"] = str(runs_dir)
    try:
        from levinsearch import experiments, pipeline, runs
        config = experiments.resolve(experiments.load("red-door"), dict(max_bits=10), domains=domains)
        run = runs.create(config, "run", runs_dir)
        runs.execute(pipeline.prepare(config), run)
        (runs_dir / run.name).rename(runs_dir / "base-run")
        # A run stopped part-way: its checkpoint covers a prefix.
        config = experiments.resolve(experiments.load("red-door"), dict(max_bits=16), domains=domains)
        prep = pipeline.prepare(config)
        part = runs.create(config, "run", runs_dir)
        agg, position = pipeline.search(prep, stop=prep.enumerator.total // 2)
        part.save_checkpoint(agg, position, runs.identity(prep))
        part.update_manifest(status="interrupted", position=position, total=prep.total)
        (runs_dir / part.name).rename(runs_dir / "base-stopped")
        # The census as a user makes it (the CLI writes its record), with the default cap.
        from levinsearch.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["tm", "ctm", "--states", "2", "--no-progress", "--json", "--runs-dir", str(runs_dir)])
            except SystemExit as exc:
                assert not exc.code, exc.code
        (census,) = runs_dir.glob("*-tm-ctm-2")
        census.rename(runs_dir / "base-census")
    finally:
        if old is None:
            os.environ.pop("LEVINSEARCH_RUNS_DIR")
        else:
            os.environ["LEVINSEARCH_RUNS_DIR"] = old
    return runs_dir


def damaged(runs_dir, base: str, name: str, file: str, edit) -> None:
    """A copy of run `base` named `name` whose `file` is changed by edit(text or object)."""
    target = runs_dir / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(runs_dir / base, target)
    path = target / file
    if isinstance(edit, bytes):  # the whole file
        path.write_bytes(edit)
        return
    if file.endswith(".npz"):
        data = dict(np.load(path))
        edit(data)
        with open(path, "wb") as f:
            np.savez(f, **data)
        return
    if isinstance(edit, str):  # the whole text
        path.write_text(edit)
        return
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))


def setter(*path_and_value):
    """An edit that sets record[path...] = value (a missing last key: delete)."""
    *path, value = path_and_value

    def edit(record):
        node = record
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return edit


DELETE = object()

RECORD_CASES = [
    ("neg-posterior", setter("behaviours", 0, "posterior", -5), "field behaviours.0.posterior: -5 is below 0"),
    ("map-2", setter("summary", "map_posterior", 2), "field summary.map_posterior: 2 is above 1"),
    ("schema-2", setter("schema", "levinsearch.run/2"), "record of schema 'levinsearch.run/2'"),
    ("no-summary", setter("summary", DELETE), "summary is missing"),
    ("no-enumeration", setter("enumeration", DELETE), "enumeration is missing"),
    ("fitting-str", setter("enumeration", "fitting", "many"), "field enumeration.fitting: 'many' is not"),
    ("fitting-big", setter("enumeration", "fitting", 10**9), "fitting of"),
    ("programs-neg", setter("enumeration", "programs", -1), "field enumeration.programs: -1 is below 0"),
    ("kraft-2", setter("enumeration", "kraft_sum", 2.5), "field enumeration.kraft_sum: 2.5 is above 1"),
    ("behaviours-count", setter("summary", "behaviours", 999), "summary.behaviours: 999, but the record lists"),
    ("summary-fitting", setter("summary", "fitting", 1), "summary.fitting: differs from enumeration.fitting"),
    ("hypotheses-rank", setter("hypotheses", 0, "rank", 7), "hypotheses: ranks are not 1, 2, 3"),
    ("behaviours-list", setter("behaviours", "x"), "field behaviours: 'x' is not an array"),
    ("hypothesis-steps", setter("hypotheses", 0, "steps", -3), "field hypotheses.0.steps: -3 is below 0"),
    ("domain-chess", setter("domain", "chess"), "field domain: 'chess' is not one of"),
    ("config-not-table", setter("config", 5), "field config: 5 is not an object"),
    ("posterior-sum", lambda r: [b.__setitem__("posterior", 0.9) for b in r["behaviours"]], "posteriors add up to"),
    ("complete-bits", setter("enumeration", "complete_up_to_bits", 99.0), "beyond max_bits"),
    ("class-string", setter("summary", "splits", "blue_doors", "classes", "x"),
     "field summary.splits.blue_doors.classes: 'x' is not an object"),
    ("outcome-class", setter("behaviours", 0, "outcome_class", "blue_doors", "good"),
     "field behaviours.0.outcome_class.blue_doors: 'good' is not one of"),
    ("agency-kind", setter("hypotheses", 0, "agency", "kind", 3), "field hypotheses.0.agency.kind: 3 is not one of"),
    ("open-field", setter("behaviours", 0, "outcome_class", {}), "damaged record (KeyError"),
    ("per-length", setter("enumeration", "per_length", 0, "fitting", -2), "per_length.0.fitting: -2 is below 0"),
    ("nan", '{"schema": NaN}', "NaN is not a number the tool accepts"),
    ("inf", '{"schema": "levinsearch.run/1", "x": 1e999}', "1e999 is not a finite number"),
    ("deep", "[" * 5000 + "]" * 5000, "nested more than 64 levels deep"),
    ("list", "[1, 2, 3]", "not a levinsearch record (a JSON list"),
    ("not-json", "{schema: run", "not valid JSON"),
    ("empty", "", "not valid JSON"),
    ("latin", b"\xff\xfe{}", "not UTF-8 text"),
    ("huge-int", '{"schema": ' + "9" * 5000 + "}", "not valid JSON"),
]


@pytest.mark.parametrize("name,edit,fragment", RECORD_CASES, ids=[c[0] for c in RECORD_CASES])
def test_a_damaged_record_is_one_line_naming_file_and_field(saved, capsys, name, edit, fragment):
    damaged(saved, "base-run", f"r-{name}", "record.json", edit)
    for args in (("report", f"r-{name}"), ("report", f"r-{name}", "--json"), ("report", f"r-{name}", "--figures")):
        code, out, err = invoke(capsys, *args, "--runs-dir", str(saved))
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
        assert f"r-{name}" in lines[0] and fragment in lines[0], lines[0]
        assert out == "" and not (saved / f"r-{name}" / "figures").exists()
    if fragment.startswith("damaged record"):  # valid to the schema: the API hands it over as it is
        assert api.load_run(saved / f"r-{name}")["behaviours"][0]["outcome_class"] == {}
    else:
        with pytest.raises(DslError):
            api.load_run(saved / f"r-{name}")


def _with_extra(meta: str, **changes) -> dict:
    """A checkpoint's meta with entries of its `extra` (position, digest, ...) changed."""
    value = json.loads(meta)
    value["extra"] = dict(value["extra"], **changes)
    return value


CHECKPOINT_CASES = [
    ("truncated", b"PK\x03\x04 not a whole zip file", "BadZipFile"),
    ("empty", b"", "damaged checkpoint"),
    ("counts", lambda d: d.__setitem__("meta", np.array(json.dumps(dict(json.loads(str(d["meta"])), fitting=10**6)))),
     "fitting programs 1000000 of 312 judged"),
    ("levels-str", lambda d: d.__setitem__("meta", np.array(json.dumps(dict(json.loads(str(d["meta"])), levels="x")))),
     "damaged checkpoint"),
    ("programs-str", lambda d: d.__setitem__("meta", np.array(json.dumps(dict(json.loads(str(d["meta"])),
                                                                              programs="x")))), "damaged checkpoint"),
    ("mass-negative", lambda d: d.__setitem__("meta", np.array(json.dumps(dict(json.loads(str(d["meta"])),
                                                                               total_mass="-ff:3")))),
     "not an exact mass"),
    ("ops-outside", lambda d: d["rep_ops"].__setitem__((0, 0), 999), "not programs of this grammar"),
    ("counts-array", lambda d: d.__setitem__("count", d["count"] * 2), "do not add up"),
    ("position-str", lambda d: d.__setitem__("meta", np.array(json.dumps(_with_extra(str(d["meta"]), position="x")))),
     "inconsistent checkpoint"),
    ("position-beyond", lambda d: d.__setitem__("meta", np.array(json.dumps(_with_extra(str(d["meta"]),
                                                                                        position=10**6)))),
     "inconsistent checkpoint"),
    ("meta-deep", lambda d: d.__setitem__("meta", np.array("[" * 5000 + "]" * 5000)), "nested more than 64"),
    ("no-meta", lambda d: d.pop("meta"), "damaged checkpoint"),
]


@pytest.mark.parametrize("name,edit,fragment", CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
def test_a_damaged_checkpoint_is_not_resumed(saved, capsys, name, edit, fragment):
    damaged(saved, "base-stopped", f"c-{name}", "checkpoint.npz", edit)
    code, out, err = invoke(capsys, "run", "--resume", f"c-{name}", "--runs-dir", str(saved), "--no-progress")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err and f"c-{name}" in lines[0], err
    assert fragment in lines[0], lines[0]


def manifest_edit(change):
    def edit(manifest):
        change(manifest["config"])
        manifest["config_digest"] = config_digest(manifest["config"])  # recomputed: the config itself must be valid
    return edit


MANIFEST_CASES = [
    ("order-gone", manifest_edit(lambda c: c["search"].pop("order")), "does not resolve to itself"),
    ("max-bits", manifest_edit(lambda c: c["search"].__setitem__("max_bits", 300)), "max_bits must be in (0, 48]"),
    ("train-str", manifest_edit(lambda c: c.__setitem__("train", "x")), "[train] must be a table"),
    ("goal-bits", manifest_edit(lambda c: c["analysis"].__setitem__("goal_bits", 12.5)), "the checkpoint belongs"),
    ("domain", manifest_edit(lambda c: c.__setitem__("domain", "chess")), "unknown domain 'chess'"),
    ("search-str", manifest_edit(lambda c: c.__setitem__("search", "x")), "damaged config"),
    ("seed-big", manifest_edit(lambda c: c.__setitem__("seed", 10**30)), "seed must be <="),
    ("digest", lambda m: m.__setitem__("config_digest", "0" * 64), "does not match its digest"),
    ("not-json", "{", "not valid JSON"),
    ("list", "[]", "not a levinsearch manifest"),
]


@pytest.mark.parametrize("name,edit,fragment", MANIFEST_CASES, ids=[c[0] for c in MANIFEST_CASES])
def test_an_edited_manifest_is_not_resumed(saved, capsys, name, edit, fragment):
    damaged(saved, "base-stopped", f"m-{name}", "manifest.json", edit)
    code, out, err = invoke(capsys, "run", "--resume", f"m-{name}", "--runs-dir", str(saved), "--no-progress")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert fragment in lines[0], lines[0]


def census_edit(change):
    def edit(checkpoint):
        change(checkpoint["census"])
    return edit


CENSUS_CASES = [
    ("halted", census_edit(lambda c: c.__setitem__("halted", 50_174_000)), "halted of"),
    ("max-steps", census_edit(lambda c: c.__setitem__("max_steps", 999)), "max_steps is not the largest steps"),
    ("output", census_edit(lambda c: c["outputs"].__setitem__("2x", c["outputs"].pop(next(iter(c["outputs"]))))),
     "outputs must be 0s and 1s"),
    ("outputs-str", census_edit(lambda c: c.__setitem__("outputs", "x")), "unreadable census checkpoint"),
    ("steps-beyond", census_edit(lambda c: c["steps_hist"].__setitem__("999", c["steps_hist"].pop(
        max(c["steps_hist"], key=int)))), "steps beyond the step cap"),
    ("champion", census_edit(lambda c: c.__setitem__("steps_champions", [10**12])), "champions are not machines"),
    ("n", census_edit(lambda c: c.__setitem__("n", 9)), "damaged census checkpoint"),
    ("position", lambda d: d.__setitem__("position", "x"), "inconsistent checkpoint"),
    ("machines-str", census_edit(lambda c: c.__setitem__("machines", "all")), "damaged census"),
    ("not-json", "{", "not valid JSON"),
    ("deep", "[" * 5000 + "]" * 5000, "nested more than 64 levels deep"),
]


@pytest.mark.parametrize("name,edit,fragment", CENSUS_CASES, ids=[c[0] for c in CENSUS_CASES])
def test_a_damaged_census_checkpoint_is_not_resumed(saved, capsys, name, edit, fragment):
    damaged(saved, "base-census", f"t-{name}", "checkpoint.json", edit)
    code, out, err = invoke(capsys, "tm", "ctm", "--resume", f"t-{name}", "--runs-dir", str(saved), "--no-progress")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert fragment in lines[0], lines[0]


def test_an_edited_census_manifest_is_not_resumed(saved, capsys):
    def edit(manifest):
        manifest["config"]["step_cap"] = 5
        manifest["config"].pop("method")
        manifest["config_digest"] = config_digest(manifest["config"])
    damaged(saved, "base-census", "t-manifest", "manifest.json", edit)
    code, _, err = invoke(capsys, "tm", "ctm", "--resume", "t-manifest", "--runs-dir", str(saved))
    assert code == 2 and "is not one `levinsearch tm ctm` makes" in err and "Traceback" not in err


def test_a_damaged_census_record_is_one_line(saved, capsys):
    damaged(saved, "base-census", "t-record", "record.json", census_edit(lambda c: c.__setitem__("halted", -1)))
    code, _, err = invoke(capsys, "report", "t-record", "--runs-dir", str(saved))
    assert code == 2 and "damaged census record" in err and "Traceback" not in err


# ------------------------------------------------------------------ numbers, nesting, meaning
FILES = {
    "big_seed.toml": f"[experiment]\nseed = {BIG}\n[test.a]\n",
    "big_envs.toml": f"[train]\nenvs = {BIG}\n[test.a]\n",
    "big_keep.toml": f"[search]\nkeep = {BIG}\n[test.a]\n",
    "big_bits.toml": f"[search]\nmax_bits = {BIG}\n[test.a]\n",
    "big_tail.toml": f"[search]\ntail_samples = {BIG}\n[test.a]\n",
    "big_cons.toml": f"[analysis]\nconsensus_top = [{BIG}]\n[test.a]\n",
    "big_weight.toml": f"[search]\ntime_weight = {BIG}\n[test.a]\n",
    "nan_noise.toml": "[search]\nnoise = nan\n[test.a]\n",
    "inf_weight.toml": "[search]\ntime_weight = inf\n[test.a]\n",
    "ninf_bits.toml": "[search]\nmax_bits = -inf\n[test.a]\n",
    "e999.toml": "[search]\nnoise = 1e999\n[test.a]\n",
    "deep_array.toml": f"[search]\nx = {DEEP_TOML_ARRAY}\n",
    "deep_table.toml": f"[search]\nx = {DEEP_TABLE}\n",
    "deep_tables.toml": "".join(f"[{'.'.join(['a'] * k)}]\n" for k in range(1, 80)),
    "tm_noise.toml": "[experiment]\ndomain = \"tm\"\n[target]\nprefix = \"01\"\n[search]\nnoise = 0.1\n",
    "tail_max.toml": "[search]\nmax_bits = 12\ntail_samples = 10\ntail_max_bits = 11\n[test.a]\n",
    "tail_weight.toml": "[search]\nlength_weight = 0.5\ntail_samples = 10\n[test.a]\n",
    "dup_legend.txt": "@.D\n\nD = red door\nD = blue door\n",
    "dup_horizon.txt": "@.D\n\nD = red door\nhorizon = 4\nhorizon = 5\n",
}

CASES = [
    (["run", "--seed", BIG, "--no-save"], "seed must be <= 9223372036854775807, got 1000"),
    (["run", "--top", BIG, "--no-save"], "top must be <= 100000"),
    (["run", "--keep", BIG, "--no-save"], "keep must be <= 100000"),
    (["run", "--horizon", BIG, "--no-save"], "horizon must be <= 1000"),
    (["run", "--train-envs", BIG, "--no-save"], "envs must be <= 1000"),
    (["run", "--test-envs", BIG, "--no-save"], "envs must be <= 1000"),
    (["run", "--seeds", BIG, "--no-save"], "seeds must be <= 100"),
    (["run", "--batch-size", BIG, "--no-save"], "batch_size must be <= 1048576"),
    (["run", "--tail-samples", BIG, "--no-save"], "tail_samples must be <= 10000000000"),
    (["run", "--tail-seed", BIG, "--no-save"], "tail_seed must be <= 9223372036854775807"),
    (["run", "--seed", "9223372036854775807", "--seeds", "2", "--no-save"], "would go past the largest seed"),
    (["sweep", "red-door", "--set", f"seed={BIG}", "--no-save"], "seed must be <= 9223372036854775807"),
    (["sweep", "red-door", "--set", f"time_weight={BIG}", "--no-save"], "time_weight must be <= 100"),
    (["sweep", "red-door", "--set", f"train_envs={BIG}", "--no-save"], "envs must be <= 1000"),
    (["sweep", "red-door", "--set", f"max_bits={BIG}", "--no-save"], "max_bits is too large"),
    (["sweep", "red-door", "--set", f"time_weight={DEEP_TOML_ARRAY}", "--no-save"], "nested more than 64 levels"),
    (["sweep", "red-door", "--set", f"time_weight={DEEP_TABLE}", "--no-save"], "nested more than 64 levels"),
    (["sweep", "red-door", "--set", "time_weight=nan", "--no-save"], "time_weight must be"),
    (["sweep", "red-door", "--set", "time_weight=inf", "--no-save"], "time_weight must be"),
    (["run", "big_seed.toml", "--no-save"], "seed must be <= 9223372036854775807"),
    (["run", "big_envs.toml", "--no-save"], "envs must be <= 1000"),
    (["run", "big_keep.toml", "--no-save"], "keep must be <= 100000"),
    (["run", "big_bits.toml", "--no-save"], "max_bits is too large"),
    (["run", "big_tail.toml", "--no-save"], "tail_samples must be <= 10000000000"),
    (["run", "big_cons.toml", "--no-save"], "consensus_top must be <= 1000"),
    (["run", "big_weight.toml", "--no-save"], "time_weight must be <= 100"),
    (["run", "nan_noise.toml", "--no-save"], "nan is not a finite number"),
    (["run", "inf_weight.toml", "--no-save"], "inf is not a finite number"),
    (["run", "ninf_bits.toml", "--no-save"], "-inf is not a finite number"),
    (["run", "e999.toml", "--no-save"], "1e999 is not a finite number"),
    (["run", "deep_array.toml", "--no-save"], "nested more than 64 levels deep"),
    (["run", "deep_table.toml", "--no-save"], "nested more than 64 levels deep"),
    (["run", "deep_tables.toml", "--no-save"], "unknown key"),
    (["run", "tm_noise.toml", "--no-save"], "noise does not apply to tm experiments"),
    (["run", "tm-occam", "--noise", "0.1", "--no-save"], "noise does not apply to tm experiments"),
    (["run", "--profile", "", "--no-save"], "profile must be the name of a grammar profile"),
    (["run", "tail_max.toml", "--no-save"], "tail_max_bits must be in (max_bits, 48]"),
    (["run", "tail_weight.toml", "--no-save"], "tail_samples needs length_weight >= 1"),
    (["tm", "ctm", "--states", "2", "--deploy", "4", "--no-save"], "--deploy counts the symbols after --prefix"),
    (["show", "(plan door)", "--grid", "dup_legend.txt"], "'D' is defined twice in the legend"),
    (["show", "(plan door)", "--grid", "dup_horizon.txt"], "'horizon' is defined twice in the legend"),
    (["enumerate", "grid", "--max-bits", "10", "--limit", BIG], "--limit must be between 0 and"),
    (["run", "--workers", BIG, "--no-save"], "--workers must be between 1 and"),
    (["run", "--backend", "processes", "--shards", BIG, "--no-save"], "--shards must be between 1 and"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEVINSEARCH_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path


@pytest.mark.parametrize("args,fragment", CASES, ids=[" ".join(a)[:50] for a, _ in CASES])
def test_numbers_nesting_and_meaning(workdir, capsys, args, fragment):
    code, out, err = invoke(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("value", ["x", "-1", "nan", "1e9", ""])
def test_a_bad_checkpoint_interval_is_one_line(workdir, capsys, monkeypatch, value):
    monkeypatch.setenv("LEVINSEARCH_CHECKPOINT_SECONDS", value)
    code, _, err = invoke(capsys, "run", "--max-bits", "8")
    assert code == 2 and "LEVINSEARCH_CHECKPOINT_SECONDS must be a number of seconds" in err


def test_the_smallest_noise_rate_gives_finite_scores(workdir, capsys):
    code, out, err = invoke(capsys, "run", "--max-bits", "10", "--noise", "5e-324", "--no-save", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert all(math.isfinite(h["score"]) for h in record["hypotheses"]) and record["summary"]["map_posterior"] > 0


def test_markup_and_escape_sequences_in_names_are_printed_as_text(workdir, capsys):
    (workdir / "markup.toml").write_text('[experiment]\nname = "[/]x[bold \\u001b[31mred $x^{$"\n'
                                         'description = "\\u001b]0;title\\u0007[bold]b[/bold]"\n'
                                         '[search]\nmax_bits = 8\n[test.a]\n')
    code, out, err = invoke(capsys, "run", "markup.toml")
    assert code == 0, err
    assert "[/]x[bold red $x^{$" in out and "[bold]b[/bold]" in out and "\x1b" not in out and "\x07" not in out
    from levinsearch import figures
    if figures.available():  # figures draw "$" as written (no math parsing)
        assert "figures: 3 (" in out + err, out + err
    code, out, err = invoke(capsys, "runs")
    assert code == 0 and "\x1b" not in out


# ------------------------------------------------------------------ the Python API
API_CASES = [
    (lambda: api.run(123), "experiment must be a bundled experiment's name"),
    (lambda: api.run(None), "experiment must be a bundled experiment's name"),
    (lambda: api.run(""), "experiment must be a bundled experiment's name"),
    (lambda: api.run(["red-door"]), "experiment must be a bundled experiment's name"),
    (lambda: api.run("red-door", bits="red=4"), "bits must be a table of NAME = number"),
    (lambda: api.run("red-door", bits={"red": "4"}), "bits red must be a number"),
    (lambda: api.run("red-door", cost={"plan": 1.5}), "cost plan must be a whole number"),
    (lambda: api.run("red-door", ban="plan"), "ban must be a list of names"),
    (lambda: api.run("red-door", ban=[3]), "ban must be a list of names"),
    (lambda: api.run("red-door", profile=""), "profile must be the name of a grammar profile"),
    (lambda: api.run("red-door", profile=3), "profile must be the name of a grammar profile"),
    (lambda: api.run("red-door", progress="yes"), "progress must be a function"),
    (lambda: api.run("red-door", max_bits="x"), "max_bits must be a number"),
    (lambda: api.run("red-door", max_bits=10**400), "max_bits is too large"),
    (lambda: api.run("red-door", seed=-1), "seed must be >= 0"),
    (lambda: api.run("red-door", seeds=True), "seeds must be a whole number"),
    (lambda: api.run("red-door", colour=3), "unknown setting 'colour'"),
    (lambda: api.run("red-door", train_terms=3), "--train-terms does not apply to grid experiments"),
    (lambda: api.run("no-such-experiment"), "unknown experiment 'no-such-experiment'"),
    (lambda: api.sweep("red-door", {"time_weight": 0}), "needs a non-empty list of values"),
    (lambda: api.sweep("red-door", {"time_weight": []}), "needs a non-empty list of values"),
    (lambda: api.sweep("red-door", []), "settings must be a table of KEY: [values]"),
    (lambda: api.sweep("red-door", {}), "settings must be a table of KEY: [values]"),
    (lambda: api.sweep("red-door", {"colour": [1]}), "unknown key 'colour'"),
    (lambda: api.sweep(5, {"time_weight": [0]}), "experiment must be a bundled experiment's name"),
    (lambda: api.load_run("/nonexistent/run"), "no record"),
]


@pytest.mark.parametrize("call,fragment", API_CASES, ids=[f"api-{k}" for k in range(len(API_CASES))])
def test_the_api_raises_the_packages_error(call, fragment):
    with pytest.raises(DslError) as info:
        call()
    assert fragment in str(info.value), str(info.value)
