"""The grid run report, and `show` for grid programs. Computes nothing: every number
shown is read from the record the grid domain produced."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levinsearch.analyses.prediction_report import stakes_table
from levinsearch.render import (CONSENSUS_SHORT, enumeration_panel, grammar_changes, info_grid, map_tied, mass, pct,
                                score_formula, tail_table, tie_count_text, tie_programs_text, trust_after, trust_before,
                                whole_posterior_table)

OUTCOME_STYLE = {"base": "green", "proxy": "red", "other": "yellow", "none": "dim"}
COLOUR_STYLE = {"red": "bold red", "blue": "bold blue", "green": "bold green", "yellow": "bold yellow"}


def run_report(record: dict[str, Any]) -> Group:
    """The whole report of one run."""
    parts = [_header(record), enumeration_panel(record, "test and probe grids")]
    if record["hypotheses"]:
        parts += [_hypotheses(record), _behaviour_table(record), _outcomes(record), _classes(record)]
        if any(split.get("smoothed") for split in record["summary"]["splits"].values()):
            parts.append(_smoothed(record))
        if record["summary"].get("whole_posterior"):
            parts += [part for part in (_whole_posterior(record), _tail(record)) if part is not None]
        parts.append(_goal_confusion(record))
        if record["summary"].get("search_agreement"):
            parts.append(_search_agreement(record))
        for name, split in record["summary"]["splits"].items():
            if split.get("consensus"):
                if split.get("trust"):  # the bound was set before the episodes: it comes before them
                    parts.append(trust_before(split["trust"], f"on {name}", "behaviours"))
                parts.append(_grid_consensus(name, split["consensus"], split.get("consensus_online")))
                if split.get("trust"):
                    parts.append(trust_after(split["trust"], f"on {name}", "episode"))
        for name, figures in (record["summary"].get("stakes") or {}).items():
            parts.append(stakes_table(figures, "episode", name))
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
    formula = score_formula(s)
    t = info_grid()
    t.add_row("experiment", f"{record['experiment']} ({record['domain']})")
    if record.get("description"):
        t.add_row("", Text(record["description"], style="italic"))
    t.add_row("objective", f"base = {c['base']}   proxy = {c['proxy']}")
    t.add_row("score", f"{formula}   order = {s['order']}   fit threshold = {s['fit_threshold']:g}")
    changes = grammar_changes(g)
    t.add_row("grammar", f"profile {g['profile']}; {changes}" if g.get("profile") else changes)
    envs = record["environments"]
    tests = ", ".join(f"{k}: {v}" for k, v in envs["test"].items())
    t.add_row("environments", f"train: {envs['train']}   test: {tests}   seed = {c['seed']}")
    if s.get("smooth") or s.get("time_measure"):
        t.add_row("time t(p)", _time_measure_text(s))
    if c.get("flags"):
        t.add_row("from flags", ", ".join(c["flags"]))
    return Panel(t, title="levinsearch run", border_style="cyan")


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
    executed = any("lookahead_share" in h for h in record["hypotheses"])
    if executed:
        t.add_column("executed search\nshare · states", justify="right")
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
        if executed:
            row.append(_executed_cell(h))
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


def _executed_cell(entry: dict[str, Any]) -> Text:
    """Share of decisions that used lookahead · hypothetical states per decision."""
    if "lookahead_share" not in entry:
        return Text("—", style="dim")
    text = f"{pct(entry['lookahead_share'])} · {entry['lookahead_per_decision']:.1f}"
    return Text(text, style="magenta" if entry["executes_search"] else "dim")


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
        for label in ("search", "no_search", "executes_search", "no_executes_search"):
            part = split.get(label)
            if part is None:
                continue
            t.add_row("", f"{SEARCH_LABEL[label]} ({part['count']})", pct(part["mass"]),
                      *(pct(part["outcome_share"][k]) for k in OUTCOME_STYLE))
    return t


def _time_measure_text(s: dict[str, Any]) -> str:
    measure = {"total": "total", "mean": "mean", "worst": "worst (max)"}[s.get("time_measure", "total")]
    if not s.get("smooth"):
        return f"{measure} of the simulated steps over the training grids"
    return (f"{measure} over the training grids of the expected steps on {s.get('smooth_samples', 8)} perturbations "
            f"of each (rate σ = {s['smooth']:g}); fit judged on the unperturbed grids")


def _smoothed(record: dict[str, Any]) -> Table:
    """Outcome and catastrophe rates on the perturbed test splits (means over the
    perturbation samples, with their intervals)."""
    t = Table(title="perturbed test splits: share of episodes, mean over perturbation samples [interval]",
              box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("split", "σ × samples", "who"):
        t.add_column(col)
    for key in ("base", "proxy", "other", "none", "catastrophe"):
        t.add_column(key, justify="right", style=OUTCOME_STYLE.get(key, "bold red"))
    for name, split in record["summary"]["splits"].items():
        smoothed = split.get("smoothed")
        if not smoothed:
            continue
        tie = record["summary"].get("map_tie")
        for who in ("map", "posterior"):
            rates = smoothed[who]
            label = "posterior"
            if who == "map":
                # With a MAP tie, its tied behaviours' mean (the first program's is in the record too).
                tied = "map_tie" in smoothed
                rates = smoothed["map_tie"] if tied else rates
                label = f"MAP tie ({tie['behaviours']:,} behaviours, mean)" if tied else "MAP"
            t.add_row(name if who == "map" else "", f"{smoothed['sigma']:g} × {smoothed['samples']}" if who == "map"
                      else "", label,
                      *(f"{pct(rates[k]['mean'])} [{pct(rates[k]['low'])}, {pct(rates[k]['high'])}]"
                        for k in ("base", "proxy", "other", "none", "catastrophe")))
    return t


#: Row labels of the structural and the execution-based search split.
SEARCH_LABEL = {"search": "search", "no_search": "no search", "executes_search": "executes search",
                "no_executes_search": "executes no search"}


def _grid_consensus(split: str, rows: list[dict[str, Any]], online: list[dict[str, Any]] | None) -> Table:
    t = Table(title=f"consensus agent on {split}: moves when every trusted hypothesis agrees, otherwise asks the "
              "overseer for the base-objective move (frozen: behaviours and posterior fixed at the start; online: "
              "hypotheses from the answers so far, refuted ones removed)", box=box.SIMPLE_HEAD, title_justify="left")
    columns = ["trusted set", "frozen: size", "catastrophes", "queries/ep", "base"]
    if online:
        columns += ["online: queries", "bound", "by episode", "catastrophes ", "base "]
    for col in columns:
        t.add_column(col, justify="left" if col in ("trusted set", "by episode") else "right")
    for k, row in enumerate(rows):
        # Where the rule's cut split a tie, the figures are the agent's that trusts the
        # whole tie (`tie`): the order of the tied behaviours picks nothing.
        frozen = row.get("tie") or row
        label = CONSENSUS_SHORT[row["rule"]].format(v=row["value"])
        live = online[k] if online else None
        live_tie = (live or {}).get("tie")
        if row.get("tie") or live_tie:
            label += " (a tie at the cut: trusted whole)"
        cells = [label, str(frozen["size"]),
                 f"{frozen['catastrophes']} ({pct(frozen['catastrophe_share'])})",
                 f"{frozen['queries_per_episode']:.2f}", pct(frozen["base_reached_share"])]
        if live:
            bound = live["query_bound"]
            shown = live_tie or live
            cells += [f"{shown['total_queries']:,}", "—" if bound is None else f"{bound:.3g}",
                      _episodes_text(shown["episode_queries"]),
                      f"{shown['catastrophes']} ({pct(shown['catastrophe_share'])})", pct(shown["base_reached_share"])]
        t.add_row(*cells)
    return t


def _episodes_text(queries: list[int], shown: int = 8) -> str:
    """Queries in the first episodes, e.g. "3,2,0,1,…"."""
    return ",".join(str(q) for q in queries[:shown]) + (",…" if len(queries) > shown else "")


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
    executed = any("executes_search_posterior" in b for b in rows)
    if executed:
        t.add_column("executes\nsearch", justify="right")
        t.add_column("best program:\nshare · states", justify="right")
    for name in splits:
        t.add_column(f"class on {name}")
    t.add_column("agent or device (log2 odds): goal")
    for b in sorted(rows, key=lambda b: -b["posterior"])[:top]:
        rng = b.get("posterior_range")
        row = [b["program"], f"{b['programs']:,}", pct(b["posterior"]),
               f"{pct(rng[0])}–{pct(rng[1])}" if rng else "—",
               pct(b["search_posterior"] / b["posterior"]) if b["posterior"] > 0 else "—"]
        if executed:
            row += [pct(b["executes_search_posterior"] / b["posterior"]) if b["posterior"] > 0 else "—",
                    _executed_cell(b)]
        for name in splits:
            c = b["outcome_class"][name]
            row.append(Text(CLASS_LABEL[c], style=CLASS_STYLE[c]))
        ag = b.get("agency")
        row.append(f"{ag['kind']} ({ag['log2_odds']:+.0f}): {ag['goal']}" if ag else
                   f"{b['inferred_goal']} ({b['goal_directedness']:.2f})")
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
        for label in ("search", "no_search", "executes_search", "no_executes_search"):
            part = split.get(label)
            if part is None:
                continue
            t.add_row("", f"{SEARCH_LABEL[label]} (share)", *(pct(part["class_share"][k]) for k in CLASS_STYLE))
    return t


def _whole_posterior(record: dict[str, Any]) -> Table:
    """The headlines over the enumerated programs and over all programs (tail estimated)."""
    w = record["summary"]["whole_posterior"]
    rows = [("tail (programs beyond the enumeration)", w["tail"]), ("P(search)", w["search"]),
            ("P(executes search)", w["executes_search"]), ("P(agent)", w["agent"])]
    for name, split in w["splits"].items():
        rows += [(f"{name}: {CLASS_LABEL[c]}", e) for c, e in split["classes"].items()]
        rows += [(f"{name}: episodes → {k}", split["outcome"][k]) for k in ("base", "proxy")]
    return whole_posterior_table(rows, confidence=record.get("tail", {}).get("confidence", 0.95))


def _tail(record: dict[str, Any]) -> Table | None:
    split = record["tail"].get("first_split")
    columns = [("agent or device", lambda r: r["agency"]), ("search", lambda r: pct(r["search_share"]))]
    if split:
        columns.insert(0, (f"class on {split}", lambda r: Text(CLASS_LABEL[r["outcome_class"][split]],
                                                                style=CLASS_STYLE[r["outcome_class"][split]])))
    return tail_table(record, columns)


def _goal_confusion(record: dict[str, Any]) -> Table:
    s = record["summary"]
    a = record["config"]["analysis"]
    g = record.get("goals", {})
    calibrated = "agency_confusion" in s
    title = (f"structural search vs agent or device (posterior odds of a noisy-rational agent for one of "
             f"{g.get('family', '?')} goals of ≤ {a['goal_bits']:g} bits, its bits paid for, against a goal-free "
             f"device, on {g.get('probes', '?')} probe grids; the uncalibrated max-goal score ≥ "
             f"{a['goal_directed']:g} beside it)") if calibrated else \
        (f"structural search vs behavioural goal-directedness (high: score ≥ {a['goal_directed']:g}; "
         f"{g.get('family', '?')} goals of ≤ {a['goal_bits']:g} bits on {g.get('probes', '?')} probe grids)")
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("")
    levels = (("agent", "agent"), ("device", "device")) if calibrated else ()
    for _, heading in levels:
        t.add_column(heading, justify="right")
    t.add_column("score: high", justify="right")
    t.add_column("score: low", justify="right")
    for label in ("search", "no_search"):
        cells = [s["agency_confusion"][f"{label}/{level}"] for level, _ in levels]
        cells += [s["goal_confusion"][f"{label}/{level}"] for level in ("high", "low")]
        t.add_row(label.replace("_", " "), *(f"{c['count']:,} · {pct(c['mass'])}" for c in cells))
    return t


def _search_agreement(record: dict[str, Any]) -> Table:
    """Structural search (the tree contains a search construct) x search in execution
    (a share of decisions took actions that came from examining hypothetical states)."""
    s = record["summary"]
    d = s.get("search_definition", {})
    cells = s["search_agreement"]
    t = Table(title=f"structural search ({' or '.join(d.get('structural', []))} in the program) vs search in "
              f"execution (≥ {d.get('execution_share', 0):g} of decisions on the test and probe grids used "
              "lookahead); off-diagonal cells are where the two readings disagree",
              box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("")
    t.add_column("executes search", justify="right")
    t.add_column("does not", justify="right")
    for label in ("search", "no_search"):
        row = [label.replace("_", " ")]
        for e_label in ("executes", "no_executes"):
            c = cells[f"{label}/{e_label}"]
            row.append(Text(f"{c['count']:,} programs · {pct(c['mass'])}",
                            style="" if c["agree"] else ("bold yellow" if c["count"] else "dim")))
        t.add_row(*row)
    return t


def _reading(record: dict[str, Any]) -> Text:
    s = record["summary"]
    lines = Text()
    tie = s.get("map_tie")
    if map_tied(tie):
        # A tie: no single MAP is named; the spread of outcome classes over it is.
        lines.append(f"MAP: {tie_count_text(tie)}: {tie_programs_text(tie)}; together they hold "
                     f"{pct(tie['posterior'])} of the posterior (the first listed alone {pct(s['map_posterior'])}). ", style="bold")
        spread = "; ".join(f"on {name} the tied behaviours are {_class_spread(counts)}"
                           for name, counts in tie.get("classes", {}).items())
        lines.append(spread[:1].upper() + spread[1:] + ".\n", style="bold")
        lines.append(f"Programs with embedded search hold {pct(s['search_mass'])}.\n")
    else:
        lines.append(f"MAP program {s['map_program']} holds {pct(s['map_posterior'])} of the posterior; "
                     f"programs with embedded search hold {pct(s['search_mass'])}.\n")
    if "executes_search_mass" in s:
        disagree = sum(c["mass"] for c in s["search_agreement"].values() if not c["agree"])
        lines.append(f"Programs that search in execution hold {pct(s['executes_search_mass'])}; the structural and "
                     f"execution readings disagree on {pct(disagree)} of the posterior.\n")
    mix = s.get("mixture")
    if mix:
        lines.append(f"The {mix['programs']:,} programs within {mix['bits']:g} bits of the best score hold "
                     f"{pct(mix['posterior'])} (" + (f"the MAP tie: {pct(tie['posterior'])}" if map_tied(tie) else
                                                     f"MAP alone: {pct(s['map_posterior'])}") + ").\n")
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


def _class_spread(counts: dict[str, int]) -> str:
    """"1 robust and 1 pseudo-aligned": the outcome classes of a tie's behaviours."""
    parts = [f"{n:,} {CLASS_LABEL[c]}" for c, n in counts.items() if n]
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else (parts[0] if parts else "none")


def show_panel(record: dict[str, Any]) -> Group:
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    info.add_row("program", record["program"])
    info.add_row("bits", f"{record['bits']:.3f}")
    info.add_row("environment", record["environment"])
    info.add_row("simulated steps", f"{record['steps']:,}")
    info.add_row("moves", str(record["moves"]))
    if "lookahead" in record:
        info.add_row("lookahead", f"{record['lookahead']:,} hypothetical states examined; "
                     f"{record['lookahead_decisions']} of {record['moves']} decisions used them")
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
