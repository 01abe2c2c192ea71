"""Figures (the `plots` extra): run and sweep write SVG and PNG into the run directory,
`report RUN --figures` redraws them from the saved record, `show --plot` draws one
program's trajectory; the same record gives the same SVG bytes; every number drawn is
the record's; without matplotlib, one line says how to get figures and nothing else
changes."""
from __future__ import annotations

import contextlib
import io
import json
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from conftest import invoke, strip_timing  # noqa: E402
from dsl.errors import DslError  # noqa: E402
from levinsearch import domains, figures  # noqa: E402

SVG_NS = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GRID_ARGS = ("red-door", "--max-bits", "14", "--no-progress")
#: Four training grids: the seeds differ, so the intervals have width.
SEEDS_ARGS = ("red-door", "--max-bits", "14", "--train-envs", "4", "--seeds", "3", "--no-progress")
SWEEP_ARGS = ("red-door", "--set", "train_envs=2,4", "--set", "time_weight=0,1", "--seeds", "2", "--max-bits", "14",
              "--metric", "robust", "--no-progress")
SEQ_TOML = """
[experiment]
name = "seq-figures"
domain = "seq"
description = "t^2 + 1 from its first three terms"
[search]
max_bits = 24
[target]
program = "(add (mul t t) (const one))"
train = 3
deploy = 5
"""


def cli(*args) -> tuple[int, str, str]:
    """The command line in-process (usable from module-scoped fixtures): exit code, stdout, stderr."""
    from levinsearch.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def saved_run(root: Path, command: str, *args) -> tuple[Path, dict, str]:
    """Run `command ARGS` saved under a fresh `root`: (run directory, record, stderr)."""
    code, out, err = cli(command, *args, "--json", "--runs-dir", str(root))
    assert code == 0, err
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    return run_dir, json.loads(out), err


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    return saved_run(tmp_path_factory.mktemp("grid"), "run", *GRID_ARGS)


@pytest.fixture(scope="module")
def seq_run(tmp_path_factory):
    where = tmp_path_factory.mktemp("seq")
    (where / "seq.toml").write_text(SEQ_TOML)
    return saved_run(where / "runs", "run", str(where / "seq.toml"), "--no-progress")


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    return saved_run(tmp_path_factory.mktemp("sweep"), "sweep", *SWEEP_ARGS)


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    return saved_run(tmp_path_factory.mktemp("seeds"), "run", *SEEDS_ARGS)


def check_svg(path: Path, width_in: float | None = figures.WIDTH) -> None:
    """A well-formed SVG document of the page width, with something drawn in it."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    if width_in is not None:
        assert root.get("width") == f"{72 * width_in:g}pt"
    assert len(list(root.iter(f"{SVG_NS}path"))) > 20
    assert path.stat().st_size > 10_000


def check_png(path: Path, width_in: float | None = figures.WIDTH) -> None:
    """A PNG that decodes, of the page width at 150 dpi."""
    from matplotlib.image import imread
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    if width_in is not None:
        assert width == round(width_in * figures.PNG_DPI)
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width) and pixels.std() > 0.01  # not a blank page
    assert len(data) > 10_000


def figure_files(run_dir: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in sorted((run_dir / figures.FIGURES_DIR).iterdir()):
        out.setdefault(p.stem, set()).add(p.suffix)
    return out


def the_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def domain_of(record: dict):
    """The domain that draws a record's figures (the caller hands it to `figures`)."""
    return domains.get(record["domain"])


def drawn(record: dict, name: str):
    """The named figure of a record, drawn (not saved) in the figures' style."""
    with figures.style():
        return dict(figures.figures_of(record, domain_of(record)))[name]


