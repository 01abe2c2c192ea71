"""Rich renderables for records: a run's report is its domain's (`levinsearch.domains`);
sweeps, saved runs, grammars and enumerations are rendered here. Computes nothing:
every number shown is read from a record."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from levinsearch import domains
from levinsearch.render import confidence_text, map_cell, mass, pct, plain_text, printable, stackable
from levinsearch.types import RunRecord, SweepPoint, SweepRecord


def run_report(record: RunRecord):
    """The whole report of one run, as its domain renders it (user text as plain text;
    tables stacked on a narrow console, `render.stackable`)."""
    shown = printable(record)
    rendered = domains.get(record["domain"]).report(shown)
    if record.get("ensemble"):
        rendered = Group(rendered, ensemble_table(shown))
    return stackable(rendered)


def _ensemble_value(name: str, value) -> str:
    return _metric_text(name, value)


def ensemble_table(record: RunRecord) -> Group:
    """The prior ensemble: every headline under the given grammar and over the drawn
    encodings (median, 5-95% range), then the share of encodings each direction holds in."""
    ens = record["ensemble"]
    k = ens["draws"]
    where = f", split {ens['split']}" if ens.get("split") else ""
    t = Table(title=f"Prior ensemble: {k} encodings drawn around the grammar (Dirichlet, concentration "
                    f"{ens['concentration']:g}{where})", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("headline")
    t.add_column("given grammar", justify="right")
    t.add_column("median", justify="right")
    t.add_column("5–95% of encodings", justify="right")
    t.add_column("draws", justify="right")
    for h in ens["headlines"]:
        span = "—" if h["low"] is None else f"{_ensemble_value(h['name'], h['low'])} – " \
                                            f"{_ensemble_value(h['name'], h['high'])}"
        t.add_row(h["heading"], _ensemble_value(h["name"], h["given"]), _ensemble_value(h["name"], h["median"]),
                  span, f"{h['defined']}/{k}")
    d = Table(box=box.SIMPLE_HEAD, title="Directions: share of encodings in which each holds", title_justify="left")
    d.add_column("statement")
    d.add_column("given grammar")
    d.add_column("share of encodings", justify="right")
    for row in ens["directions"]:
        given = "—" if row["given"] is None else ("holds" if row["given"] else "does not hold")
        share = "—" if row["share"] is None else f"{pct(row['share'])} of {row['defined']}"
        d.add_row(row["statement"], given, share)
    same = ens["map"]["same_share"]
    bounds = [row["bound_bits"] for row in ens["per_draw"]]
    given = ens["map"]["given"]
    tie = f"the given MAP ({', '.join(given)})" if len(given) == 1 else \
        f"a program of the given MAP's tie ({', '.join(given[:4])}{', …' if len(given) > 4 else ''})"
    drawn = ", ".join(f"{p} {n}" for p, n in list(ens["map"]["programs"].items())[:4])
    tied = sum(1 for row in ens["per_draw"] if row.get("map_tie"))
    # A draw whose own MAP is a tie counts each tied program, and keeps the MAP by the share of its tie.
    tied_note = (f"; in {tied} draw{'s' if tied != 1 else ''} the MAP is a tie, counted whole and "
                 "kept by the share of the tie in the given MAP's") if tied else ""
    notes = Text(f"The MAP is {tie} in {'—' if same is None else pct(same)} of encodings (drawn MAPs: "
                 f"{drawn or 'none'}{tied_note}). "
                 f"Each draw's posterior covers the fitting programs of drawn length at most r'·"
                 f"{ens['complete_up_to_bits']:g} bits (complete by the bound; here "
                 f"{min(bounds):.3g}–{max(bounds):.3g} bits); a headline is defined in the draws where some "
                 "program fits within it. Ranges are over encodings at one environment seed, not over seeds.",
                 style="dim")
    return Group(t, d, notes)


# ------------------------------------------------------------------ sweeps
def _metric_text(name: str, value) -> str:
    if value is None:
        return "—"
    if name == "fitting":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if name == "unenumerated_mass":
        return mass(value)
    return pct(value)


def _cell(point: SweepPoint, name: str) -> str:
    """A metric, with its interval over seeds when the point has several."""
    text = _metric_text(name, point["metrics"].get(name))
    span = (point.get("intervals") or {}).get(name)
    if span is None or name == "fitting":
        return text
    return f"{text} [{_metric_text(name, span[0])}, {_metric_text(name, span[1])}]"


def seeds_report(record: SweepRecord) -> Group:
    """A run over several environment seeds: every summary figure as mean, interval (at
    the record's `confidence`, 95% by default) and the value of each seed."""
    p = record["points"][0]
    level = confidence_text(record.get("confidence", 0.95))
    seeds = p.get("seeds", [])
    where = f" (split {record['split']})" if record.get("split") else ""
    t = Table(title=f"{record['experiment']} over {len(seeds)} environment seeds {', '.join(map(str, seeds))}"
              f"{where}: mean and {level} interval (Student's t)", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("figure")
    t.add_column("mean", justify="right")
    t.add_column(f"{level} interval", justify="right")
    t.add_column("per seed", justify="left")
    for name, heading in record.get("metric_headings", {}).items():
        span = (p.get("intervals") or {}).get(name)
        values = (p.get("per_seed") or {}).get(name, [])
        if name in record.get("tail_metrics", ()) and all(v is None for v in values):
            continue  # no tail samples: the whole-posterior rows would be empty
        t.add_row(heading, _metric_text(name, p["metrics"].get(name)),
                  "—" if span is None else f"{_metric_text(name, span[0])} – {_metric_text(name, span[1])}",
                  " ".join(_metric_text(name, v) for v in values))
    ties = p.get("map_ties") or [None] * len(p.get("map_programs", []))
    parts: list = [t, Text("MAP program per seed: " + ", ".join(map_cell(m, tie) for m, tie in
                                                                zip(p.get("map_programs", []), ties)))]
    if record.get("interrupted"):
        parts.append(Text("interrupted: the figures cover the seeds that finished", style="bold red"))
    if record.get("run"):
        parts.append(Text(f"saved: {record['run']} (each seed's full record in points/)", style="dim"))
    return Group(*parts)


def _setting_text(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]" if value else "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def sweep_report(record: SweepRecord) -> Group:
    """A sweep: one row per setting, the pairwise distances, and a plot of the metric;
    with several seeds, every metric as mean [interval at the record's confidence]."""
    return stackable(_sweep_report(printable(record)))


def _sweep_report(record: SweepRecord) -> Group:
    keys = [s["key"] for s in record["settings"]]
    if not keys and record.get("seeds", 1) > 1:
        return seeds_report(record)
    where = f" (metrics on split {record['split']})" if record.get("split") else ""
    seeds = record.get("seeds", 1)
    t = Table(title=f"sweep of {record['experiment']}{where}"
              + (f"; means over {seeds} seeds [{confidence_text(record.get('confidence', 0.95))} interval]"
                 if seeds > 1 else ""), box=box.SIMPLE_HEAD,
              title_justify="left")
    columns = record.get("columns", ())
    for key in keys:
        t.add_column(key.split(".")[-1])
    for name in columns:
        t.add_column(record.get("metric_headings", {}).get(name, name), justify="right")
    t.add_column("MAP program", overflow="fold")
    stopped = any(p["interrupted"] for p in record["points"])
    if stopped:
        t.add_column("status")
    for p in record["points"]:
        row = [Text(_setting_text(p["setting"][k])) for k in keys]
        row += [_cell(p, name) for name in columns]
        row.append(map_cell(p["map_program"], p.get("map_tie")))
        if stopped:
            row.append("stopped part-way" if p["interrupted"] else "complete")
        t.add_row(*row, style="yellow" if p["interrupted"] else None)
    parts: list = [t, _sweep_distances(record, keys)]
    plot = _sweep_plot(record, keys)
    if plot is not None:
        parts.append(plot)
    if record.get("interrupted"):
        parts.append(Text("interrupted: the rows above are the settings that finished (a row marked "
                          "'stopped part-way', in yellow, stopped "
                          "part-way)", style="bold red"))
    if record.get("run"):
        parts.append(Text(f"saved: {record['run']}", style="dim"))
    return Group(*parts)


def _sweep_distances(record: SweepRecord, keys: list[str]) -> Table:
    labels = [", ".join(_setting_text(p["setting"][k]) for k in keys) for p in record["points"]]
    t = Table(title="total variation distance between the posterior distributions over behaviours "
              "(upper right) and over outcome classes (lower left; grid only)", box=box.SIMPLE_HEAD,
              title_justify="left")
    t.add_column("")
    for label in labels:
        t.add_column(Text(label), justify="right")
    # A domain without outcome classes records no such distances (older sweeps: all None).
    d_beh, d_cls = record["distances"]["behaviour"], record["distances"].get("outcome_class")
    for i, label in enumerate(labels):
        cells = []
        for j in range(len(labels)):
            value = d_beh[i][j] if j > i else d_cls[i][j] if d_cls else None
            cells.append("·" if i == j else "—" if value is None else f"{value:.3f}")
        t.add_row(Text(label), *cells)
    return t


def _sweep_plot(record: SweepRecord, keys: list[str], share_axis: str | None = None):
    """The chosen metric against the first setting (one line per value of the others);
    a share of the posterior in percent, and any share or probability on an axis from
    0 to 100% unless `share_axis` (default: the current figure options') is "auto"."""
    try:
        from uniplot import plot_to_string
    except ImportError:  # pragma: no cover - uniplot is a core dependency
        return None
    from levinsearch import figures
    from levinsearch.sweeps import UNBOUNDED
    metric = record["metric"]
    bounded = metric not in UNBOUNDED
    percent = bounded and metric != "unenumerated_mass"  # a Kraft mass: a probability, not a share
    scale = 100.0 if percent else 1.0
    full = bounded and (share_axis or figures.current().share_axis) == "full"
    points = [p for p in record["points"] if p["metrics"].get(metric) is not None]
    if len(points) < 2:
        return None
    first = keys[0]
    numeric = all(isinstance(p["setting"][first], (int, float)) and not isinstance(p["setting"][first], bool)
                  for p in points)
    xs_all = [p["setting"][first] if numeric else k for k, p in enumerate(points)]
    series: dict[str, tuple[list, list]] = {}
    for x, p in zip(xs_all, points):
        label = ", ".join(f"{k.split('.')[-1]}={_setting_text(p['setting'][k])}" for k in keys[1:]) or metric
        xs, ys = series.setdefault(label, ([], []))
        xs.append(x)
        ys.append(scale * p["metrics"][metric])
        span = (p.get("intervals") or {}).get(metric)
        if span is not None:  # the interval over seeds as a band: two more lines
            level = confidence_text(record.get("confidence", 0.95))
            for end, value in zip((f"{level} low", f"{level} high"), span):
                bx, by = series.setdefault(f"{label} ({end})", ([], []))
                bx.append(x)
                by.append(scale * value)
    labels = list(series)

    def draw(width: int) -> str:
        return plot_to_string([series[k][1] for k in labels], [series[k][0] for k in labels], lines=True,
                              legend_labels=labels if len(labels) > 1 else None, width=width, height=12,
                              title=f"{record.get('metric_headings', {}).get(metric, metric)} against "
                              f"{first.split('.')[-1]}" + ("" if numeric else " (point number)"),
                              color=len(labels) > 1,
                              **(dict(y_min=0.0, y_max=scale) if full else {}),
                              **(dict(y_unit="%") if percent else {}))
    return _Plot(draw)


class _Plot:
    """A text plot drawn PLOT_WIDTH wide, narrower when the console is narrower (its
    borders and axis labels included), so that no line wraps."""

    def __init__(self, draw):
        self.draw = draw

    def __rich_console__(self, console, options):
        width = PLOT_WIDTH
        text = Text.from_ansi(self.draw(width))
        over = max((len(line) for line in text.plain.splitlines()), default=0) - options.max_width
        if over > 0:
            text = Text.from_ansi(self.draw(max(10, width - over)))
        yield text


#: Width of a sweep's plot area (less on a console too narrow for it).
PLOT_WIDTH = 60


# ------------------------------------------------------------------ other commands
def runs_table(rows: list[dict[str, Any]], root: str) -> Table:
    rows, root = printable(rows), plain_text(str(root))
    return stackable(_runs_table(rows, root))


def _runs_table(rows: list[dict[str, Any]], root: str) -> Table:
    t = Table(title=f"saved runs in {root}/", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("run", "command", "experiment", "created", "status", "programs", "why it stopped"):
        t.add_column(col, justify="right" if col == "programs" else "left", overflow="fold")
    style = {"complete": "green", "interrupted": "yellow", "running": "cyan", "failed": "red", "corrupt": "red"}
    for r in rows:
        done = f"{r['position']:,} of {r['total']:,}" if r.get("total") is not None and r.get("position") is not None else "—"
        t.add_row(r["run"], r.get("command") or "", r.get("name") or "", r.get("created") or "",
                  Text(r.get("status") or "?", style=style.get(r.get("status"), "")), done, r.get("reason") or "")
    if not rows:
        t.caption = "none yet: `levinsearch run` saves one"
    return t


def grammar_table(record: dict[str, Any]) -> Table:
    t = Table(title=f"{record['domain']} grammar (start type {record['start']}; Kraft sum "
              f"{record['kraft_sum']:.4f})", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("type", "production", "arguments", "bits", "steps"):
        t.add_column(col, justify="right" if col in ("bits", "steps") else "left")
    for p in record["productions"]:
        bits = "banned" if p["banned"] else f"{p['bits']:.3f}"
        t.add_row(p["type"], p["name"], " ".join(p["args"]) or "—", bits, str(p["cost"]),
                  style="dim" if p["banned"] else None)
    return t


def enumeration_table(record: dict[str, Any]) -> Table:
    if "counts" in record:
        t = Table(title=f"programs per length up to {record['max_bits']:g} bits", box=box.SIMPLE_HEAD,
                  title_justify="left")
        for col in ("bits", "programs", "Kraft mass", "cumulative programs", "cumulative mass"):
            t.add_column(col, justify="right")
        for row in record["counts"]:
            t.add_row(f"{row['bits']:.3f}", f"{row['programs']:,}", mass(row["kraft_mass"]),
                      f"{row['cumulative_programs']:,}", f"{row['cumulative_mass']:.6f}")
        return t
    t = Table(title=f"programs in order ({len(record['programs'])} of {record['total']:,})",
              box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("#", justify="right")
    t.add_column("bits", justify="right")
    t.add_column("program")
    for p in record["programs"]:
        t.add_row(str(p["index"]), f"{p['bits']:.3f}", p["program"])
    return t
