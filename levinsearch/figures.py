"""Figures for papers: SVG, PNG and PDF drawn from records, behind the `plots` extra.

Like `report`, figures are rendering: every number drawn is read from a record (run,
sweep or show), or is a display transform of recorded numbers (a count of programs of
one length times 2⁻ᵇⁱᵗˢ, a cumulative sum, a product of a share and a mass). Nothing is
recomputed from programs, so `levinsearch report RUN --figures` redraws a saved run's
figures from its record.json alone.

matplotlib is imported lazily, inside functions: without it, `available()` is False and
`render`/`write` raise `FiguresUnavailable` (a `DslError`, so the command line prints
one line, not a traceback). No pyplot: each figure is a bare `matplotlib.figure.Figure`
(PNG through the Agg canvas, SVG through the SVG canvas), so nothing global changes and
nothing leaks. Output is deterministic: the style starts from matplotlib's defaults (a
user's matplotlibrc does not apply), with fixed sizes and the bundled DejaVu fonts, text
as paths, `svg.hashsalt` set and the date left out, so the same record gives the same
SVG bytes.

How figures are written is an `Options` (formats, dpi of PNG files, and whether share
axes run from 0 to 100% or fit the data), set for the duration of drawing with
`options(...)`; `run`, `sweep`, `report --figures` and `show --plot` take it from
--figure-format, --dpi and --share-axis. Mathematical labels (2⁻ᵇⁱᵗˢ) are mathtext in
figures, turned on per label (`mathtext`): user text (names, programs) is never parsed.

Which figures a run gets is its domain's choice (`Domain.figures(record)`; the default
is the generic ones here, `run_figures`); sweeps and multi-seed runs get `sweep_figures`.
See docs/figures.md for what each figure shows.
"""
from __future__ import annotations

import io
import math
import os
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Sequence

from dsl.errors import DslError
from levinsearch.files import make_directory, write_atomic
from levinsearch.render import printable

INSTALL = "pip install 'levinsearch[plots]'"
#: Where a run's figures go, inside its run directory.
FIGURES_DIR = "figures"
#: Formats a figure can be written in, and those written unless --figure-format says.
FORMATS = ("svg", "png", "pdf")
DEFAULT_FORMATS = ("svg", "png")
#: Resolution of PNG files unless --dpi says (SVG and PDF are vector formats).
PNG_DPI = 150
MIN_DPI, MAX_DPI = 20, 2400
#: full: a share axis (posterior shares, probabilities) runs from 0 to 100%, so that a
#: change of 0.4 points looks like one; auto: it fits the data (small changes made visible).
SHARE_AXES = ("full", "auto")
#: The limits of a full share axis: 0 to 100%, with a margin so marks at the ends show whole.
FULL_SHARE = (-0.02, 1.02)
#: The page width of a figure in inches (a two-column figure in most journals).
WIDTH = 7.0
#: Longest program text shown as a label (longer ones end in an ellipsis).
LABEL_CHARS = 46
#: Most bars a behaviour figure shows (the heaviest ones).
MAX_BARS = 15

#: The style every figure is drawn in, on top of matplotlib's defaults.
STYLE = {
    "text.parse_math": False,  # user text (names, programs) may hold "$": shown as written
    "font.family": "DejaVu Sans",
    "font.monospace": ["DejaVu Sans Mono"],
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.0,
    "legend.fontsize": 7.0,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.0,
    "figure.dpi": 100,
    "savefig.dpi": PNG_DPI,
    "svg.fonttype": "path",
    "svg.hashsalt": "levinsearch",
    "path.simplify": False,
    "image.interpolation": "nearest",
}

#: Colours (colour-blind-safe where it matters: Okabe-Ito).
CLASS_COLOURS = {"robust": "#009E73", "pseudo": "#D55E00", "capability_failure": "#E69F00", "mixed": "#999999"}
CLASS_LABELS = {"robust": "robust", "pseudo": "pseudo-aligned", "capability_failure": "capability failure",
                "mixed": "mixed"}