# ------------------------------------------------------------------ run, sweep, report, show
def test_a_grid_run_writes_its_figures_and_says_where(grid_run):
    run_dir, record, err = grid_run
    assert figure_files(run_dir) == {name: {".svg", ".png"} for name in ("behaviours", "classes", "prior-mass")}
    line = the_line(err)
    assert line.startswith("figures: 3 (behaviours, classes, prior-mass)") and str(run_dir / "figures") in line
    for name in ("behaviours", "classes", "prior-mass"):
        check_svg(run_dir / "figures" / f"{name}.svg")
        check_png(run_dir / "figures" / f"{name}.png")
    assert "figures" not in record  # the record is the run's, not the figures'


def test_a_seq_run_writes_its_figures(seq_run):
    run_dir, record, err = seq_run
    assert record["domain"] == "seq"
    assert figure_files(run_dir) == {name: {".svg", ".png"} for name in ("behaviours", "online", "prior-mass")}
    assert the_line(err).startswith("figures: 3 (behaviours, online, prior-mass)")
    for name in ("behaviours", "online", "prior-mass"):
        check_svg(run_dir / "figures" / f"{name}.svg")
        check_png(run_dir / "figures" / f"{name}.png")


def test_a_sweep_with_seeds_writes_curves_and_a_multi_seed_run_its_summary(sweep_run, seeds_run):
    run_dir, record, err = sweep_run
    assert record["seeds"] == 2 and len(record["points"]) == 4
    assert figure_files(run_dir) == {name: {".svg", ".png"}
                                     for name in ("sweep-robust", "sweep-metrics", "sweep-distances")}
    assert the_line(err).startswith("figures: 3 (sweep-distances, sweep-metrics, sweep-robust)")
    check_svg(run_dir / "figures" / "sweep-robust.svg", 5.0)
    check_png(run_dir / "figures" / "sweep-robust.png", 5.0)
    check_svg(run_dir / "figures" / "sweep-metrics.svg")
    run_dir, record, err = seeds_run
    assert record["seeds"] == 3 and record["settings"] == []
    assert figure_files(run_dir) == {"seeds": {".svg", ".png"}}
    assert the_line(err).startswith("figures: 1 (seeds)")
    check_svg(run_dir / "figures" / "seeds.svg")
    check_png(run_dir / "figures" / "seeds.png")


def test_the_same_record_gives_the_same_svg_bytes(grid_run, seq_run, sweep_run):
    import matplotlib
    for run_dir, record, _ in (grid_run, seq_run, sweep_run):
        saved = json.loads((run_dir / "record.json").read_text())
        first = dict(figures.render(saved, formats=("svg",), domain=domain_of(saved)))
        # A user's own settings do not leak into the figures, and come back afterwards.
        with matplotlib.rc_context({"lines.linewidth": 7.0, "font.size": 20.0, "svg.hashsalt": None}):
            second = dict(figures.render(saved, formats=("svg",), domain=domain_of(saved)))
            assert matplotlib.rcParams["font.size"] == 20.0
        assert first.keys() == second.keys() and len(first) == 3
        for name in first:
            assert first[name]["svg"] == second[name]["svg"], name
            # and the files the run wrote (from the record in memory) are those bytes
            assert (run_dir / "figures" / f"{name}.svg").read_bytes() == first[name]["svg"], name
        assert b"<dc:date>" not in first[next(iter(first))]["svg"]


def test_report_figures_redraws_from_the_saved_record_alone(grid_run, sweep_run, monkeypatch):
    from levinsearch import pipeline, runs

    def no_recomputing(*args, **kwargs):
        raise AssertionError("report --figures recomputed something")

    monkeypatch.setattr(pipeline, "prepare", no_recomputing)
    monkeypatch.setattr(runs, "execute", no_recomputing)
    for run_dir, _, _ in (grid_run, sweep_run):
        before = {p.name: p.read_bytes() for p in (run_dir / "figures").iterdir()}
        for p in (run_dir / "figures").iterdir():
            p.unlink()
        code, out, err = cli("report", str(run_dir), "--figures")
        assert code == 0, err
        assert the_line(err).startswith("figures: 3 (")
        assert {p.name: p.read_bytes() for p in (run_dir / "figures").iterdir()} == before
        code, plain, _ = cli("report", str(run_dir))
        assert out == plain  # the report itself is the same


