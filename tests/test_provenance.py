"""Provenance: every record (command line, Python API, saved, sweep) says which
levinsearch made it (version and git commit), when (ISO 8601 with its UTC offset) and
by which command; records saved before they had it still load and report."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import levinsearch
from conftest import invoke, run_json
from levinsearch import domains, experiments, pipeline, record as record_mod, types

ROOT = Path(__file__).resolve().parent.parent


def _git_head() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 and (ROOT / ".git").exists() else None


def _check(provenance: dict, command: str) -> None:
    assert list(provenance) == ["levinsearch", "commit", "created", "command"]
    assert provenance["levinsearch"] == levinsearch.__version__
    assert provenance["commit"] == _git_head()
    created = datetime.fromisoformat(provenance["created"])
    assert created.utcoffset() == timedelta(0) and provenance["created"].endswith("+00:00")
    assert abs(datetime.now(created.tzinfo) - created) < timedelta(minutes=10)
    assert provenance["command"] == command


def test_command_line_records_carry_their_command(capsys, tmp_path):
    record = run_json(capsys, "red-door", "--max-bits", "12", "--runs-dir", str(tmp_path))
    _check(record["provenance"], f"levinsearch run red-door --max-bits 12 --runs-dir {tmp_path} --json")
    types.validate(record)
    saved = json.loads((Path(record["run"]) / "record.json").read_text())
    assert saved["provenance"] == record["provenance"]
    manifest = json.loads((Path(record["run"]) / "manifest.json").read_text())
    assert datetime.fromisoformat(manifest["created"]).utcoffset() == timedelta(0)
    code, out, err = invoke(capsys, "sweep", "red-door", "--set", "time_weight=0,1", "--max-bits", "12",
                            "--no-save", "--json")
    assert code == 0, err
    _check(json.loads(out)["provenance"], "levinsearch sweep red-door --set time_weight=0,1 --max-bits 12 "
                                          "--no-save --json")


def test_api_records_carry_the_call():
    _check(levinsearch.run("red-door", max_bits=12, seeds=2).provenance,
           "levinsearch.run('red-door', max_bits=12, seeds=2)")
    _check(levinsearch.sweep("red-door", {"time_weight": [0, 1]}, max_bits=12, workers=1).provenance,
           "levinsearch.sweep('red-door', {'time_weight': [0, 1]}, max_bits=12, workers=1)")


def test_lower_level_records_carry_the_command_in_force():
    config = experiments.resolve(experiments.load("red-door"), {"max_bits": 12}, domains=domains)
    with record_mod.command("my-script --fast"):
        record = pipeline.run_experiment(config)
    _check(record["provenance"], "my-script --fast")
    assert record_mod.COMMAND.get() is None  # only inside the `with`


def test_records_saved_before_provenance_still_load_and_report(capsys, tmp_path):
    record = run_json(capsys, "red-door", "--max-bits", "12", "--runs-dir", str(tmp_path))
    path = Path(record["run"]) / "record.json"
    old = json.loads(path.read_text())
    del old["provenance"]
    path.write_text(json.dumps(old, indent=1))
    loaded = levinsearch.load_run(path)
    assert loaded.provenance is None and "provenance" not in loaded
    assert "red-door" in repr(loaded) and "created" not in loaded._repr_html_()
    code, out, err = invoke(capsys, "report", record["run"])
    assert code == 0 and "(plan red)" in out, err


def test_source_commit_reads_git_without_running_it(tmp_path):
    sha, other = "a" * 40, "b" * 40
    assert record_mod.source_commit(tmp_path) is None  # not a checkout: an installed package
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(sha + "\n")
    assert record_mod.source_commit(tmp_path / "repo") == sha
    (git / "refs" / "heads" / "main").unlink()  # after `git gc`: in packed-refs
    (git / "packed-refs").write_text(f"# pack-refs with: peeled\n{other} refs/heads/dev\n{sha} refs/heads/main\n")
    assert record_mod.source_commit(tmp_path / "repo") == sha
    (git / "HEAD").write_text(other + "\n")  # detached
    assert record_mod.source_commit(tmp_path / "repo") == other
    # A linked work tree: .git is a file naming its git dir, whose commondir holds the branches.
    linked = git / "worktrees" / "wt"
    linked.mkdir(parents=True)
    (linked / "HEAD").write_text("ref: refs/heads/main\n")
    (linked / "commondir").write_text("../..\n")
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {linked}\n")
    assert record_mod.source_commit(tmp_path / "wt") == sha
    (git / "HEAD").write_text("garbage\n")
    assert record_mod.source_commit(tmp_path / "repo") is None


def test_this_checkouts_commit_is_gits():
    assert record_mod.source_commit() == _git_head()