OUTCOME_COLOURS = {"base": "#009E73", "proxy": "#D55E00", "other": "#E69F00", "none": "#BBBBBB"}
SERIES = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
GREY = "#777777"


@dataclass(frozen=True)
class Options:
    """How figures are written: the file formats, the dpi of PNG files, and the share
    axes ("full": 0 to 100%; "auto": the data's range)."""

    formats: tuple[str, ...] = DEFAULT_FORMATS
    dpi: int = PNG_DPI
    share_axis: str = "full"

    def __post_init__(self):
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise DslError(f"unknown figure format {(unknown or [''])[0]!r} (known: {', '.join(FORMATS)})")
        if isinstance(self.dpi, bool) or not isinstance(self.dpi, int) or not MIN_DPI <= self.dpi <= MAX_DPI:
            raise DslError(f"dpi must be a whole number in [{MIN_DPI}, {MAX_DPI}], got {self.dpi!r}")
        if self.share_axis not in SHARE_AXES:
            raise DslError(f"share axis must be one of {', '.join(SHARE_AXES)}, got {self.share_axis!r}")


_OPTIONS: ContextVar[Options] = ContextVar("figure_options", default=Options())


def current() -> Options:
    """The options figures are being drawn with (`options`; the defaults outside)."""
    return _OPTIONS.get()


@contextmanager
def options(opts: Options | None = None, **changes) -> Iterator[Options]:
    """Draw with `opts` (default: the current ones) changed by `changes`, for the duration."""
    chosen = replace(opts or current(), **changes)
    token = _OPTIONS.set(chosen)
    try:
        yield chosen
    finally:
        _OPTIONS.reset(token)


class FiguresUnavailable(DslError):
    """matplotlib (the `plots` extra) is not installed."""

    def __init__(self, what: str = "figures"):
        super().__init__(f"matplotlib is needed for {what}: {INSTALL}")