def test_show_plot_draws_the_trajectory(tmp_path, capsys):
    grid = tmp_path / "g.txt"
    grid.write_text("#######\n#@..D.#\n#.b...#\n#######\n\nD = blue door\nb = red box\n")
    out_svg = tmp_path / "trajectory.svg"
    code, out, err = invoke(capsys, "show", "(plan door)", "--grid", str(grid), "--plot", str(out_svg), "--json")
    assert code == 0, err
    record = json.loads(out)  # --json still prints the record alone on stdout
    assert the_line(err) == f"figure: {out_svg}"
    check_svg(out_svg, None)
    fig = drawn_show(record)
    path_line = next(line for line in fig.axes[0].lines if len(line.get_xdata()) == len(record["path"]))
    assert [[r, c] for c, r in zip(path_line.get_xdata(), path_line.get_ydata())] == record["path"]
    out_png = tmp_path / "split.png"
    code, _, err = invoke(capsys, "show", "(plan door)", "--experiment", "red-door", "--env", "blue_doors:3",
                          "--plot", str(out_png))
    assert code == 0 and out_png.read_bytes()[:8] == PNG_SIGNATURE, err
    check_png(out_png, None)
    out_pdf = tmp_path / "t.pdf"
    code, out, err = invoke(capsys, "show", "(plan door)", "--grid", str(grid), "--plot", str(out_pdf))
    assert code == 0 and out_pdf.read_bytes()[:5] == b"%PDF-", err
    code, out, err = invoke(capsys, "show", "(plan door)", "--grid", str(grid), "--plot", str(tmp_path / "x.gif"))
    assert code == 2 and out == "" and the_line(err).startswith("error: --plot writes .svg, .png or .pdf")


def drawn_show(record: dict):
    from levinsearch import domains
    with figures.style():
        return domains.get(domains.DEFAULT).figures(record)[0][1]


def test_seq_show_plot(tmp_path, capsys):
    (tmp_path / "s.toml").write_text(SEQ_TOML)
    out_svg = tmp_path / "p.svg"
    code, _, err = invoke(capsys, "show", "(mul t t)", "--experiment", str(tmp_path / "s.toml"), "--plot",
                          str(out_svg))
    assert code == 0 and the_line(err) == f"figure: {out_svg}"
    check_svg(out_svg, None)


# ------------------------------------------------------------------ what is drawn is the record's
def bars(ax):
    return [p for p in ax.patches if type(p).__name__ == "Rectangle" and p.get_facecolor()[3] > 0]


def test_grid_figures_draw_the_records_numbers(grid_run):
    _, record, _ = grid_run
    fig = drawn(record, "behaviours")
    ax = fig.axes[0]
    shown = sorted(record["behaviours"], key=lambda b: -b["posterior"])[: figures.MAX_BARS]
    widths = [p.get_width() for p in bars(ax)]
    assert widths == pytest.approx([b["posterior"] for b in shown])
    assert [t.get_text() for t in ax.get_yticklabels()] == [figures.short(b["program"]) for b in shown]
    ranges = [x for line in ax.lines if line.get_linestyle() == "-" for x in line.get_xdata()]
    assert ranges == pytest.approx([x for b in shown if b["posterior_range"] for x in b["posterior_range"]])
    assert len(ranges) == 2 * len(shown)
    fig = drawn(record, "classes")
    left = fig.axes[0]
    split = next(iter(record["summary"]["splits"].values()))
    # the first row of the stacked bars: the class masses of all fitting programs on the first split
    top = max(p.get_y() for p in bars(left))
    row = [p.get_width() for p in bars(left) if p.get_y() == top]
    assert row == pytest.approx([split["classes"][c]["mass"] for c in figures.CLASS_COLOURS])


