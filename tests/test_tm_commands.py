"""`levinsearch tm busy-beaver`, `tm ctm`: exact Busy Beaver values and CTM distributions
for small n, saved runs, Ctrl-C and resume, threads and Dask giving identical records,
`report RUN`, and one-line errors."""
from __future__ import annotations

import json
import os
import signal

import numba
import pytest

from conftest import invoke
from levinsearch import runs
from levinsearch.domains.tm import census_run


def census_json(capsys, *args) -> dict:
    code, out, err = invoke(capsys, "tm", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def same_census(a: dict, b: dict) -> bool:
    return all(a[k] == b[k] for k in ("census", "busy_beaver", "ctm", "complete", "covered_units", "prefix"))


@pytest.mark.parametrize("n, halted, S, S_machines, sigma, sigma_machines", [
    (1, 12, 1, 12, 1, 6),
    (2, 3_044, 6, 20, 4, 2),
    (3, 2_147_184, 21, 8, 6, 20),
])
def test_busy_beaver_values(capsys, n, halted, S, S_machines, sigma, sigma_machines):
    r = census_json(capsys, "busy-beaver", "--states", str(n), "--no-save")
    b = r["busy_beaver"]
    assert r["complete"] and r["machines_total"] == (4 * n + 2) ** (2 * n) == b["machines"]
    assert (b["halted"], b["max_steps"], b["max_steps_machines"], b["max_ones"], b["max_ones_machines"]) == \
        (halted, S, S_machines, sigma, sigma_machines)
    assert b["did_not_halt"] == b["machines"] - halted and "none of them ever halts" in b["did_not_halt_meaning"]
    assert f"the census is exact: S({n}) = {S}, Σ({n}) = {sigma} (the known values)" in b["proves"]
    assert all(m["steps"] == S and m["halted"] for m in b["steps_champions"])
    assert all(m["ones"] == sigma for m in b["ones_champions"])


def test_busy_beaver_details_cap_and_brute_force(capsys):
    r = census_json(capsys, "busy-beaver", "--states", "2", "--no-save")
    champs = [m["program"] for m in r["busy_beaver"]["ones_champions"]]
    assert champs == ["(tm2 1LB 1RB 1RA 1H)", "(tm2 1RB 1LB 1LA 1H)"]
    assert r["busy_beaver"]["ones_champions"][1]["table"] == [["A", "1RB", "1LB"], ["B", "1LA", "1H"]]
    brute = census_json(capsys, "busy-beaver", "--states", "2", "--brute", "--no-save")
    assert brute["census"]["parts"] == [["machines", 0, 10_000]] and brute["config"]["method"] == "brute"
    assert {k: v for k, v in brute["census"].items() if k != "parts"} == \
        {k: v for k, v in r["census"].items() if k != "parts"}
    low = census_json(capsys, "busy-beaver", "--states", "2", "--cap", "5", "--no-save")
    assert low["busy_beaver"]["max_steps"] == 5 and "below the known S(2) = 6" in low["busy_beaver"]["proves"]
    assert low["busy_beaver"]["did_not_halt_meaning"] == "some may halt later than 5 steps"
    assert low["busy_beaver"]["halted"] == 3_044 - 20  # the 20 six-step machines are cut off


def test_ctm_two_and_three_states(capsys):
    r = census_json(capsys, "ctm", "--states", "2", "--no-save")
    d = r["ctm"]
    assert (d["halted"], d["distinct"], d["distinct_completed"]) == (3_044, 17, 22)
    rows = {x["output"]: x for x in d["rows"]}
    assert rows["0"]["count"] == 2_000 and rows["0"]["D"] == 2_000 / 6_088
    assert rows["00"]["count"] == 508 and rows["00"]["K"] == pytest.approx(3.5831, abs=1e-4)
    assert (rows["00"]["raw_count"], rows["11"]["raw_count"], rows["000"]["raw_count"]) == (264, 244, 0)
    assert rows["000"]["raw_K"] is None and rows["111"]["raw_D"] == 4 / 3_044
    r3 = census_json(capsys, "ctm", "--states", "3", "--no-save")
    assert (r3["ctm"]["halted"], r3["ctm"]["distinct"], r3["ctm"]["distinct_completed"]) == (2_147_184, 95, 128)
    # The order of D(3) in OEIS A141474: by count, ties lexicographic.
    assert [x["output"] for x in r3["ctm"]["rows"][:14]] == [
        "0", "1", "00", "01", "10", "11", "000", "111", "001", "011", "100", "110", "010", "101"]
    assert sum(x["count"] for x in r3["ctm"]["rows"]) == 2 * 2_147_184
    code, out, _ = invoke(capsys, "tm", "ctm", "--states", "3", "--no-save", "--top", "5")
    assert code == 0 and "Showing 5 of 128" in " ".join(out.split())


def test_ctm_prefix_continuations_equal_the_tm_run(capsys, tmp_path):
    """All n-state machines have the same prior: the census's continuations of a prefix
    are the posterior of a tm run over the n-state machines (two independent codes: the
    symmetry-reduced census and the enumerator with the compiled judge)."""
    r = census_json(capsys, "ctm", "--states", "2", "--no-save", "--prefix", "11", "--deploy", "3")
    p = r["prefix"]
    assert p["machines"] == 256 and p["next_symbol"] == {"0": 6 / 256, "1": 6 / 256, "end": 244 / 256}
    path = tmp_path / "two.toml"
    path.write_text('[experiment]\ndomain = "tm"\n[target]\nprefix = "11"\ndeploy = 3\n[machines]\nstates = [2]\n'
                    '[search]\nmax_bits = 17\n')
    code, out, err = invoke(capsys, "run", str(path), "--no-save", "--json")
    assert code == 0, err
    run = json.loads(out)
    assert {c["continuation"]: c["machines"] for c in p["continuations"]} == \
        {b["continuation"]: b["programs"] for b in run["behaviours"]}
    assert run["summary"]["positions"] == p["positions"]


def test_ctrl_c_saves_what_was_done_and_resume_gives_the_uninterrupted_record(capsys, tmp_path, monkeypatch):
    root = tmp_path / "runs"
    config = census_run.census_config("ctm", 3, None, True)
    saved = runs.create(config, "tm ctm", root)
    monkeypatch.setattr(census_run, "FIRST_BATCH", 1 << 14)
    monkeypatch.setattr(census_run, "MAX_BATCH", 1 << 14)
    batches = []

    def progress(census, position, space, seconds):
        batches.append(position)
        if len(batches) == 3:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, caught by the run

    partial = census_run.execute(config, saved, progress=progress, checkpoint_every=0.0)
    assert not partial["complete"] and partial["covered_units"] in (3 << 14, 4 << 14)
    assert partial["covered_units"] < partial["total_units"] == 2 * 14 ** 5
    manifest = saved.manifest()
    assert manifest["status"] == "interrupted" and "SIGINT" in manifest["reason"]
    assert json.loads((saved.path / "checkpoint.json").read_text())["position"] == partial["covered_units"]
    saved.write_record(partial)
    code, out, _ = invoke(capsys, "report", str(saved.path))
    assert code == 0 and "interrupted" in out and "--resume" in out
    monkeypatch.undo()

    resumed = census_json(capsys, "ctm", "--resume", str(saved.path), "--runs-dir", str(root))
    straight = census_json(capsys, "ctm", "--states", "3", "--no-save")
    assert resumed["complete"] and resumed["resumed"] == 1 and resumed["run"] == str(saved.path)
    assert same_census(resumed, straight)
    assert saved.manifest()["status"] == "complete"
    code, out, _ = invoke(capsys, "report", saved.path.name, "--runs-dir", str(root))
    assert code == 0 and "D(3)" in out and "status complete" in " ".join(out.split())
    # A finished run can be re-analysed without recomputing the census.
    again = census_json(capsys, "ctm", "--resume", str(saved.path), "--runs-dir", str(root), "--prefix", "1010",
                        "--deploy", "4")
    assert same_census({**again, "prefix": None}, {**straight, "prefix": None})
    assert again["prefix"]["machines"] == 1_604


def test_threads_and_dask_give_identical_records(capsys):
    pytest.importorskip("distributed")
    before = numba.get_num_threads()
    try:
        one = census_json(capsys, "ctm", "--states", "3", "--no-save", "--workers", "1")
        two = census_json(capsys, "ctm", "--states", "3", "--no-save",
                          "--workers", str(min(2, numba.config.NUMBA_NUM_THREADS)))
    finally:
        numba.set_num_threads(before)
    dask = census_json(capsys, "ctm", "--states", "3", "--no-save", "--backend", "dask", "--workers", "2",
                       "--shards", "5")
    assert same_census(one, two) and same_census(one, dask)
    assert dask["backend"] == "dask" and dask["workers"] == 2


def test_threads_and_worker_processes_give_identical_records(capsys):
    one = census_json(capsys, "ctm", "--states", "3", "--no-save", "--workers", "1")
    spread = census_json(capsys, "ctm", "--states", "3", "--no-save", "--backend", "processes", "--workers", "2",
                         "--shards", "5")
    assert same_census(one, spread)
    assert spread["backend"] == "processes" and spread["workers"] == 2


@pytest.mark.parametrize("args, message", [
    (["ctm", "--no-save"], "give --states N"),
    (["ctm", "--states", "7", "--no-save"], "--states must be between 1 and 6"),
    (["busy-beaver", "--states", "5", "--no-save"], "--states 5 needs --cap"),
    (["busy-beaver", "--states", "2", "--cap", "0", "--no-save"], "--cap must be between 1 and"),
    (["ctm", "--resume", "latest", "--states", "2"], "drop --states"),
    (["ctm", "--states", "2", "--prefix", "012", "--no-save"], "--prefix must be a string of 0s and 1s"),
    (["ctm", "--states", "2", "--top", "0", "--no-save"], "--top must be at least 1"),
    (["ctm", "--states", "2", "--workers", "0", "--no-save"], "--workers must be between"),
    (["ctm", "--states", "2", "--shards", "3", "--no-save"], "--scheduler and --shards need --backend dask"),
])
def test_bad_input_is_one_line(capsys, args, message):
    code, out, err = invoke(capsys, "tm", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and message in err


def test_resume_refuses_another_command(capsys, tmp_path):
    root = tmp_path / "runs"
    census_json(capsys, "busy-beaver", "--states", "1", "--runs-dir", str(root))
    code, out, err = invoke(capsys, "tm", "ctm", "--resume", "latest", "--runs-dir", str(root))
    assert code == 2 and "not a tm ctm run (it is a tm busy-beaver)" in err
    code, out, err = invoke(capsys, "run", "--resume", "latest", "--runs-dir", str(root))
    assert code == 2 and "only runs can be resumed" in err