def available() -> bool:
    """Whether matplotlib (the `plots` extra) can be imported."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends import backend_agg, backend_svg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        return False
    return True


def unavailable_line() -> str:
    """The one line run and sweep print when matplotlib is missing."""
    return f"figures: not drawn (matplotlib is missing); {INSTALL} to get SVG and PNG figures in the run directory"


@contextmanager
def style() -> Iterator[None]:
    """matplotlib's defaults plus STYLE, for the duration; the caller's settings come back after."""
    import matplotlib
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        yield


def new_figure(height: float, width: float = WIDTH):
    """An empty figure (no pyplot) of the given size in inches, with constrained layout."""
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout="constrained")


def encode(fig, fmt: str, dpi: int | None = None) -> bytes:
    """The figure as SVG, PNG or PDF bytes (deterministic: no date, no software stamp in
    PNG, no creation date in PDF); `dpi` (PNG: its pixels per inch; default the current
    options') is recorded in a PNG's pHYs chunk."""
    buffer = io.BytesIO()
    dpi = current().dpi if dpi is None else dpi
    if fmt == "svg":
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        FigureCanvasSVG(fig)
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    elif fmt == "png":
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    elif fmt == "pdf":
        from matplotlib.backends.backend_pdf import FigureCanvasPdf
        FigureCanvasPdf(fig)
        fig.savefig(buffer, format="pdf", dpi=dpi, metadata={"CreationDate": None, "Producer": None,
                                                             "Creator": None})
    else:
        raise DslError(f"unknown figure format {fmt!r} (known: {', '.join(FORMATS)})")
    return buffer.getvalue()


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (levinsearch.files)."""
    write_atomic(path, data)


# ------------------------------------------------------------------ entry points
def figures_of(record: dict[str, Any], domain=None) -> list[tuple[str, Any]]:
    """Every figure of a record, as (name, matplotlib Figure) pairs, for a notebook or
    a script that saves them its own way.

    `record`: a run record (its domain draws `prior-mass` and, with tail samples,
    `whole-posterior`, plus its own, e.g. grid `behaviours`), a sweep or multi-seed run
    record (`sweep-METRIC`, `sweep-metrics`, `sweep-distances`; `seeds`), or a show
    record. `domain`: the domain that draws a run or show record's figures (from the
    registry: `levinsearch.domains.get(record["domain"])`; this module never looks it
    up); a sweep record needs none. Computes nothing: every number is read from the
    record. Call it inside `style()` (the figures' fonts and sizes) and, to change share
    axes, inside `options(share_axis="auto")`; DslError when a run or show record comes
    without its domain. Example:

        with figures.style():
            for name, fig in figures.figures_of(record, domains.get(record["domain"])):
                fig.savefig(f"{name}.pdf")

    (`fig.savefig` needs a canvas: `encode(fig, "pdf")` gives the bytes without one.)"""
    from levinsearch import sweeps
    if record.get("schema") == sweeps.SCHEMA:
        return sweep_figures(record)
    if domain is None:
        raise DslError("the figures of a run or show record are drawn by its domain; none was given")
    return domain.figures(record)


def render(record: dict[str, Any], formats: Sequence[str] | None = None,
           opts: Options | None = None, domain=None) -> list[tuple[str, dict[str, bytes]]]:
    """(name, {format: bytes}) for every figure of a record (drawn by `domain`, as in
    `figures_of`), in `formats` (default the options'); FiguresUnavailable without
    matplotlib."""
    if not available():
        raise FiguresUnavailable()
    out = []
    with options(opts) as chosen, style():
        for name, fig in figures_of(printable(record), domain):
            out.append((name, {fmt: encode(fig, fmt) for fmt in (formats or chosen.formats)}))
    return out


def write(record: dict[str, Any], directory: Path, opts: Options | None = None, domain=None) -> list[Path]:
    """Draw a record's figures (by `domain`, as in `figures_of`) into `directory` as
    NAME.svg and NAME.png (or the formats of `opts`), each file written atomically; the
    paths written. FiguresUnavailable without matplotlib."""
    rendered = render(record, opts=opts, domain=domain)
    directory = make_directory(directory)
    paths = []
    for name, files in rendered:
        for fmt, data in files.items():
            path = directory / f"{name}.{fmt}"
            write_bytes(path, data)
            paths.append(path)
    return paths


def write_run_figures(record: dict[str, Any], run_dir: Path, opts: Options | None = None,
                      domain=None) -> list[Path]:
    """A saved run's (or sweep's) figures, drawn by `domain`, into RUN/figures/."""
    return write(record, Path(run_dir) / FIGURES_DIR, opts, domain)


def draw_saved(record: dict[str, Any], run_dir: Path, interrupted: bool = False, opts: Options | None = None,
               domain=None) -> str:
    """What `run` and `sweep` do after saving: draw the figures (by `domain`) into RUN/figures/ and
    return the one line saying where they went, or why there are none (matplotlib
    missing; an interrupted run, which stops at once: drawing takes seconds). The record
    is saved already, so a figure that cannot be drawn is a line, not an error
    (LEVINSEARCH_DEBUG=1 raises a bug's traceback)."""
    if interrupted:
        return f"figures: not drawn for an interrupted run (levinsearch report {run_dir} --figures draws them)"
    if not available():
        return unavailable_line()
    try:
        paths = write_run_figures(record, run_dir, opts, domain)
    except DslError as exc:
        return f"figures: not drawn ({exc})"
    except Exception as exc:  # a bug in a figure must not lose a finished run
        if os.environ.get("LEVINSEARCH_DEBUG"):
            raise
        return f"figures: not drawn (internal error: {type(exc).__name__}: {exc}; please report it)"
    return written_line(paths, Path(run_dir) / FIGURES_DIR)


def written_line(paths: list[Path], directory: Path) -> str:
    """The one line saying where the figures went."""
    names = sorted({p.stem for p in paths})
    kinds = [f.upper() for f in FORMATS if any(p.suffix == f".{f}" for p in paths)]
    kinds_text = " and ".join([", ".join(kinds[:-1]), kinds[-1]] if len(kinds) > 1 else kinds) or "files"
    return f"figures: {len(names)} ({', '.join(names)}) as {kinds_text} in {directory}/"


def save_single(record: dict[str, Any], path: Path, domain=None, what: str = "--plot",
                opts: Options | None = None) -> Path:
    """The first figure of a record (e.g. a show record's trajectory, drawn by `domain`)
    into `path`, as SVG, PNG or PDF by its suffix."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise DslError(f"{what} writes .svg, .png or .pdf files, not {path.name!r}")
    if not available():
        raise FiguresUnavailable(what)
    with options(opts), style():
        figs = figures_of(record, domain)
        if not figs:
            raise DslError(f"{what}: there is no figure for this record")
        data = encode(figs[0][1], fmt)
    write_bytes(path, data)
    return path


# ------------------------------------------------------------------ helpers for every figure
def short(text: str | None, n: int = LABEL_CHARS) -> str:
    """Program text cut to n characters (an ellipsis marks the cut)."""
    text = "—" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def percent_axis(ax, axis: str = "x", decimals: int | None = 0) -> None:
    """Show a share (a [0, 1] axis) as percentages (decimals None: as many as the ticks need)."""
    from matplotlib.ticker import PercentFormatter
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def share_axis(ax, axis: str = "y", percent: bool = True) -> None:
    """Limits of a share axis (posterior shares, probabilities): 0 to 100% (FULL_SHARE)
    under share_axis "full", the default; under "auto" the data's range (matplotlib's
    autoscale, so call it after drawing), never beyond 0 to 100%. `percent`: label the
    ticks as percentages (whole ones on a full axis)."""
    get, set_ = (ax.get_xlim, ax.set_xlim) if axis == "x" else (ax.get_ylim, ax.set_ylim)
    full = current().share_axis == "full"
    if full:
        set_(*FULL_SHARE)
    else:
        low, high = get()
        set_(max(low, FULL_SHARE[0]), min(high, FULL_SHARE[1]))
    if percent:
        percent_axis(ax, axis, decimals=0 if full else None)


def mathtext(*texts) -> None:
    """Turn mathtext on for these Text objects (or a Legend's texts): the style keeps it
    off, so that user text holding "$" is shown as written."""
    for item in texts:
        for text in (item.get_texts() if hasattr(item, "get_texts") else [item]):
            text.set_parse_math(True)


#: Mathematical labels, as mathtext (shown only where `mathtext` turns it on).
TWO_TO_MINUS_BITS = r"$2^{-\mathrm{bits}}$"
TWO_TO_MINUS_SCORE = r"$2^{-\mathrm{score}}$"

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_axis(ax, axis: str = "y") -> None:
    """Label a log axis 10⁻³ in plain text (no mathtext: faster, and the same glyphs everywhere)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    def label(value, _):
        if value <= 0:
            return ""
        exponent = math.log10(value)
        return f"10{str(round(exponent)).translate(_SUPERSCRIPT)}" if abs(exponent - round(exponent)) < 1e-9 else ""

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10.0))
    target.set_major_formatter(FuncFormatter(label))
    target.set_minor_formatter(FuncFormatter(lambda value, _: ""))