def test_prior_mass_figure_draws_the_enumeration(grid_run):
    _, record, _ = grid_run
    e = record["enumeration"]
    fig = drawn(record, "prior-mass")
    left = fig.axes[0]
    fitting = [row for row in e["per_length"] if row["fitting"]]
    dots = next(line for line in left.lines if line.get_marker() == "o")
    assert list(dots.get_xdata()) == [row["bits"] for row in fitting]
    assert list(dots.get_ydata()) == pytest.approx([row["fitting"] * 2.0 ** -row["bits"] for row in fitting])
    hatched = [p for p in left.patches if p.get_hatch()]
    assert [p.get_height() for p in hatched] == pytest.approx([e["unenumerated_mass"]])
    kept = next(line for line in left.lines if line.get_marker() == "x")
    assert sum(kept.get_ydata()) == pytest.approx(sum(h["posterior"] for h in record["hypotheses"])
                                                  * e["fitting_mass"])


def test_sweep_curves_have_the_records_means_and_intervals(sweep_run):
    _, record, _ = sweep_run
    metric = record["metric"]
    fig = drawn(record, f"sweep-{metric}")
    ax = fig.axes[0]
    # one line per value of the second setting, along the first (train_envs = 2, 4)
    assert [c.get_label() for c in ax.containers] == ["time_weight=0", "time_weight=1"]
    for k, container in enumerate(ax.containers):
        points = [p for p in record["points"] if p["setting"]["search.time_weight"] == k]
        data_line, _, (bars_,) = container.lines
        assert list(data_line.get_ydata()) == pytest.approx([p["metrics"][metric] for p in points])
        assert [round(x) for x in data_line.get_xdata()] == [2, 4]
        spans = [y for seg in bars_.get_segments() for y in seg[:, 1]]
        assert spans == pytest.approx([y for p in points for y in p["intervals"][metric]])
    assert any(p["intervals"][metric][1] > p["intervals"][metric][0] for p in record["points"])
    seeds = [line for line in ax.lines if line.get_marker() == "."]
    assert sorted(y for line in seeds for y in line.get_ydata()) == pytest.approx(
        sorted(v for p in record["points"] for v in p["per_seed"][metric]))


def test_seeds_figure_has_each_means_interval(seeds_run):
    _, record, _ = seeds_run
    p = record["points"][0]
    fig = drawn(record, "seeds")
    left = fig.axes[0]
    shares = [n for n in record["metric_headings"] if n != "fitting" and p["metrics"][n] is not None]
    means = [c.lines[0].get_xdata()[0] for c in left.containers]
    assert means == pytest.approx([p["metrics"][n] for n in shares])
    spans = [x for c in left.containers for x in c.lines[2][0].get_segments()[0][:, 0]]
    assert spans == pytest.approx([x for n in shares for x in p["intervals"][n]])
    assert any(high > low for low, high in (p["intervals"][n] for n in shares))  # the seeds differ


def test_seq_online_figure_draws_the_recorded_errors(seq_run):
    _, record, _ = seq_run
    online = record["summary"]["online"]["prediction"]
    fig = drawn(record, "online")
    left = fig.axes[0]
    by_label = {line.get_label(): list(line.get_ydata()) for line in left.lines}
    for label in ("map", "mixture", "shortest"):
        if any(n > 1 for n in online.get(f"{label}_tie", [])):  # a tie: the errors expected over it
            expected = [sum(online[f"{label}_tie_wrong"][: j + 1]) for j in range(len(online["target"]))]
            assert by_label[f"{label} tie (online, expected)"] == pytest.approx(expected)
        else:
            assert by_label[f"{label} (online)"] == online[f"{label}_errors"]
    assert by_label["mixture (frozen)"][-1] == sum(not ok for ok in record["summary"]["prediction"]["mixture_correct"])


# ------------------------------------------------------------------ without matplotlib
@pytest.fixture
def no_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    assert not figures.available()


