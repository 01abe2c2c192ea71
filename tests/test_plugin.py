"""A domain in its own package: tests/plugin_domain (domain `boolean`, declared through
the levinsearch.domains entry point) is installed with pip into a temporary directory
and run end to end from the command line, which finds it through importlib.metadata.
Then plug-ins that are broken: each is left out with one line, and the built-in domains
still work. (docs/architecture.md, "A domain in its own package".)

The subprocesses import levinsearch from this source tree (after the install directory
on PYTHONPATH), so its compiled kernels come from the Numba cache here."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    where = tmp_path_factory.mktemp("plugin")
    source = where / "src"  # a copy: the build leaves build/ and egg-info behind
    shutil.copytree(ROOT / "tests" / "plugin_domain", source, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(where / "site"), str(source)], check=True, capture_output=True)
    return where


def levinsearch(where: Path, *args: str, paths=("site",)) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*(str(where / p) for p in paths), str(ROOT)]),
               LEVINSEARCH_RUNS_DIR=str(where / "runs"))
    return subprocess.run([sys.executable, "-m", "levinsearch", *args], cwd=where, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_installed_plugin_lists_and_runs_its_experiment(installed):
    done = levinsearch(installed, "experiments", "--json")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    listed = {row["name"]: row for row in json.loads(done.stdout)["experiments"]}
    assert "red-door" in listed  # the bundled ones are still there
    mine = listed["boolean-xor"]
    assert mine["path"] == str(installed / "site" / "levin_boolean" / "experiments" / "boolean_xor.toml")
    assert mine["description"] == "a xor b, from the first five of its eight rows"

    done = levinsearch(installed, "run", "boolean-xor", "--no-save", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["schema"], record["domain"], record["experiment"]) == ("levinsearch.run/1", "boolean",
                                                                          "boolean-xor")
    assert record["target"] == [0, 1, 1, 0, 0, 1, 1, 0]
    e, s = record["enumeration"], record["summary"]
    # Worked out by hand and by brute force over all formulas: 3 + 3 + 30 + 84 + 651 + 2703
    # formulas of 1..6 nodes (17 bits at log2(7) bits a node); 34 agree with xor on rows
    # 0..4, with 4 distinct outputs on rows 5..7; those right there hold 0.98568 of 7^-nodes.
    assert e["programs"] == e["total"] == 3474 and e["fitting"] == 34
    assert s["map_program"] == "(xor a b)" and s["behaviours"] == 4
    assert s["right_posterior"] == pytest.approx(0.98568, abs=1e-4)
    assert not (installed / "runs").exists()

    # The record passes the conformance checks' record check, and the installed domain
    # (found through the registry) passes check_domain; a bad run gives one error line.
    code = ("import json, sys, levinsearch\n"
            "from levinsearch import conformance, domains\n"
            "domain = domains.get('boolean')\n"
            "levinsearch.check_domain(domain)\n"
            "import jsonschema\n"
            "jsonschema.validate(json.load(sys.stdin), conformance.record_schema(domain))\n"
            "print(domains.names(), type(domain).__module__)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(installed / "site"), str(ROOT)]))
    checked = subprocess.run([sys.executable, "-c", code], input=done.stdout, env=env, capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "('grid', 'seq', 'tm', 'boolean') levin_boolean\n"
    done = levinsearch(installed, "run", "boolean-xor", "--train-envs", "3", "--no-save")
    assert (done.returncode, done.stderr) == (2, "error: --train-envs does not apply to boolean experiments\n")


def dist(where: Path, name: str, entry_points: str) -> None:
    """A hand-made installed distribution: only its metadata and entry points."""
    info = where / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[levinsearch.domains]\n{entry_points}\n")


def test_broken_plugins_are_left_out_with_one_line_each(installed, tmp_path):
    dist(tmp_path / "bad", "broken", "missing = no_such_module:DOMAIN\nseq = levin_boolean:DOMAIN")
    (tmp_path / "bad" / "half.py").write_text("raise RuntimeError('half-written\\nplug-in')\n")
    dist(tmp_path / "bad", "half", "half = half:DOMAIN")
    where = tmp_path.parent
    paths = (f"{tmp_path.name}/bad", str(installed / "site"))
    lines = ["plug-in domain 'half' (half:DOMAIN) failed to load: RuntimeError: half-written plug-in",
             "plug-in domain 'missing' (no_such_module:DOMAIN) failed to load: ModuleNotFoundError: No module named "
             "'no_such_module'",
             "plug-in domain 'seq' (levin_boolean:DOMAIN) left out: 'seq' is a built-in domain; a plug-in cannot "
             "replace it"]
    done = levinsearch(where, "experiments", paths=paths)
    assert done.returncode == 0 and done.stderr.splitlines() == lines
    assert "red-door" in done.stdout and "boolean-xor" in done.stdout  # the good plug-in still runs
    done = levinsearch(where, "run", "red-door", "--max-bits", "8", "--no-save", "--json", paths=paths)
    assert done.returncode == 0 and done.stderr == ""
    (tmp_path / "uses_half.toml").write_text('[experiment]\ndomain = "half"\n')
    done = levinsearch(where, "run", str(tmp_path / "uses_half.toml"), "--no-save", paths=paths)
    assert (done.returncode, done.stderr) == (2, f"error: {lines[0]}\n")


def test_importing_levinsearch_reads_no_plugin(installed):
    code = "import sys, levinsearch, levinsearch.domains; print('levin_boolean' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(installed / "site"), str(ROOT)]))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout == "False\n", done.stderr


def test_a_saved_plugin_run_reads_back(installed, tmp_path):
    """`report` checks a plug-in's record against the schema of its own types (the
    published schema names the built-in domains only)."""
    site = (str(installed / "site"),)
    done = levinsearch(tmp_path, "run", "boolean-xor", "--max-bits", "9", "--json", paths=site)
    assert done.returncode == 0, done.stderr
    (run,) = sorted((tmp_path / "runs").iterdir())
    done = levinsearch(tmp_path, "report", str(run), "--json", paths=site)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert (record["domain"], record["summary"]["map_program"], record["enumeration"]["programs"]) == \
        ("boolean", "(xor a b)", 36)  # 3 + 3 + 30 programs of up to 3 nodes