def no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _setting_text(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]" if value else "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fmt_mass(x: float) -> str:
    return f"{x:.3g}" if x >= 1e-3 or x == 0 else f"{x:.2e}"


# ------------------------------------------------------------------ run records: what every domain gets
def run_figures(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """The figures every run gets whatever its domain: prior mass against bits, and with
    tail samples the whole posterior."""
    out = [("prior-mass", prior_mass_figure(record))]
    if record.get("summary", {}).get("whole_posterior"):
        out.append(("whole-posterior", whole_posterior_figure(record)))
    return out


def estimates(node: Any, path: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """Every whole-posterior estimate in a record's `summary.whole_posterior`, labelled by
    its path ("blue_doors › classes › robust": `splits` left out), in the record's order."""
    if isinstance(node, dict) and {"exact", "estimate", "low", "high"} <= set(node):
        return [(" › ".join(p for p in path if p != "splits"), node)]
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in estimates(value, path + (str(key),))]
    return []


def whole_posterior_figure(record: dict[str, Any]):
    """Each headline twice: exact over the enumerated programs (open circle) and over
    all programs, estimated from the tail samples (filled circle with its interval at the
    tail's confidence)."""
    rows = [(label, e) for label, e in estimates(record["summary"]["whole_posterior"]) if e.get("estimate") is not None]
    rows = rows[: 2 * MAX_BARS]
    fig = new_figure(1.4 + 0.24 * max(len(rows), 1))
    ax = fig.subplots()
    ys = list(range(len(rows)))[::-1]
    for y, (_, e) in zip(ys, rows):
        ax.plot([e["low"], e["high"]], [y, y], color=SERIES[0], linewidth=2.2, solid_capstyle="butt")
        ax.plot([e["estimate"]], [y], "o", color=SERIES[0], markersize=4.5)
        if e.get("exact") is not None:
            ax.plot([e["exact"]], [y], "o", markerfacecolor="white", markeredgecolor="#222222", markersize=4.5)
    ax.set_yticks(ys)
    ax.set_yticklabels([short(label) for label, _ in rows], fontsize=6.5)
    share_axis(ax, "x")
    ax.grid(axis="y", visible=False)
    tail = record.get("tail") or {}
    ax.set_title(f"{record['experiment']}: the whole posterior from {tail.get('judged', 0):,} tail samples",
                 loc="left")
    ax.set_xlabel(f"open: the enumerated programs (exact); filled: all programs ({_level(tail)} interval)")
    if not rows:
        no_data(ax, "no estimate (no fitting program)")
    return fig


def prior_mass_figure(record: dict[str, Any]):
    """Prior mass against description length. Left: the Kraft mass of the programs
    enumerated per length (count × 2⁻ᵇⁱᵗˢ), the length-prior mass of the fitting
    programs per length, the weight 2⁻ˢᶜᵒʳᵉ of the kept fitting programs by bits, and
    the mass beyond the enumeration bound. Right: cumulative shares: Kraft mass
    enumerated up to each length (against the grammar's Kraft sum) and the posterior of
    the kept programs up to each length."""
    e = record["enumeration"]
    rows = e.get("per_length", [])
    fig = new_figure(3.9)
    left, right = fig.subplots(1, 2, width_ratios=(1.3, 1))
    fig.suptitle(f"{record.get('experiment', '')}: prior mass against description length", fontsize=9)
    xs = [row["bits"] for row in rows]
    kraft = [row["programs"] * 2.0 ** -row["bits"] for row in rows]
    fitting = [(row["bits"], row["fitting"] * 2.0 ** -row["bits"]) for row in rows if row["fitting"] > 0]
    kept: dict[float, float] = {}
    for h in record.get("hypotheses", []):
        kept[h["bits"]] = kept.get(h["bits"], 0.0) + h["posterior"] * e["fitting_mass"]
    bound = e["complete_up_to_bits"]
    if xs:
        left.vlines(xs, 0, kraft, colors="#BBBBBB", linewidth=3.0,
                    label=f"all programs judged (count × {TWO_TO_MINUS_BITS})")
    if fitting:
        left.plot(*zip(*fitting), "o", color=SERIES[0],
                  label=f"fitting programs (count × {TWO_TO_MINUS_BITS})")
    if kept:
        kx = sorted(kept)
        left.plot(kx, [kept[x] for x in kx], "x", color=SERIES[1], markersize=5,
                  label=f"kept programs ({len(record.get('hypotheses', []))} best): {TWO_TO_MINUS_SCORE}")
    beyond_x = (max(xs) if xs else bound) + 1.5
    if e["unenumerated_mass"] > 0:
        left.bar([beyond_x], [e["unenumerated_mass"]], width=1.2, color="none", edgecolor="#444444", hatch="///",
                 label=f"not enumerated (> {bound:g} bits): {_fmt_mass(e['unenumerated_mass'])}")
    tight = (e.get("unseen_bound") or {}).get("tight")
    if tight is not None and tight > 0:
        left.axhline(tight, color=SERIES[3], linestyle=":", linewidth=1.0,
                     label=f"bound on unseen fitting mass: {_fmt_mass(tight)}")
    left.axvline(bound, color=GREY, linestyle="--", linewidth=0.8)
    left.set_yscale("log")
    log_axis(left, "y")
    left.set_xlabel("description length (bits)")
    left.set_ylabel("prior mass")
    left.set_title("mass per length", loc="left")
    if not xs:
        no_data(left, "no programs judged")
    else:
        mathtext(left.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2), ncol=1, frameon=False))
    cumulative, total = [], 0.0
    for m in kraft:
        total += m
        cumulative.append(total)
    if xs:
        right.step(xs + [beyond_x], cumulative + cumulative[-1:], where="post", color=GREY,
                   label="Kraft mass enumerated")
        right.axhline(e["kraft_sum"], color="#444444", linestyle="--", linewidth=0.8,
                      label=f"Kraft sum of the grammar ({e['kraft_sum']:.3f})")
    hyps = sorted(record.get("hypotheses", []), key=lambda h: h["bits"])
    if hyps:
        px, py, acc = [], [], 0.0
        for h in hyps:
            acc += h["posterior"]
            if px and px[-1] == h["bits"]:
                py[-1] = acc
            else:
                px.append(h["bits"])
                py.append(acc)
        right.step(px + [beyond_x], py + py[-1:], where="post", color=SERIES[1],
                   label="posterior of the kept programs")
    right.axvline(bound, color=GREY, linestyle="--", linewidth=0.8)
    share_axis(right, "y")
    right.set_xlabel("description length ≤ (bits)")
    right.set_title("cumulative", loc="left")
    if xs:
        right.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2), frameon=False)
    return fig