def same_text(text: str, run_dir: Path) -> str:
    return text.replace(str(run_dir), "RUN")


@pytest.mark.parametrize("which", ["run", "sweep"])
def test_without_matplotlib_one_line_and_nothing_else_changes(which, grid_run, sweep_run, tmp_path_factory,
                                                              no_matplotlib):
    run_dir, record, _ = grid_run if which == "run" else sweep_run
    args = GRID_ARGS if which == "run" else SWEEP_ARGS
    # a root of the same length as the run with figures (grid1 beside grid0): the reports wrap alike
    bare_dir, bare, err = saved_run(tmp_path_factory.mktemp("grid" if which == "run" else "sweep"), which, *args)
    assert len(str(bare_dir)) == len(str(run_dir))
    line = the_line(err)
    assert "levinsearch[plots]" in line and "pip install" in line
    assert not (bare_dir / "figures").exists()
    if which == "run":
        assert strip_timing(bare) == strip_timing(record)
    else:
        drop = ("run", "points", "provenance")  # provenance: its time and command differ
        assert {k: v for k, v in bare.items() if k not in drop} == {k: v for k, v in record.items() if k not in drop}
        assert [{k: v for k, v in p.items() if k != "seconds"} for p in bare["points"]] == \
               [{k: v for k, v in p.items() if k != "seconds"} for p in record["points"]]
    # the saved report (minus the run's path and timings) is the one a run with figures saved
    with_figures = same_text((run_dir / "report.txt").read_text(), run_dir)
    without = same_text((bare_dir / "report.txt").read_text(), bare_dir)
    strip = lambda text: "\n".join(line for line in text.splitlines()  # noqa: E731
                                    if " s)" not in line and " s;" not in line)
    assert strip(without) == strip(with_figures)


def test_without_matplotlib_asking_for_a_figure_is_one_error_line(grid_run, tmp_path, capsys, no_matplotlib):
    run_dir, _, _ = grid_run
    code, out, err = invoke(capsys, "report", str(run_dir), "--figures")
    assert code == 2 and out == ""
    assert the_line(err) == "error: matplotlib is needed for figures: pip install 'levinsearch[plots]'"
    code, out, err = invoke(capsys, "show", "(plan door)", "--experiment", "red-door", "--env", "blue_doors:0",
                            "--plot", str(tmp_path / "t.svg"))
    assert code == 2 and the_line(err).startswith("error: matplotlib is needed for --plot")
    assert not (tmp_path / "t.svg").exists()
    with pytest.raises(figures.FiguresUnavailable):
        figures.render(json.loads((run_dir / "record.json").read_text()))


def test_the_caller_hands_figures_the_domain_that_draws_a_run(grid_run, sweep_run):
    # figures never looks a domain up: a run record needs its domain from the caller, a sweep none.
    _, record, _ = grid_run
    with pytest.raises(DslError, match=r"^the figures of a run or show record are drawn by its domain; none was given$"):
        figures.figures_of(record)
    with figures.style():
        assert [name for name, _ in figures.figures_of(record, domain_of(record))] == \
            ["behaviours", "classes", "prior-mass"]
        assert [name for name, _ in figures.figures_of(sweep_run[1])][0] == "sweep-robust"


def test_an_interrupted_run_stops_at_once_and_says_how_to_draw_later(grid_run, tmp_path):
    _, record, _ = grid_run
    line = figures.draw_saved(record, tmp_path, interrupted=True, domain=domain_of(record))
    assert line.startswith("figures: not drawn for an interrupted run") and f"report {tmp_path} --figures" in line
    assert not (tmp_path / "figures").exists()
    line = figures.draw_saved(record, tmp_path, domain=domain_of(record))
    assert line.startswith("figures: 3 (behaviours, classes, prior-mass)")
    assert (tmp_path / "figures" / "classes.svg").is_file()


