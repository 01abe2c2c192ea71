"""`levinsearch export` and `levinsearch diff` on saved runs and sweeps, through the
command line as a user meets them (small runs saved under a temporary --runs-dir)."""
from __future__ import annotations

import builtins
import contextlib
import csv
import io
import json
from pathlib import Path

import pytest

from levinsearch import compare, domains, figures, tables


def cli(*args) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from levinsearch.cli import main
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Saved runs and sweeps by name: (run directory, record)."""
    root = tmp_path_factory.mktemp("runs")
    made = {}
    plans = dict(
        base=("run", "red-door", "--max-bits", "14"),
        slow=("run", "red-door", "--max-bits", "14", "--time-weight", "1"),
        short=("run", "red-door", "--max-bits", "13"),
        tail=("run", "red-door", "--max-bits", "14", "--tail-samples", "200"),
        tail2=("run", "red-door", "--max-bits", "14", "--tail-samples", "200", "--tail-seed", "1"),
        seq=("run", "occam", "--max-bits", "12"),
        sweep=("sweep", "red-door", "--set", "time_weight=0,1", "--max-bits", "12"),
        seeds=("run", "red-door", "--max-bits", "12", "--seeds", "2"),
        seeds_slow=("run", "red-door", "--max-bits", "12", "--seeds", "2", "--time-weight", "1"),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(figures, "available", lambda: False)  # drawing is tested elsewhere; it takes seconds
        for name, args in plans.items():
            code, out, err = cli(*args, "--runs-dir", str(root), "--no-progress", "--json")
            assert code == 0, err
            record = json.loads(out)
            made[name] = (Path(record["run"]), record)
    return root, made


def test_export_csv_writes_every_table_into_run_export(saved):
    root, made = saved
    run_dir, record = made["tail"]
    code, out, err = cli("export", str(run_dir))
    assert code == 0, err
    t = tables.record_tables(record)
    export = run_dir / "export"
    assert sorted(p.name for p in export.iterdir()) == sorted(f"{name}.csv" for name in t)
    assert out.splitlines() == [f"{export / name}.csv\t{len(rows):,} row{'' if len(rows) == 1 else 's'}"
                                for name, rows in t.items()]
    with open(export / "behaviours.csv", newline="") as f:
        read = list(csv.DictReader(f))
    assert len(read) == len(record["behaviours"]) == 4
    assert list(read[0]) == tables.columns("behaviours", t["behaviours"])
    assert [r["program"] for r in read] == [b["program"] for b in record["behaviours"]]
    assert [float(r["posterior"]) for r in read] == [b["posterior"] for b in record["behaviours"]]
    assert read[0]["test.blue_doors.proxy"] == repr(record["behaviours"][0]["test"]["blue_doors"]["proxy"])


def test_export_by_name_under_runs_dir_and_latest(saved):
    root, made = saved
    run_dir, record = made["base"]
    code, out, _ = cli("export", run_dir.name, "--runs-dir", str(root), "--format", "json",
                       "--out", str(run_dir / "j"))
    assert code == 0
    rows = json.loads((run_dir / "j" / "hypotheses.json").read_text())
    assert [r["program"] for r in rows] == [h["program"] for h in record["hypotheses"]]
    assert rows == [{c: r.get(c) for c in tables.columns("hypotheses", tables.record_tables(record)["hypotheses"])}
                    for r in tables.record_tables(record)["hypotheses"]]
    code, out, _ = cli("export", "latest", "--runs-dir", str(root), "--out", str(root / "latest-export"))
    assert code == 0 and f"{root / 'latest-export' / 'points.csv'}\t1 row" in out.splitlines()


def test_export_parquet_reads_back_equal_to_to_pandas(saved, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    for name in ("tail", "sweep"):
        run_dir, record = saved[1][name]
        code, _, err = cli("export", str(run_dir), "--format", "parquet", "--out", str(tmp_path / name))
        assert code == 0, err
        for table in tables.record_tables(record):
            back = pd.read_parquet(tmp_path / name / f"{table}.parquet")
            pd.testing.assert_frame_equal(back, tables.to_pandas(record, table))


def test_export_of_a_sweep(saved, tmp_path):
    run_dir, record = saved[1]["sweep"]
    code, out, _ = cli("export", str(run_dir), "--out", str(tmp_path))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["distances.csv", "metrics.csv", "points.csv"]
    with open(tmp_path / "points.csv", newline="") as f:
        points = list(csv.DictReader(f))
    assert [p["setting.search.time_weight"] for p in points] == ["0", "1"]
    assert [p["map_program"] for p in points] == [p["map_program"] for p in record["points"]]


def test_export_parquet_without_pyarrow_is_one_line(saved, tmp_path, monkeypatch):
    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    code, out, err = cli("export", str(saved[1]["base"][0]), "--format", "parquet", "--out", str(tmp_path / "x"))
    assert code == 2 and out == ""
    assert err == "error: --format parquet needs pyarrow: pip install 'levinsearch[table]'\n"
    assert not (tmp_path / "x").exists()


def test_export_and_diff_errors_are_one_line(saved, tmp_path):
    root, made = saved
    base = str(made["base"][0])
    for args in (("export", "nope", "--runs-dir", str(root)),
                 ("export", "latest", "--runs-dir", str(tmp_path / "empty")),
                 ("export", base, "--format", "xlsx"),
                 ("diff", base, "nope", "--runs-dir", str(root)),
                 ("diff", base),
                 ("diff", base, base, "--top", "-1"),
                 ("diff", base, str(made["sweep"][0])),
                 ("diff", str(made["seeds"][0]), base),
                 ("diff", base, str(made["seq"][0]))):
        code, out, err = cli(*args)
        assert code == 2 and out == "" and len(err.splitlines()) == 1 and err.startswith("error: "), args
        assert "Traceback" not in err
    _, _, err = cli("diff", base, str(made["sweep"][0]))
    assert err == ("error: cannot compare a run with a sweep: diff takes two runs or two sweeps (a run with "
                   "--seeds is a sweep of one point)\n")
    _, _, err = cli("diff", base, str(made["seq"][0]))
    assert err == "error: cannot compare runs of different domains (grid and seq)\n"


def test_diff_of_a_run_with_itself_shows_no_changes(saved):
    run_dir, record = saved[1]["base"]
    code, out, _ = cli("diff", str(run_dir), str(run_dir), "--json")
    assert code == 0
    d = json.loads(out)
    assert d["schema"] == "levinsearch.diff/1" and d["kind"] == "run" and d["split"] == "blue_doors"
    assert d["settings"] == [] and d["unmatched_points"] == []
    assert d["changed"] == dict(settings=0, headlines=0, behaviours=0, unmatched_points=0)
    assert d["behaviours"] == dict(changed=0, shown=[])
    assert all(not h["changed"] and h["delta"] in (0, None) for h in d["headlines"])
    assert d["headlines"][0] == dict(name="map_program", heading="MAP program", kind="text",
                                     a=record["summary"]["map_program"], b=record["summary"]["map_program"],
                                     delta=None, changed=False, a_interval=None, b_interval=None)
    code, out, _ = cli("diff", str(run_dir), str(run_dir))
    assert code == 0 and "settings: the same" in out and out.rstrip().endswith("no differences")


def test_diff_of_two_time_weights(saved):
    (dir_a, a), (dir_b, b) = saved[1]["base"], saved[1]["slow"]
    code, out, _ = cli("diff", str(dir_a), str(dir_b), "--json", "--top", "3")
    assert code == 0
    d = json.loads(out)
    assert d["settings"] == [dict(key="search.time_weight", a=0.0, b=1.0)]
    heads = {h["name"]: h for h in d["headlines"]}
    pa, pb = a["summary"]["map_posterior"], b["summary"]["map_posterior"]
    assert pa != pb
    assert (heads["map_posterior"]["a"], heads["map_posterior"]["b"]) == (pa, pb)
    assert heads["map_posterior"]["delta"] == pb - pa and heads["map_posterior"]["changed"]
    rob_a = a["summary"]["splits"]["blue_doors"]["classes"]["robust"]["mass"]
    rob_b = b["summary"]["splits"]["blue_doors"]["classes"]["robust"]["mass"]
    assert (heads["robust"]["a"], heads["robust"]["b"], heads["robust"]["delta"]) == (rob_a, rob_b, rob_b - rob_a)
    assert heads["fitting"]["delta"] == b["enumeration"]["fitting"] - a["enumeration"]["fitting"] == 0
    assert not heads["map_program"]["changed"]
    # (plan red) and (plan door) tie in both runs: the diff shows the tie beside the MAP
    assert (heads["map_tie"]["a"], heads["map_tie"]["b"], heads["map_tie"]["changed"]) == (2, 2, False)
    assert not any(name.startswith("whole_posterior.") for name in heads)  # neither has tail samples
    # the behaviours: same keys, every posterior changed; the three largest changes
    post_a = {x["key"]: x["posterior"] for x in a["behaviours"]}
    post_b = {x["key"]: x["posterior"] for x in b["behaviours"]}
    assert set(post_a) == set(post_b)
    want = sorted(((post_b[k] - post_a[k], k) for k in post_a if post_b[k] != post_a[k]),
                  key=lambda x: (-abs(x[0]), x[1]))
    assert d["behaviours"]["changed"] == len(want) == 4
    assert [(r["key"], r["change"], r["status"]) for r in d["behaviours"]["shown"]] == \
        [(k, c, "both") for c, k in want[:3]]
    code, out, _ = cli("diff", str(dir_a), str(dir_b))
    assert code == 0
    assert "search.time_weight" in out and "P(robust)" in out and "behaviours that gained or lost posterior" in out
    assert f"{100 * (pb - pa):+.1f} pp" in out


def test_diff_lists_behaviours_in_one_run_only(saved):
    (_, a), (_, b) = saved[1]["short"], saved[1]["base"]
    d = compare.diff(a, b, domains=domains)
    assert d["settings"] == [dict(key="search.max_bits", a=13.0, b=14.0)]
    only_b = {x["key"] for x in b["behaviours"]} - {x["key"] for x in a["behaviours"]}
    assert len(only_b) == 2
    rows = {r["key"]: r for r in d["behaviours"]["shown"]}
    for key in only_b:
        x = next(x for x in b["behaviours"] if x["key"] == key)
        assert rows[key] == dict(key=key, program=x["program"], a=None, b=x["posterior"], change=x["posterior"],
                                 status="only b")
    heads = {h["name"]: h for h in d["headlines"]}
    assert heads["behaviours"]["delta"] == 2 and heads["programs"]["delta"] == \
        b["enumeration"]["programs"] - a["enumeration"]["programs"]


def test_diff_keeps_whole_posterior_intervals_only_where_both_have_them(saved):
    (_, a), (_, b), (_, plain) = saved[1]["tail"], saved[1]["tail2"], saved[1]["base"]
    d = compare.diff(a, b, domains=domains)
    assert d["settings"] == [dict(key="search.tail_seed", a=0, b=1)]
    search = next(h for h in d["headlines"] if h["name"] == "whole_posterior.search")
    wa, wb = a["summary"]["whole_posterior"]["search"], b["summary"]["whole_posterior"]["search"]
    assert (search["a"], search["b"]) == (wa["estimate"], wb["estimate"])
    assert search["a_interval"] == [wa["low"], wa["high"]] and search["b_interval"] == [wb["low"], wb["high"]]
    one_sided = next(h for h in compare.diff(plain, b, domains=domains)["headlines"] if h["name"] == "whole_posterior.search")
    assert one_sided["a"] is None and one_sided["b"] == wb["estimate"]
    assert one_sided["a_interval"] is None and one_sided["b_interval"] is None and one_sided["changed"]


def test_diff_of_two_multi_seed_runs_has_seed_intervals_and_manifest_settings(saved):
    (dir_a, a), (dir_b, b) = saved[1]["seeds"], saved[1]["seeds_slow"]
    code, out, err = cli("diff", str(dir_a), str(dir_b), "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["kind"] == "sweep" and d["behaviours"] is None
    assert d["settings"] == [dict(key="search.time_weight", a=0.0, b=1.0)]  # from the manifests' configs
    fitting = next(h for h in d["headlines"] if h["name"] == "fitting")
    assert fitting["point"] == {}
    assert fitting["a_interval"] == a["points"][0]["intervals"]["fitting"]
    assert fitting["b_interval"] == b["points"][0]["intervals"]["fitting"]
    assert not any(h["name"].startswith("whole_") for h in d["headlines"])  # no tail samples in either
    code, out, _ = cli("diff", str(dir_a), str(dir_b))
    assert code == 0 and "95% interval" in out


def test_diff_of_sweeps_matches_points_by_setting(saved):
    sweep = saved[1]["sweep"][1]
    d = compare.diff(sweep, sweep, domains=domains)
    assert d["changed"] == dict(settings=0, headlines=0, behaviours=0, unmatched_points=0)
    assert {json.dumps(h["point"]) for h in d["headlines"]} == {'{"search.time_weight": 0}',
                                                                '{"search.time_weight": 1}'}
    other = json.loads(json.dumps(sweep))
    other["points"] = other["points"][1:]
    other["settings"][0]["values"] = [1]
    d = compare.diff(sweep, other, domains=domains)
    assert d["settings"] == [dict(key="sweep.search.time_weight", a=[0, 1], b=[1])]
    assert d["unmatched_points"] == [dict(point={"search.time_weight": 0}, only_in="a")]
    assert {json.dumps(h["point"]) for h in d["headlines"]} == {'{"search.time_weight": 1}'}