# ------------------------------------------------------------------ sweeps and multi-seed runs
def sweep_figures(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A sweep's curves (the chosen metric, every table metric, the distances between
    points); a multi-seed run (a sweep with no settings) gets its summary instead."""
    if not record.get("settings"):
        return [("seeds", seeds_figure(record))]
    metric = record["metric"]
    out = [(f"sweep-{metric.replace('_', '-')}", sweep_metric_figure(record, metric)),
           ("sweep-metrics", sweep_metrics_figure(record))]
    if len(record["points"]) > 1:
        out.append(("sweep-distances", sweep_distances_figure(record)))
    return out


def _heading(record: dict[str, Any], name: str) -> str:
    return record.get("metric_headings", {}).get(name, name)


def _is_share(name: str) -> bool:
    from levinsearch.sweeps import UNBOUNDED
    return name not in UNBOUNDED


def _sweep_axes(record: dict[str, Any]):
    """x positions of the points along the first setting (its values, or point numbers
    when they are not numbers), the tick labels, and the series (one per value of the
    other settings): label -> point indices."""
    keys = [s["key"] for s in record["settings"]]
    first = keys[0]
    points = record["points"]
    numeric = all(isinstance(p["setting"].get(first), (int, float)) and not isinstance(p["setting"].get(first), bool)
                  for p in points)
    if numeric:
        xs = [float(p["setting"][first]) for p in points]
        ticks = None
    else:
        values = []
        for p in points:
            text = _setting_text(p["setting"].get(first))
            if text not in values:
                values.append(text)
        xs = [float(values.index(_setting_text(p["setting"].get(first)))) for p in points]
        ticks = values
    series: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        label = ", ".join(f"{k.split('.')[-1]}={_setting_text(p['setting'].get(k))}" for k in keys[1:])
        series.setdefault(label, []).append(i)
    return first.split(".")[-1], xs, ticks, series


def _draw_metric(ax, record: dict[str, Any], name: str, legend: bool, note: bool = False) -> None:
    """One metric against the first setting: a line per series, error bars for the
    interval over seeds, and each seed's value as a small dot; a share's axis runs from
    0 to 100% unless the options say "auto"."""
    xlabel, xs, ticks, series = _sweep_axes(record)
    points = record["points"]
    n = len(series)
    # Series side by side (a small offset), so error bars do not hide each other.
    span = (max(xs) - min(xs)) if len(set(xs)) > 1 else 1.0
    width = 0.012 * span
    drawn = False
    for k, (label, idx) in enumerate(series.items()):
        colour = SERIES[k % len(SERIES)]
        shift = (k - (n - 1) / 2) * width
        mx, my, lo, hi, sx, sy = [], [], [], [], [], []
        for i in idx:
            p = points[i]
            value = p["metrics"].get(name)
            if value is None:
                continue
            x = xs[i] + shift
            mx.append(x)
            my.append(value)
            span_i = (p.get("intervals") or {}).get(name)
            lo.append(value - span_i[0] if span_i else 0.0)
            hi.append(span_i[1] - value if span_i else 0.0)
            for v in (p.get("per_seed") or {}).get(name, []):
                if v is not None:
                    sx.append(x)
                    sy.append(v)
        if not mx:
            continue
        drawn = True
        has_bars = any(lo) or any(hi) or any(p.get("intervals") for p in points)
        ax.errorbar(mx, my, yerr=[lo, hi] if has_bars else None, color=colour, marker="o", capsize=3,
                    elinewidth=0.9, label=label or None)
        if sx:
            ax.plot(sx, sy, ".", color=colour, alpha=0.35, markersize=3)
    if not drawn:
        no_data(ax, "no value at any point (no program fitted)")
        return
    ax.set_xlabel(xlabel)
    if ticks is not None:
        ax.set_xticks(range(len(ticks)))
        ax.set_xticklabels(ticks)
    if _is_share(name):
        # A Kraft mass (unenumerated_mass) is a probability too, but not a share of the posterior.
        share_axis(ax, "y", percent=name != "unenumerated_mass")
    missing = [label or "all" for label, idx in series.items()
               if all(points[i]["metrics"].get(name) is None for i in idx)]
    if missing and note:
        ax.text(0.0, -0.22, "no fitting program at: " + "; ".join(missing), transform=ax.transAxes, fontsize=6,
                color=GREY, va="top")
    if legend and n > 1:
        ax.legend(frameon=False)


def _seeds_note(record: dict[str, Any]) -> str:
    seeds = record.get("seeds", 1)
    return f"; mean over {seeds} seeds, bars: {_level(record)} interval, dots: each seed" if seeds > 1 else ""


def _level(record: dict[str, Any]) -> str:
    """The confidence of a record's intervals (a sweep's, or a run's tail section) as a percentage."""
    return f"{100 * float(record.get('confidence', 0.95)):.10g}%"


