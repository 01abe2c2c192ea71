"""Saved runs, report/runs commands, interrupt and resume, thread counts and the Dask
backend, all through the command line as a user meets them."""
from __future__ import annotations

import json
import os
import signal

import numba
import pytest

from levinsearch import backends, domains, experiments, figures, pipeline, runs
from levinsearch import record as record_mod
from conftest import invoke, run_json, strip_timing


def test_run_saves_a_run_directory_that_report_and_runs_read_back(capsys, tmp_path):
    root = tmp_path / "runs"
    record = run_json(capsys, "--max-bits", "14", "--seed", "3", "--runs-dir", str(root))
    (run_dir,) = root.iterdir()
    assert run_dir.name.endswith("-red-door")
    assert record["run"] == str(run_dir)
    drawn = ["figures"] if figures.available() else []  # the plots extra (tests/test_figures.py)
    assert sorted(p.name for p in run_dir.iterdir()) == [".lock", "checkpoint.npz", *drawn, "manifest.json",
                                                         "record.json", "report.txt"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["schema"] == "levinsearch.manifest/1"
    assert manifest["status"] == "complete" and manifest["position"] == manifest["total"] == 464
    assert manifest["from_flags"] == ["max_bits", "seed"] and manifest["seed"] == 3
    assert manifest["config"] == record["config"]
    assert set(manifest["versions"]) >= {"python", "numpy", "numba", "levinsearch"}
    assert "git" in manifest
    assert "levinsearch run" in (run_dir / "report.txt").read_text()

    code, out, _ = invoke(capsys, "report", run_dir.name, "--runs-dir", str(root), "--json")
    assert code == 0 and json.loads(out) == record
    code, out, _ = invoke(capsys, "report", "latest", "--runs-dir", str(root))
    assert code == 0 and "fitting programs" in out and "(plan red)" in out
    code, out, _ = invoke(capsys, "runs", "--runs-dir", str(root), "--json")
    listed = json.loads(out)["runs"]
    assert [(r["run"], r["status"], r["position"], r["total"]) for r in listed] == [
        (run_dir.name, "complete", 464, 464)]
    code, out, _ = invoke(capsys, "runs", "--runs-dir", str(root))
    assert code == 0 and run_dir.name in out and "complete" in out


def test_no_save_writes_nothing(capsys, tmp_path):
    root = tmp_path / "runs"
    record = run_json(capsys, "--max-bits", "8", "--no-save", "--runs-dir", str(root))
    assert "run" not in record and not root.exists()


def test_report_and_resume_errors_are_one_line(capsys, tmp_path):
    root = str(tmp_path / "none")
    for args in (("report", "nope", "--runs-dir", root), ("report", "latest", "--runs-dir", root),
                 ("run", "--resume", "nope", "--runs-dir", root),
                 ("run", "--resume", "latest", "--max-bits", "9", "--runs-dir", root),
                 ("run", "--max-bits", "8", "--workers", "0", "--no-save")):
        code, out, err = invoke(capsys, *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: "), args


def test_ctrl_c_stops_at_a_batch_and_resume_gives_the_uninterrupted_record(capsys, tmp_path):
    root = tmp_path / "runs"
    config = experiments.resolve(experiments.load("red-door"), dict(max_bits=20.0, batch_size=600), domains=domains)
    prep = pipeline.prepare(config)
    saved = runs.create(config, "run", root)
    batches = []

    def progress(tally):
        batches.append(tally.done)
        if len(batches) == 4:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, caught by the run

    partial = runs.execute(prep, saved, progress=progress)
    e = partial["enumeration"]
    assert e["interrupted"] and e["programs"] == e["next_index"] < e["total"]
    assert e["programs"] in batches[3:5]  # stopped at the batch boundary after the signal
    assert saved.manifest()["status"] == "interrupted"
    assert saved.record(domains) == json.loads(json.dumps(partial))
    code, out, _ = invoke(capsys, "report", str(saved.path))
    assert "interrupted" in out and "--resume" in out

    resumed = run_json(capsys, "--resume", str(saved.path), "--runs-dir", str(root))
    uninterrupted = run_json(capsys, "--max-bits", "20", "--batch-size", "600", "--no-save")
    assert resumed["run"] == str(saved.path)
    assert strip_timing(resumed) == strip_timing(uninterrupted)
    # In the partial record, a length judged in part has no posterior bound of its own.
    in_full = {row["bits"]: row["programs"] for row in uninterrupted["enumeration"]["per_length"]}
    assert [("unseen_bound" in row) for row in e["per_length"]] == [
        row["programs"] == in_full[row["bits"]] for row in e["per_length"]]
    assert saved.manifest()["status"] == "complete"
    # Resuming a finished run changes nothing.
    again = run_json(capsys, "--resume", str(saved.path), "--runs-dir", str(root))
    assert strip_timing(again) == strip_timing(uninterrupted)


def test_worker_counts_give_identical_records(capsys):
    before = numba.get_num_threads()
    try:
        one = run_json(capsys, "--max-bits", "18", "--workers", "1", "--no-save")
        two = run_json(capsys, "--max-bits", "18", "--workers", str(min(2, numba.config.NUMBA_NUM_THREADS)),
                       "--no-save")
    finally:
        numba.set_num_threads(before)
    assert strip_timing(one) == strip_timing(two)


def test_shard_ranges_cover_the_index_space_once():
    assert backends.shard_ranges(0, 10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert backends.shard_ranges(4, 6, 8) == [(4, 5), (5, 6)]
    assert backends.shard_ranges(5, 5, 4) == []


def test_dask_missing_gives_install_hint(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(Exception) as info:
        backends._import_dask()
    assert "pip install 'levinsearch[dask]'" in str(info.value)


def test_dask_backend_with_two_workers_matches_local(capsys):
    """With tail samples too: shards cut across the programs and the samples."""
    pytest.importorskip("distributed")
    local = run_json(capsys, "--max-bits", "20", "--no-save", "--tail-samples", "3000")
    dask = run_json(capsys, "--max-bits", "20", "--no-save", "--backend", "dask", "--workers", "2",
                    "--shards", "7", "--tail-samples", "3000")
    assert local["tail"]["judged"] == 3000
    assert strip_timing(dask) == strip_timing(local)


@pytest.mark.parametrize("args", [
    ("red-door", "--max-bits", "20"),
    ("heuristics-red-door", "--max-bits", "14", "--bits", "toward=3"),
    ("occam", "--max-bits", "22"),
])
def test_processes_backend_matches_local(capsys, args):
    local = run_json(capsys, *args, "--no-save")
    spread = run_json(capsys, *args, "--no-save", "--backend", "processes", "--workers", "2", "--shards", "7")
    assert strip_timing(spread) == strip_timing(local)
    assert local["enumeration"]["fitting"] > 0


def test_processes_backend_resumes_a_local_checkpoint(capsys, tmp_path):
    """Work cut between backends: a local run stopped part-way, continued by worker
    processes, gives the record of one uninterrupted run."""
    root = tmp_path / "runs"
    config = experiments.resolve(experiments.load("red-door"), dict(max_bits=20.0, batch_size=600), domains=domains)
    saved = runs.create(config, "run", root)
    batches = []

    def progress(tally):
        batches.append(tally.done)
        if len(batches) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    partial = runs.execute(pipeline.prepare(config), saved, progress=progress)
    assert partial["enumeration"]["interrupted"]
    resumed = run_json(capsys, "--resume", str(saved.path), "--runs-dir", str(root), "--backend", "processes",
                       "--workers", "2", "--shards", "5")
    uninterrupted = run_json(capsys, "--max-bits", "20", "--batch-size", "600", "--no-save")
    assert strip_timing(resumed) == strip_timing(uninterrupted)
    assert saved.manifest()["status"] == "complete"


def test_sweep_json_rows_distances_and_saved_report(capsys, tmp_path):
    root = tmp_path / "runs"
    code, out, err = invoke(capsys, "sweep", "red-door", "--set", "max_bits=8,14", "--set", 'ban=[],["plan"]',
                            "--runs-dir", str(root), "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["schema"] == "levinsearch.sweep/1" and record["split"] == "blue_doors"
    assert [p["setting"] for p in record["points"]] == [
        {"search.max_bits": 8, "grammar.ban": []}, {"search.max_bits": 8, "grammar.ban": ["plan"]},
        {"search.max_bits": 14, "grammar.ban": []}, {"search.max_bits": 14, "grammar.ban": ["plan"]}]
    assert [p["programs"] for p in record["points"]] == [24, 14, 464, 394]
    from dsl.grid import primitives
    assert [record_mod.enumeration_record(primitives.grammar(ban=["plan"]), b, domain="grid")["total"] for b in (8, 14)] == [14, 394]
    m = record["points"][2]["metrics"]
    single = run_json(capsys, "--max-bits", "14", "--no-save")
    assert m["search"] == single["summary"]["search_mass"] == 1.0
    assert m["fitting"] == single["enumeration"]["fitting"]
    assert m["robust"] == single["summary"]["splits"]["blue_doors"]["classes"]["robust"]["mass"]
    # With plan banned nothing fits (greedy cannot get round walls): no posterior, so no
    # shares and no distances to it.
    assert [p["metrics"]["fitting"] for p in record["points"]] == [2, 0, 16, 0]
    assert record["points"][1]["metrics"]["search"] is None
    d = record["distances"]["behaviour"]
    assert d[0][1] is None and d[0][0] == d[2][2] == 0.0 and d[2][3] is None
    # 8 bits: (plan red) and (plan door), half each; 14 bits adds 14 programs of 13.9 bits.
    eight = {b: 0.5 for b in ("(plan red)", "(plan door)")}
    fourteen = {b["program"]: b["posterior"] for b in single["behaviours"]}
    expected = 0.5 * sum(abs(eight.get(k, 0) - fourteen.get(k, 0)) for k in set(eight) | set(fourteen))
    assert d[0][2] == pytest.approx(expected) and d[0][2] == d[2][0]
    (run_dir,) = root.iterdir()
    assert run_dir.name.endswith("-red-door") and sorted(p.name for p in (run_dir / "points").iterdir()) == [
        "001.json", "002.json", "003.json", "004.json"]
    code, out, _ = invoke(capsys, "report", str(run_dir), "--json")
    assert json.loads(out)["points"] == record["points"]
    code, out, _ = invoke(capsys, "report", str(run_dir))
    assert code == 0 and "sweep of red-door" in out and "P(search)" in out
    code, out, _ = invoke(capsys, "runs", "--runs-dir", str(root), "--json")
    assert [(r["command"], r["status"], r["position"], r["total"]) for r in json.loads(out)["runs"]] == [
        ("sweep", "complete", 4, 4)]


def test_sweep_plot_and_table_in_the_terminal_report(capsys):
    code, out, err = invoke(capsys, "sweep", "red-door", "--set", "time_weight=0,1", "--max-bits", "14",
                            "--metric", "proxy_given_search", "--no-save")
    assert code == 0, err
    assert "P(proxy | search) against time_weight" in out and "┌" in out and "(plan red)" in out


def test_sweep_errors_are_one_line(capsys):
    for args in (("sweep", "red-door", "--set", "nonsense=1,2", "--no-save"),
                 ("sweep", "red-door", "--set", "max_bits", "--no-save"),
                 ("sweep", "red-door", "--set", "max_bits=-3,8", "--no-save"),
                 ("sweep", "red-door", "--set", "search.order=sideways", "--no-save"),
                 ("sweep", "red-door", "--set", "max_bits=8", "--split", "nope", "--no-save")):
        code, out, err = invoke(capsys, *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: "), args


def test_sweep_values_are_toml(capsys):
    from levinsearch import sweeps as sweep
    grid = domains.get("grid")
    assert sweep.parse_setting('ban=[],["plan","greedy"]', grid) == ("grammar.ban", [[], ["plan", "greedy"]])
    assert sweep.parse_setting("train.variant.share=0,0.5", grid) == ("train.variant.share", [0, 0.5])
    assert sweep.parse_setting("order=levin,length", grid) == ("search.order", ["levin", "length"])
    assert sweep.parse_setting('base="door",red', grid) == ("experiment.base", ["door", "red"])
    assert sweep.split_values('[1, 2],"a,b",3') == ["[1, 2]", '"a,b"', "3"]


def test_a_stop_with_many_behaviours_leaves_the_record_to_report(capsys, tmp_path, monkeypatch):
    """Analysing many behaviours can take minutes, longer than a stop may: such a run
    saves its checkpoint, says how to get the record, and `report` builds it from there."""
    import os
    import signal

    from levinsearch import experiments, pipeline, runs
    config = experiments.resolve(experiments.load("red-door"), dict(max_bits=24), domains=domains)
    saved = runs.create(config, "run", tmp_path)
    monkeypatch.setattr(runs, "MAX_INTERRUPTED_BEHAVIOURS", 0)
    calls = []

    def progress(tally):
        calls.append(tally.done)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, caught by the run

    with pytest.raises(runs.RecordDeferred) as stop:
        runs.execute(pipeline.prepare(config), saved, progress=progress, checkpoint_every=0.0)
    assert f"levinsearch report {saved.path}" in str(stop.value)
    manifest = saved.manifest()
    assert manifest["status"] == "interrupted" and manifest["record"] == "deferred"
    assert not (saved.path / "record.json").exists()
    code, out, err = invoke(capsys, "report", str(saved.path))
    assert code == 0 and "building the record" in err and "interrupted" in out
    record = json.loads((saved.path / "record.json").read_text())
    assert record["enumeration"]["interrupted"] and saved.manifest()["record"] == "built"


# ------------------------------------------------------------------ durable writes and the run lock
def test_a_write_is_fsynced_then_renamed_then_its_directory_fsynced(tmp_path, monkeypatch):
    import stat
    from levinsearch import files
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        mode = os.fstat(fd).st_mode
        calls.append(("fsync", "directory" if stat.S_ISDIR(mode) else os.fstat(fd).st_size))
        real_fsync(fd)

    def replace(src, dst):
        calls.append(("replace", os.path.dirname(src) == os.path.dirname(dst), os.path.basename(src)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    files.write_atomic(tmp_path / "record.json", "{\"a\": 1}")
    # the data is on disk before the rename (temporary file beside the target), the rename after it
    assert calls == [("fsync", 8), ("replace", True, "record.json.tmp"), ("fsync", "directory")]
    assert (tmp_path / "record.json").read_text() == "{\"a\": 1}" and os.listdir(tmp_path) == ["record.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(tmp_path):
    from dsl.errors import DslError
    from levinsearch import files
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with files.atomic_file(target, ".tmp.npz") as handle:
            handle.write(b"half of the new")
            raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["checkpoint.npz"]
    with pytest.raises(DslError, match=r"cannot write .*missing.*: No such file or directory"):
        files.write_atomic(tmp_path / "missing" / "record.json", "x")


def test_the_run_lock_is_held_across_processes_and_dropped_when_its_holder_dies(tmp_path):
    import subprocess
    import sys
    from dsl.errors import DslError
    run = runs.RunDir(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import filelock, sys, time\n"
                               "lock = filelock.FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True)\n"
                               "time.sleep(60)", str(tmp_path / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DslError, match="being written by another levinsearch process"):
            with run.lock():
                pass
    finally:
        holder.kill()
        holder.wait()
    with run.lock():  # killed, not released: the system dropped its lock
        with pytest.raises(DslError, match="being written by another levinsearch process"):
            with runs.RunDir(tmp_path).lock():
                pass
    assert (tmp_path / ".lock").exists()  # the lock file stays in the run directory, as before