def test_a_figure_that_cannot_be_written_is_one_line_not_a_failure(grid_run, tmp_path):
    _, record, _ = grid_run
    (tmp_path / "figures").write_text("a file where the directory would go")
    line = figures.draw_saved(record, tmp_path, domain=domain_of(record))
    assert line.startswith("figures: not drawn (cannot create") and "\n" not in line


# ------------------------------------------------------------------ share axes, formats, dpi, mathtext
def close_shares(record: dict) -> dict:
    """The sweep record with its metric moved to 49.43% .. 49.80% (a small change) at every point."""
    record = json.loads(json.dumps(record))
    metric = record["metric"]
    for k, p in enumerate(record["points"]):
        value = 0.4943 + 0.0037 * k / (len(record["points"]) - 1)
        p["metrics"][metric] = value
        p["intervals"][metric] = [value - 0.0005, value + 0.0005]
        p["per_seed"][metric] = [value - 0.0003, value + 0.0003]
    return record


def test_share_axes_run_from_0_to_100_percent_unless_auto(sweep_run, seeds_run, grid_run):
    _, record, _ = sweep_run
    record = close_shares(record)
    name = f"sweep-{record['metric']}"
    ax = drawn(record, name).axes[0]
    assert ax.get_ylim() == figures.FULL_SHARE == (-0.02, 1.02)
    assert [t.get_text() for t in ax.get_yticklabels()][1:-1] == ["0%", "20%", "40%", "60%", "80%", "100%"]
    with figures.options(share_axis="auto"):
        ax = drawn(record, name).axes[0]
    low, high = ax.get_ylim()
    assert 0.49 < low < 0.4938 and 0.4985 < high < 0.50  # the data and its bars, with matplotlib's margins
    assert figures.current().share_axis == "full"  # the option holds only inside `options`
    # Every share axis: the metrics grid, a multi-seed run's summary, the cumulative prior mass.
    fig = drawn(record, "sweep-metrics")
    shares = [a for a in fig.axes if a.get_visible() and a.lines and
              a.get_title(loc="left") != record["metric_headings"]["fitting"]]
    assert shares and all(a.get_ylim() == figures.FULL_SHARE for a in shares)
    assert drawn(seeds_run[1], "seeds").axes[0].get_xlim() == figures.FULL_SHARE
    assert drawn(grid_run[1], "prior-mass").axes[1].get_ylim() == figures.FULL_SHARE


def test_the_terminal_plot_has_a_full_share_axis_unless_auto(sweep_run):
    from levinsearch import report
    _, record, _ = sweep_run
    record = close_shares(record)
    from rich.text import Text
    keys = [s["key"] for s in record["settings"]]

    def plain(plot) -> str:
        return Text.from_ansi(plot.draw(report.PLOT_WIDTH)).plain

    full = plain(report._sweep_plot(record, keys))
    auto = plain(report._sweep_plot(record, keys, share_axis="auto"))
    with figures.options(share_axis="auto"):
        assert plain(report._sweep_plot(record, keys)) == auto
    assert " 0%" in full and " 50%" in full and "49.4" not in full  # from 0 to 100%: a flat line near 50%
    assert " 0%" not in auto and "49." in auto  # fitted to the data


def png_dpi(data: bytes) -> float:
    """The dots per inch a PNG's pHYs chunk records (pixels per metre)."""
    at = data.index(b"pHYs")
    per_metre, _, unit = struct.unpack(">IIB", data[at + 4: at + 13])
    assert unit == 1  # metres
    return per_metre * 0.0254