def sweep_metric_figure(record: dict[str, Any], name: str):
    fig = new_figure(3.6, 5.0)
    ax = fig.subplots()
    where = f" (split {record['split']})" if record.get("split") else ""
    note = _seeds_note(record).lstrip("; ")
    ax.set_title(f"{record['experiment']}: {_heading(record, name)}{where}" + (f"\n{note}" if note else ""),
                 loc="left", fontsize=8)
    _draw_metric(ax, record, name, legend=True, note=True)
    ax.set_ylabel(_heading(record, name))
    return fig


def sweep_metrics_figure(record: dict[str, Any]):
    names = list(record.get("columns") or [record["metric"]])
    cols = 3
    rows = math.ceil(len(names) / cols)
    fig = new_figure(2.1 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    where = f" (split {record['split']})" if record.get("split") else ""
    fig.suptitle(f"sweep of {record['experiment']}{where}{_seeds_note(record)}", fontsize=9)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_visible(False)
            continue
        _draw_metric(ax, record, names[k], legend=False)
        ax.set_title(_heading(record, names[k]), loc="left", fontsize=8)
    labels = list(_sweep_axes(record)[3])
    if len(labels) > 1:
        from matplotlib.lines import Line2D
        handles = [Line2D([], [], color=SERIES[k % len(SERIES)], marker="o", label=label)
                   for k, label in enumerate(labels)]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
    return fig


def sweep_distances_figure(record: dict[str, Any]):
    """Total variation distance between the points' posterior distributions over
    behaviours and over outcome classes (blank: no fitting program, or no classes)."""
    import numpy as np
    keys = [s["key"] for s in record["settings"]]
    labels = [", ".join(_setting_text(p["setting"].get(k)) for k in keys) for p in record["points"]]
    n = len(labels)
    size = min(3.4, 0.9 + 0.35 * n)
    fig = new_figure(size + 0.6)
    axes = fig.subplots(1, 2)
    fig.suptitle(f"{record['experiment']}: total variation distance between points "
                 f"({', '.join(k.split('.')[-1] for k in keys)})", fontsize=9)
    for ax, (what, title) in zip(axes, (("behaviour", "over behaviours"), ("outcome_class", "over outcome classes"))):
        matrix = record["distances"].get(what) or []
        values = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix], dtype=float)
        if values.size == 0 or np.isnan(values).all():
            no_data(ax, "no distances")
            ax.set_title(title, loc="left")
            continue
        image = ax.imshow(values, vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels(labels, rotation=45, ha="right")
        ax.set_yticklabels(labels)
        ax.grid(False)
        if n <= 12:
            for i in range(n):
                for j in range(n):
                    if not np.isnan(values[i, j]):
                        ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=6,
                                color="white" if values[i, j] < 0.6 else "black")
        ax.set_title(title, loc="left")
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def seeds_figure(record: dict[str, Any]):
    """A run over several seeds: each summary figure's mean with its interval (error
    bar) and every seed's value (dots); shares on the left, the fitting count on the right."""
    p = record["points"][0]
    metrics = p.get("metrics", {})
    intervals = p.get("intervals") or {}
    per_seed = p.get("per_seed") or {}
    names = [n for n in record.get("metric_headings", metrics) if _is_share(n)]
    counts = [n for n in record.get("metric_headings", metrics) if not _is_share(n)]
    fig = new_figure(0.9 + 0.28 * max(len(names), 3))
    left, right = fig.subplots(1, 2, width_ratios=(3, 1))
    seeds = p.get("seeds", [])
    where = f" (split {record['split']})" if record.get("split") else ""
    fig.suptitle(f"{record['experiment']} over {len(seeds)} environment seeds{where}: mean, {_level(record)} interval "
                 "(Student's t) and each seed", fontsize=9)
    for ax, group in ((left, names), (right, counts)):
        ys = list(range(len(group)))[::-1]
        for y, name in zip(ys, group):
            value = metrics.get(name)
            if value is None:
                ax.text(0.0, y, "  no value", va="center", color=GREY, fontsize=7)
                continue
            span = intervals.get(name)
            err = [[value - span[0]], [span[1] - value]] if span else None
            ax.errorbar([value], [y], xerr=err, fmt="o", color=SERIES[0], capsize=3, elinewidth=1.0)
            values = [v for v in per_seed.get(name, []) if v is not None]
            if values:
                ax.plot(values, [y + 0.18] * len(values), "|", color=SERIES[1], markersize=6, alpha=0.8)
        ax.set_yticks(ys)
        ax.set_yticklabels([_heading(record, n) for n in group])
        ax.set_ylim(-0.7, len(group) - 0.3)
        ax.grid(axis="y", visible=False)
    share_axis(left, "x")
    left.set_xlabel(f"share of the posterior (unenumerated: Kraft mass); dot: mean, bar: {_level(record)} "
                    "interval, ticks: each seed")
    right.set_xlabel("count")
    right.margins(x=0.3)
    return fig
