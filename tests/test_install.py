"""A normal (non-editable) install works from any directory: the wheel carries the
bundled experiments (the top-level experiments/ directory, installed as
levinsearch/bundled/) as package data, and the console script runs them.

The wheel is built offline (no build isolation) and installed with `pip --target` into
a temporary directory, which is put first on PYTHONPATH so that nothing of the source
tree is imported. Kernels run with NUMBA_DISABLE_JIT=1 (as Python): a fresh install
location would otherwise compile every kernel again, and this test is about packaging.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_pyproject_lists_every_package_and_experiments_directory():
    """pyproject.toml lists its packages (discovery cannot map experiments/ into the
    wheel), so a new package or grid directory must be added there; this says which."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setup["package-dir"] == {"levinsearch.bundled": "experiments"}
    code = {".".join(p.parent.relative_to(ROOT).parts) for top in ("dsl", "levinsearch")
            for p in (ROOT / top).rglob("__init__.py")}
    data = {".".join(("levinsearch", "bundled", *d.relative_to(ROOT / "experiments").parts))
            for d in [ROOT / "experiments", *(ROOT / "experiments").rglob("*")]
            if d.is_dir() and d.name != "__pycache__"}
    assert sorted(setup["packages"]) == sorted(code | data)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    where = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(where / "dist"), str(ROOT)], check=True, capture_output=True)
    wheels = list((where / "dist").glob("levinsearch-*.whl"))
    assert len(wheels) == 1
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(where / "site"),
                    str(wheels[0])], check=True, capture_output=True)
    elsewhere = where / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, PYTHONPATH=str(where / "site"), NUMBA_DISABLE_JIT="1",
               LEVINSEARCH_RUNS_DIR=str(where / "runs"))
    return where, elsewhere, env


def test_console_script_runs_red_door_from_an_unrelated_directory(installed):
    where, elsewhere, env = installed
    script = where / "site" / "bin" / "levinsearch"
    done = subprocess.run([str(script), "run", "red-door", "--max-bits", "14", "--no-save", "--json"], cwd=elsewhere,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["config"]["source"].startswith(str(where / "site"))
    assert record["enumeration"]["fitting"] == 16  # (plan red), (plan door) and 14 programs of 13.9 bits
    assert not (elsewhere / "runs").exists()


def test_every_bundled_experiment_runs_from_the_installed_package(installed):
    where, elsewhere, env = installed
    code = ("import json, levinsearch.domains as D, levinsearch.experiments as E, levinsearch.pipeline as P\n"
            "out = {}\n"
            "for name, path in E.bundled().items():\n"
            "    r = P.run_experiment(E.resolve(E.load(name), dict(max_bits=8, top=1, keep=5), domains=D))\n"
            "    out[name] = [str(path), r['enumeration']['programs']]\n"
            "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    ran = json.loads(done.stdout)
    assert sorted(ran) == sorted(p.stem.replace("_", "-") for p in (ROOT / "experiments").glob("*.toml"))
    assert all(path.startswith(str(where / "site")) and programs > 0 for path, programs in ran.values())


def test_the_researcher_tour_runs_against_the_installed_package(installed, tmp_path):
    """The issue's notebook check: run from Python, to_pandas(), export to CSV and Parquet,
    diff two runs and __version__, all from the wheel (pandas and pyarrow: the `table` extra,
    which `make test` installs)."""
    where, elsewhere, env = installed
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "researcher_tour.py"), str(tmp_path)],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    from importlib.metadata import version
    assert out.startswith(f"levinsearch {version('levinsearch')}\n")
    assert "<RunRecord red-door (grid): programs judged 464 · fitting 16 ·" in out
    for fmt in ("csv", "parquet"):
        assert (tmp_path / f"export-{fmt}" / f"behaviours.{fmt}").is_file()
    import pandas
    frame = pandas.read_parquet(tmp_path / "export-parquet" / "behaviours.parquet")
    assert len(frame) == 4  # (plan red), (plan door), and the and/or detectors of both
    assert "search.time_weight" in out and "differ: 1 setting" in out
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(str(r).startswith(str(tmp_path)) for r in runs)