def test_pdf_and_png_are_written_at_the_requested_dpi(grid_run, tmp_path):
    import shutil
    run_dir = tmp_path / grid_run[0].name
    shutil.copytree(grid_run[0], run_dir)
    shutil.rmtree(run_dir / "figures")
    code, out, err = cli("report", str(run_dir), "--figures", "--figure-format", "pdf", "--figure-format", "png",
                         "--dpi", "200")
    assert code == 0, err
    assert the_line(err).startswith("figures: 3 (behaviours, classes, prior-mass) as PNG and PDF in ")
    assert figure_files(run_dir) == {name: {".pdf", ".png"} for name in ("behaviours", "classes", "prior-mass")}
    png = (run_dir / "figures" / "prior-mass.png").read_bytes()
    width, height = struct.unpack(">II", png[16:24])
    assert width == round(figures.WIDTH * 200) and round(png_dpi(png)) == 200
    try:
        from PIL import Image
    except ImportError:
        pass
    else:
        with Image.open(run_dir / "figures" / "prior-mass.png") as image:
            assert image.size == (width, height) and [round(d) for d in image.info["dpi"]] == [200, 200]
    pdf = (run_dir / "figures" / "prior-mass.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert f"/MediaBox [ 0 0 {72 * figures.WIDTH:g} ".encode() in pdf  # the page width, in points
    assert b"/CreationDate" not in pdf
    grid_domain = domain_of(grid_run[1])
    again = dict(figures.render(grid_run[1], formats=("pdf",), domain=grid_domain))["prior-mass"]["pdf"]
    assert dict(figures.render(grid_run[1], formats=("pdf",), domain=grid_domain))["prior-mass"]["pdf"] == again  # deterministic
    # the default stays SVG and PNG at 150 dpi
    assert figures.Options() == figures.Options(formats=("svg", "png"), dpi=150, share_axis="full")
    check_png(grid_run[0] / "figures" / "prior-mass.png")
    assert round(png_dpi((grid_run[0] / "figures" / "prior-mass.png").read_bytes())) == 150


@pytest.mark.parametrize("args, message", [
    (("--figure-format", "gif"), "Invalid value for '--figure-format': 'gif' is not one of 'svg', 'png', 'pdf'"),
    (("--dpi", "5"), "Invalid value for '--dpi': 5 is not in the range 20<=x<=2400"),
    (("--dpi", "many"), "Invalid value for '--dpi'"),
    (("--share-axis", "half"), "Invalid value for '--share-axis': 'half' is not one of 'full', 'auto'"),
])
def test_a_bad_figure_option_is_one_error_line(grid_run, args, message):
    code, out, err = cli("report", str(grid_run[0]), "--figures", *args)
    assert code == 2 and out == "" and the_line(err).startswith(f"error: {message}")
    with pytest.raises(DslError, match="unknown figure format 'gif'"):
        figures.Options(formats=("gif",))
    with pytest.raises(DslError, match="dpi must be a whole number"):
        figures.Options(dpi=0)


def test_mathematical_labels_are_mathtext_and_user_text_is_not(grid_run):
    _, record, _ = grid_run
    fig = drawn(record, "prior-mass")
    legend = fig.axes[0].get_legend()
    texts = {t.get_text(): t for t in legend.get_texts()}
    assert texts["all programs judged (count × $2^{-\\mathrm{bits}}$)"].get_parse_math()
    assert texts["fitting programs (count × $2^{-\\mathrm{bits}}$)"].get_parse_math()
    kept = next(t for text, t in texts.items() if text.startswith("kept programs"))
    assert kept.get_text().endswith("$2^{-\\mathrm{score}}$") and kept.get_parse_math()
    assert not any("^" in t.get_text() and "$" not in t.get_text() for t in legend.get_texts())  # none literal
    assert not fig._suptitle.get_parse_math()  # the experiment's name: shown as written
    # mathtext draws a superscript: the label is not its dollar-sign source
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    with figures.style():
        FigureCanvasAgg(fig).draw()
        label = texts["fitting programs (count × $2^{-\\mathrm{bits}}$)"]
        plain = fig.text(0, 0, label.get_text(), fontsize=label.get_fontsize())
        math_width = label.get_window_extent().width
        assert math_width < plain.get_window_extent(renderer=fig.canvas.get_renderer()).width
