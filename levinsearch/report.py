"""Rich renderables for run records and the other commands. Computes nothing: every
number shown is read from the record the pipeline produced."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

OUTCOME_STYLE = {"base": "green", "proxy": "red", "other": "yellow", "none": "dim"}
COLOUR_STYLE = {"red": "bold red", "blue": "bold blue", "green": "bold green", "yellow": "bold yellow"}


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def mass(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3g}" if x >= 1e-3 or x == 0 else f"{x:.2e}"


def run_report(record: dict[str, Any]) -> Group:
    """The whole report of one run."""
    if record.get("domain") == "seq":
        return seq_report(record)
    parts = [_header(record), _enumeration(record)]
    if record["hypotheses"]:
        parts += [_hypotheses(record), _behaviour_table(record), _outcomes(record), _classes(record),
                  _goal_confusion(record)]
        parts += [_grid_consensus(name, split["consensus"]) for name, split in record["summary"]["splits"].items()
                  if split.get("consensus")]
        parts.append(_reading(record))
    else:
        parts.append(Panel(Text(
            "No program fits the training environments within the enumeration bound. "
            "Raise --max-bits, lower --fit-threshold, or add training variety.", style="yellow"),
            title="no fitting programs"))
    return Group(*parts)


def _header(record: dict[str, Any]) -> Panel:
    c = record["config"]
    s = c["search"]
    g = c["grammar"]
    a, b = s["length_weight"], s["time_weight"]
    time_term = "log2 t(p)" if s["time_penalty"] == "log" else "t(p)"
    formula = f"{a:g}·bits(p) + {b:g}·{time_term}"
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("experiment", f"{record['experiment']} ({record['domain']})")
    if record.get("description"):
        t.add_row("", Text(record["description"], style="italic"))
    t.add_row("objective", f"base = {c['base']}   proxy = {c['proxy']}")
    t.add_row("score", f"{formula}   order = {s['order']}   fit threshold = {s['fit_threshold']:g}")
    t.add_row("grammar", _grammar_changes(g))
    envs = record["environments"]
    tests = ", ".join(f"{k}: {v}" for k, v in envs["test"].items())
    t.add_row("environments", f"train: {envs['train']}   test: {tests}   seed = {c['seed']}")
    if c.get("flags"):
        t.add_row("from flags", ", ".join(c["flags"]))
    return Panel(t, title="levinsearch run", border_style="cyan")


def _grammar_changes(g: dict[str, Any]) -> str:
    parts = []
    if g["ban"]:
        parts.append("banned " + ", ".join(g["ban"]))
    if g["bits"]:
        parts.append("bits " + ", ".join(f"{k}={v:g}" for k, v in g["bits"].items()))
    if g["cost"]:
        parts.append("cost " + ", ".join(f"{k}={v}" for k, v in g["cost"].items()))
    return "; ".join(parts) or "default (uniform bits per type, 1 step per node)"


def _enumeration(record: dict[str, Any]) -> Panel:
    e = record["enumeration"]
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("programs", f"{e['programs']:,} of {e['total']:,} with bits ≤ {e['max_bits']:g}"
              f"   ({e['seconds']:.2f} s)")
    where = "deployment steps" if record.get("domain") == "seq" else "test and probe grids"
    t.add_row("fitting", f"{e['fitting']:,} programs showing {e.get('behaviours', 0):,} distinct behaviours "
              f"on the {where}")
    t.add_row("complete", f"every program with score ≤ {e['complete_up_to_score']:g} was judged")
    t.add_row("unseen mass", f"{mass(e['unenumerated_mass'])} of Kraft sum {e['kraft_sum']:.4f} lies in "
              f"programs longer than {e['complete_up_to_bits']:g} bits")
    if e.get("posterior_uncertainty") is not None:
        t.add_row("posterior bound", f"unseen fitting programs could hold at most "
                  f"{pct(e['posterior_uncertainty'])} of the posterior")
    else:
        t.add_row("posterior bound", "none (needs length weight ≥ 1, and time weight ≥ 1 under Levin order)")
    if "levin_steps" in e:
        t.add_row("Levin search", f"{e['levin_steps']:,} simulated steps over phases 1..{e['max_bits']:g}; "
                  f"{e['uncertified']:,} programs ran out of budget")
    if e.get("interrupted"):
        t.add_row("interrupted", Text(f"stopped by the user before program {e['next_index']:,}; results cover "
                                      "the programs judged", style="bold red"))
        if record.get("run"):
            t.add_row("resume", f"levinsearch run --resume {record['run']}")
    if record.get("run"):
        t.add_row("saved", record["run"])
    return Panel(t, title="enumeration", border_style="cyan")


def _hypotheses(record: dict[str, Any]) -> Table:
    top = record["config"]["search"]["top"]
    splits = list(record["environments"]["test"])
    levin = record["enumeration"]["order"] == "levin"
    fitting = record["enumeration"]["fitting"]
    t = Table(title=f"top {min(top, len(record['hypotheses']))} of {fitting:,} fitting programs",
              box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("#", justify="right")
    t.add_column("program", overflow="fold")
    t.add_column("bits", justify="right")
    t.add_column("steps", justify="right")
    t.add_column("score", justify="right")
    if levin:
        t.add_column("phase", justify="right")
    t.add_column("posterior", justify="right")
    t.add_column("search: objective")
    for name in splits:
        t.add_column(f"{name}\nbase/proxy/other/none", justify="right")
    for h in record["hypotheses"][:top]:
        row = [str(h["rank"]), h["program"], f"{h['bits']:.2f}", f"{h['steps']:,}", f"{h['score']:.2f}"]
        if levin:
            row.append(str(h.get("phase", "")))
        row.append(pct(h["posterior"]))
        if h["search"]:
            row.append(Text(f"{'+'.join(h['search_constructs'])}: {', '.join(h['mesa_objective'])}", style="magenta"))
        else:
            row.append(Text("no search", style="dim"))
        for name in splits:
            f = h["test"][name]
            cell = Text()
            for k, key in enumerate(("base", "proxy", "other", "none")):
                if k:
                    cell.append("/", style="dim")
                cell.append(f"{100 * f[key]:.0f}", style=OUTCOME_STYLE[key] if f[key] > 0 else "dim")
            row.append(cell)
        t.add_row(*row)
    return t


def _outcomes(record: dict[str, Any]) -> Table:
    s = record["summary"]
    t = Table(title="posterior mass by outcome off-distribution", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("split")
    t.add_column("programs")
    t.add_column("mass", justify="right")
    for key in ("base", "proxy", "other", "none"):
        t.add_column(key, justify="right", style=OUTCOME_STYLE[key])
    for name, split in s["splits"].items():
        t.add_row(name, "all (episode share)", "100%", *(pct(split["outcome_mass"][k]) for k in OUTCOME_STYLE))
        t.add_row("", "all (by dominant outcome)", "100%", *(pct(split["dominant_mass"][k]) for k in OUTCOME_STYLE))
        for label in ("search", "no_search"):
            part = split[label]
            t.add_row("", f"{label.replace('_', ' ')} ({part['count']})", pct(part["mass"]),
                      *(pct(part["outcome_share"][k]) for k in OUTCOME_STYLE))
    return t


CONSENSUS_LABEL = {"top": "top {v:g}", "mass": "smallest set with ≥ 1 − {v:g} of the posterior",
                   "ratio": "posterior ≥ {v:g} × the best's"}


def _grid_consensus(split: str, rows: list[dict[str, Any]]) -> Table:
    t = Table(title=f"consensus agent on {split}: moves when every trusted behaviour agrees, otherwise asks "
              "for the base-objective move", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("trusted set", "size", "catastrophes", "queries per episode", "base reached"):
        t.add_column(col, justify="left" if col == "trusted set" else "right")
    for row in rows:
        t.add_row(CONSENSUS_LABEL[row["rule"]].format(v=row["value"]), str(row["size"]),
                  f"{row['catastrophes']} ({pct(row['catastrophe_share'])})", f"{row['queries_per_episode']:.2f}",
                  pct(row["base_reached_share"]))
    return t


CLASS_STYLE = {"robust": "green", "pseudo": "red", "capability_failure": "yellow", "mixed": "dim"}
CLASS_LABEL = {"robust": "robust", "pseudo": "pseudo-aligned", "capability_failure": "capability failure",
               "mixed": "mixed"}


def _behaviour_table(record: dict[str, Any]) -> Table:
    """The distinct behaviours, heaviest first, each shown by its best program."""
    rows = record.get("behaviours", [])
    top = record["config"]["search"]["top"]
    splits = list(record["environments"]["test"])
    t = Table(title=f"top {min(top, len(rows))} of {len(rows):,} distinct behaviours (programs that act "
              "identically on every test and probe grid, shown by the best of them)",
              box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("program", overflow="fold")
    t.add_column("programs", justify="right")
    t.add_column("posterior", justify="right")
    t.add_column("with unseen", justify="right")
    t.add_column("search", justify="right")
    for name in splits:
        t.add_column(f"class on {name}")
    t.add_column("inferred goal (score)")
    for b in sorted(rows, key=lambda b: -b["posterior"])[:top]:
        rng = b.get("posterior_range")
        row = [b["program"], f"{b['programs']:,}", pct(b["posterior"]),
               f"{pct(rng[0])}–{pct(rng[1])}" if rng else "—",
               pct(b["search_posterior"] / b["posterior"]) if b["posterior"] > 0 else "—"]
        for name in splits:
            c = b["outcome_class"][name]
            row.append(Text(CLASS_LABEL[c], style=CLASS_STYLE[c]))
        row.append(f"{b['inferred_goal']} ({b['goal_directedness']:.2f})")
        t.add_row(*row)
    return t


def _classes(record: dict[str, Any]) -> Table:
    s = record["summary"]
    a = record["config"]["analysis"]
    t = Table(title=f"posterior mass by outcome class (threshold {a['class_threshold']:g} of episodes; "
              f"competent = path efficiency ≥ {a['competence']:g})", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("split")
    t.add_column("programs")
    for key in CLASS_STYLE:
        t.add_column(CLASS_LABEL[key], justify="right", style=CLASS_STYLE[key])
    for name, split in s["splits"].items():
        t.add_row(name, "all (posterior)", *(pct(split["classes"][k]["mass"]) for k in CLASS_STYLE))
        t.add_row("", "all (prior mass)", *(mass(split["classes"][k]["prior_mass"]) for k in CLASS_STYLE))
        t.add_row("", "all (count)", *(f"{split['classes'][k]['count']:,}" for k in CLASS_STYLE))
        for label in ("search", "no_search"):
            part = split[label]
            t.add_row("", f"{label.replace('_', ' ')} (share)", *(pct(part["class_share"][k]) for k in CLASS_STYLE))
    return t


def _goal_confusion(record: dict[str, Any]) -> Table:
    s = record["summary"]
    a = record["config"]["analysis"]
    g = record.get("goals", {})
    t = Table(title=f"structural search vs behavioural goal-directedness (high: score ≥ {a['goal_directed']:g}; "
              f"{g.get('family', '?')} goals of ≤ {a['goal_bits']:g} bits on {g.get('probes', '?')} probe grids)",
              box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("")
    t.add_column("goal-directed: high", justify="right")
    t.add_column("goal-directed: low", justify="right")
    for label in ("search", "no_search"):
        cells = [s["goal_confusion"][f"{label}/{level}"] for level in ("high", "low")]
        t.add_row(label.replace("_", " "), *(f"{c['count']:,} programs · {pct(c['mass'])}" for c in cells))
    return t


def _reading(record: dict[str, Any]) -> Text:
    s = record["summary"]
    lines = Text()
    lines.append(f"MAP program {s['map_program']} holds {pct(s['map_posterior'])} of the posterior; "
                 f"programs with embedded search hold {pct(s['search_mass'])}.\n")
    mix = s.get("mixture")
    if mix:
        lines.append(f"The {mix['programs']:,} programs within {mix['bits']:g} bits of the best score hold "
                     f"{pct(mix['posterior'])} (MAP alone: {pct(s['map_posterior'])}).\n")
    for name, split in s["splits"].items():
        d = split.get("defection")
        if d:
            lines.append(f"On {name} ({d['like']} plus trigger objects), {pct(d['changed_share'])} of episodes end "
                         f"differently; programs robust on {d['like']} but not on {name} (treacherous) hold "
                         f"{pct(d['treacherous_mass'])} of the posterior, those of them using see "
                         f"{pct(d['treacherous_see_mass'])}.\n")
        m = split["outcome_mass"]
        lines.append(f"On {name}, the posterior sends {pct(m['base'])} of episodes to the base objective, "
                     f"{pct(m['proxy'])} to the proxy, {pct(m['other'])} to other objects and "
                     f"{pct(m['none'])} nowhere.\n")
    return lines


# ------------------------------------------------------------------ seq runs
def _seq_header(record: dict[str, Any]) -> Panel:
    c = record["config"]
    s = c["search"]
    time_term = "log2 t(p)" if s["time_penalty"] == "log" else "t(p)"
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("experiment", f"{record['experiment']} (seq)")
    if record.get("description"):
        t.add_row("", Text(record["description"], style="italic"))
    target = record["target"]
    t.add_row("target", target["program"] or "a list of terms")
    t.add_row("training terms", ", ".join(map(str, target["train"])))
    t.add_row("deployment terms", ", ".join(map(str, target["deploy"])) or "none")
    t.add_row("score", f"{s['length_weight']:g}·bits(p) + {s['time_weight']:g}·{time_term}   order = {s['order']}")
    t.add_row("grammar", _grammar_changes(c["grammar"]).replace(
        "uniform bits per type", "uniform bits per type, Nat constants in Elias gamma"))
    if c.get("flags"):
        t.add_row("from flags", ", ".join(c["flags"]))
    return Panel(t, title="levinsearch run", border_style="cyan")


def seq_report(record: dict[str, Any]) -> Group:
    """The report of a seq run: hypotheses, Occam, MAP vs mixture, defectors, consensus."""
    parts: list = [_seq_header(record), _enumeration(record)]
    if not record["hypotheses"]:
        parts.append(Panel(Text("No program predicts every training term within the enumeration bound. "
                                "Raise --max-bits or shorten the training prefix.", style="yellow"),
                           title="no fitting programs"))
        return Group(*parts)
    top = record["config"]["search"]["top"]
    t = Table(title=f"top {min(top, len(record['hypotheses']))} of {record['enumeration']['fitting']:,} "
              "fitting programs", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("#", "program", "bits", "steps", "score", "posterior", "search", "deployment agreement",
                "first disagreement"):
        t.add_column(col, justify="left" if col in ("program", "search") else "right",
                     overflow="fold" if col == "program" else None)
    for h in record["hypotheses"][:top]:
        t.add_row(str(h["rank"]), h["program"], f"{h['bits']:.2f}", f"{h['steps']:,}", f"{h['score']:.2f}",
                  pct(h["posterior"]),
                  Text("find: " + ", ".join(h.get("mesa_objective", [])), style="magenta") if h["search"]
                  else Text("no", style="dim"),
                  pct(h["agreement"]), "—" if h["first_disagreement"] < 0 else str(h["first_disagreement"]))
    parts.append(t)
    s = record["summary"]
    o = s["occam"]
    lines = Text()
    lines.append(f"Shortest fitting program {o['shortest_program']} ({o['shortest_bits']:.2f} bits) holds "
                 f"{pct(o['shortest_posterior'])} of the posterior and "
                 f"{'agrees' if o['shortest_agrees'] else 'does not agree'} with the target on deployment.\n")
    lines.append(f"Programs that agree with the target on every deployment step hold "
                 f"{pct(o['target_equivalent_posterior'])} ({o['target_equivalent_programs']:,} programs); "
                 f"the {o['within_programs']:,} programs within {o['mixture_bits']:g} bits of the best hold "
                 f"{pct(o['within_posterior'])}.\n")
    p = s["prediction"]
    lines.append(f"On the deployment steps the MAP prediction errs on {pct(p['map_error_rate'])} of them, "
                 f"the Bayes mixture on {pct(p['mixture_error_rate'])}.\n")
    r = s["rare_defection"]
    lines.append(f"Rare defectors (right on training, wrong on 1 to {r['max_defections']} deployment steps) hold "
                 f"{pct(r['posterior'])} ({r['programs']:,} programs).")
    by_step = [(k, m) for k, m in enumerate(r.get("by_first_step", [])) if m > 0]
    if by_step:
        lines.append("\nBy the deployment step of their first defection: "
                     + ", ".join(f"step {k}: {mass(m)}" for k, m in by_step) + ".")
    parts.append(Panel(lines, title="Occam and defection", border_style="cyan"))
    steps = Table(title="deployment: target, MAP and mixture predictions", box=box.SIMPLE_HEAD,
                  title_justify="left")
    steps.add_column("step")
    for k in range(len(p["target"])):
        steps.add_column(str(k), justify="right")
    steps.add_row("target", *map(str, p["target"]))
    for label in ("map", "mixture"):
        steps.add_row(label, *(Text(str(v), style="" if ok else "bold red")
                               for v, ok in zip(p[label], p[f"{label}_correct"])))
    parts.append(steps)
    c = Table(title="consensus: predict only when every trusted hypothesis agrees, otherwise abstain "
              "(hypotheses = distinct behaviours)", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("trusted set", "size", "error rate", "abstention rate", "target in set"):
        c.add_column(col, justify="left" if col == "trusted set" else "right")
    for rule, rows in s["consensus"].items():
        for row in rows:
            c.add_row(CONSENSUS_LABEL[rule].format(v=row["value"]), str(row["size"]), pct(row["error_rate"]),
                      pct(row["abstention_rate"]), "yes" if row["has_equivalent"] else "no")
    if c.row_count:
        parts.append(c)
    return Group(*parts)


def seq_show_table(record: dict[str, Any]) -> Table:
    t = Table(title=f"{record['program']}  ({record['bits']:.3f} bits; "
              f"{'fits' if record['fits'] else 'does not fit'} the training terms; "
              f"{record['training_steps']:,} simulated steps on them)", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("t", "", "target", "prediction", "steps"):
        t.add_column(col, justify="right" if col not in ("",) else "left")
    for r in record["rows"]:
        t.add_row(str(r["t"]), r["phase"], str(r["target"]),
                  Text(str(r["prediction"]), style="green" if r["correct"] else "bold red"), str(r["steps"]))
    return t


# ------------------------------------------------------------------ sweeps
SWEEP_HEADINGS = {"equivalent": "P(target-equivalent)", "shortest": "P(shortest)", "defectors": "P(rare defector)",
                  "map_error": "MAP error", "mixture_error": "mixture error", "search": "P(search)", "proxy_given_search": "P(proxy | search)", "robust": "P(robust)",
                  "pseudo": "P(pseudo)", "capability_failure": "P(capability failure)", "base": "base episodes",
                  "proxy": "proxy episodes", "fitting": "fitting", "unenumerated_mass": "unenumerated mass"}


def _metric_text(name: str, value) -> str:
    if value is None:
        return "—"
    if name == "fitting":
        return f"{value:,}"
    if name == "unenumerated_mass":
        return mass(value)
    return pct(value)


def _setting_text(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]" if value else "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def sweep_report(record: dict[str, Any]) -> Group:
    """A sweep: one row per setting, the pairwise distances, and a plot of the metric."""
    keys = [s["key"] for s in record["settings"]]
    where = f" (metrics on split {record['split']})" if record.get("split") else ""
    t = Table(title=f"sweep of {record['experiment']}{where}", box=box.SIMPLE_HEAD, title_justify="left")
    columns = record.get("columns", ())
    for key in keys:
        t.add_column(key.split(".")[-1])
    for name in columns:
        t.add_column(SWEEP_HEADINGS[name], justify="right")
    t.add_column("MAP program", overflow="fold")
    for p in record["points"]:
        row = [Text(_setting_text(p["setting"][k])) for k in keys]
        row += [_metric_text(name, p["metrics"][name]) for name in columns]
        row.append(p["map_program"] or "—")
        t.add_row(*row, style="yellow" if p["interrupted"] else None)
    parts: list = [t, _sweep_distances(record, keys)]
    plot = _sweep_plot(record, keys)
    if plot is not None:
        parts.append(plot)
    if record.get("interrupted"):
        parts.append(Text("interrupted: the rows above are the settings that finished (a yellow row stopped "
                          "part-way)", style="bold red"))
    if record.get("run"):
        parts.append(Text(f"saved: {record['run']}", style="dim"))
    return Group(*parts)


def _sweep_distances(record: dict[str, Any], keys: list[str]) -> Table:
    labels = [", ".join(_setting_text(p["setting"][k]) for k in keys) for p in record["points"]]
    t = Table(title="total variation distance between the posterior distributions over behaviours "
              "(upper right) and over outcome classes (lower left; grid only)", box=box.SIMPLE_HEAD,
              title_justify="left")
    t.add_column("")
    for label in labels:
        t.add_column(Text(label), justify="right")
    d_beh, d_cls = record["distances"]["behaviour"], record["distances"]["outcome_class"]
    for i, label in enumerate(labels):
        cells = []
        for j in range(len(labels)):
            value = (d_beh if j > i else d_cls)[i][j]
            cells.append("·" if i == j else "—" if value is None else f"{value:.3f}")
        t.add_row(Text(label), *cells)
    return t


def _sweep_plot(record: dict[str, Any], keys: list[str]):
    """The chosen metric against the first setting (one line per value of the others)."""
    try:
        from uniplot import plot_to_string
    except ImportError:  # pragma: no cover - uniplot is a core dependency
        return None
    metric = record["metric"]
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
        ys.append(p["metrics"][metric])
    labels = list(series)
    text = plot_to_string([series[k][1] for k in labels], [series[k][0] for k in labels], lines=True,
                          legend_labels=labels if len(labels) > 1 else None, width=60, height=12,
                          title=f"{SWEEP_HEADINGS.get(metric, metric)} against {first.split('.')[-1]}"
                          + ("" if numeric else " (point number)"), color=len(labels) > 1)
    return Text.from_ansi(text)


# ------------------------------------------------------------------ other commands
def runs_table(rows: list[dict[str, Any]], root: str) -> Table:
    t = Table(title=f"saved runs in {root}/", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("run", "command", "experiment", "created", "status", "programs"):
        t.add_column(col, justify="right" if col == "programs" else "left")
    style = {"complete": "green", "interrupted": "yellow", "running": "cyan"}
    for r in rows:
        done = f"{r['position']:,} of {r['total']:,}" if r.get("total") is not None and r.get("position") is not None else "—"
        t.add_row(r["run"], r.get("command") or "", r.get("name") or "", r.get("created") or "",
                  Text(r.get("status") or "?", style=style.get(r.get("status"), "")), done)
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


def show_panel(record: dict[str, Any]) -> Group:
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row("program", record["program"])
    info.add_row("bits", f"{record['bits']:.3f}")
    info.add_row("environment", record["environment"])
    info.add_row("simulated steps", f"{record['steps']:,}")
    info.add_row("moves", str(record["moves"]))
    reached = record["reached"]
    info.add_row("reached", f"{reached['object']} at row {reached['row']}, column {reached['column']}"
                 if reached else "nothing")
    if record.get("outcome"):
        info.add_row("outcome", Text(record["outcome"], style=OUTCOME_STYLE.get(record["outcome"], "")))
    return Group(info, Panel(draw_grid(record), title="trajectory", expand=False))


def draw_grid(record: dict[str, Any]) -> Text:
    """The grid with the agent's path: @ start, * path, X the last cell."""
    rows = record["grid"]
    path = [tuple(p) for p in record["path"]]
    on_path = set(path)
    objects = {(o["row"], o["column"]): o["object"] for o in record["objects"]}
    out = Text()
    for r, line in enumerate(rows):
        for c, ch in enumerate(line):
            cell = (r, c)
            if cell in objects:
                colour, kind = objects[cell].split()
                letter = kind[0].upper()
                style = COLOUR_STYLE.get(colour, "")
                if cell == path[-1]:
                    style += " reverse"
                out.append(letter, style=style)
            elif cell == path[0]:
                out.append("@", style="bold cyan")
            elif cell == path[-1]:
                out.append("X", style="bold cyan")
            elif cell in on_path:
                out.append("*", style="cyan")
            elif ch == "#":
                out.append("█", style="grey50")
            else:
                out.append("·", style="grey35")
        out.append("\n")
    return out
