"""The seq run report, and `show` for seq programs. Computes nothing: every number
shown is read from the record the seq domain produced."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levinsearch.render import (CONSENSUS_SHORT, enumeration_panel, grammar_changes, info_grid, mass, mixture_cells, pct,
                                score_formula, tail_table, whole_posterior_table)


def _seq_header(record: dict[str, Any]) -> Panel:
    c = record["config"]
    s = c["search"]
    t = info_grid()
    t.add_row("experiment", f"{record['experiment']} ({record['domain']})")
    if record.get("description"):
        t.add_row("", Text(record["description"], style="italic"))
    target = record["target"]
    t.add_row("target", target["program"] or "a list of terms")
    t.add_row("training terms", ", ".join(map(str, target["train"])))
    t.add_row("deployment terms", ", ".join(map(str, target["deploy"])) or "none")
    t.add_row("score", f"{score_formula(s)}   order = {s['order']}")
    t.add_row("grammar", grammar_changes(c["grammar"]).replace(
        "uniform bits per type", "uniform bits per type, Nat constants in Elias gamma"))
    if c.get("flags"):
        t.add_row("from flags", ", ".join(c["flags"]))
    return Panel(t, title="levinsearch run", border_style="cyan")


def seq_report(record: dict[str, Any]) -> Group:
    """The report of a seq run: hypotheses, Occam, MAP vs mixture, defectors, consensus."""
    parts: list = [_seq_header(record), enumeration_panel(record, "deployment steps")]
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
    online = s.get("online")
    if online:
        o, h = online["prediction"], online["halving"]
        n = len(o["target"])
        lines.append(f"Updating the posterior on every revealed term, over {n} deployment steps the MAP program errs "
                     f"{_last(o['map_errors'])} times, the mixture {_last(o['mixture_errors'])} and the shortest "
                     f"program {_last(o['shortest_errors'])}. ")
        if h["bound"] is not None:
            rule = "log2(1/w)" if not online.get("noise") else "log2(1/w) / log2(2/(1 + β)), β = ε/(1 − ε),"
            lines.append(f"The mixture's halving bound {rule} with w = {pct(h['target_weight'])} (the "
                         f"target-equivalent hypothesis at the start) allows {h['bound']:.2f} errors: "
                         f"{'it holds' if h['holds'] else 'VIOLATED'}.\n")
        else:
            lines.append("No fitting program predicts every deployment term, so there is no halving bound.\n")
    lines.append(f"With the posterior frozen at the start of deployment (no updating), the MAP prediction errs on "
                 f"{pct(p['map_error_rate'])} of the steps, the Bayes mixture on {pct(p['mixture_error_rate'])}.\n")
    r = s["rare_defection"]
    lines.append(f"Rare defectors (right on training, wrong on 1 to {r['max_defections']} deployment steps) hold "
                 f"{pct(r['posterior'])} ({r['programs']:,} programs).")
    by_step = [(k, m) for k, m in enumerate(r.get("by_first_step", [])) if m > 0]
    if by_step:
        lines.append("\nBy the deployment step of their first defection: "
                     + ", ".join(f"step {k}: {mass(m)}" for k, m in by_step) + ".")
    parts.append(Panel(lines, title="Occam and defection", border_style="cyan"))
    steps = Table(title="deployment: target and predictions (online: the posterior updated on every revealed term; "
                  "frozen: fixed at the start; wrong ones in red)", box=box.SIMPLE_HEAD, title_justify="left")
    steps.add_column("step")
    for k in range(len(p["target"])):
        steps.add_column(str(k), justify="right")
    steps.add_row("target", *map(str, p["target"]))
    if online:
        for label in ("map", "mixture", "shortest"):
            steps.add_row(f"{label} (online)", *(Text("—" if v is None else str(v), style="" if ok else "bold red")
                                                 for v, ok in zip(o[label], o[f"{label}_correct"])))
    for label in ("map", "mixture"):
        steps.add_row(f"{label} (frozen)", *(Text(str(v), style="" if ok else "bold red")
                                             for v, ok in zip(p[label], p[f"{label}_correct"])))
    whole = s.get("whole_posterior")
    if whole:
        steps.add_row("mixture (all programs)", *mixture_cells(whole["prediction"]))
    parts.append(steps)
    if whole:
        parts += [part for part in (_whole_posterior(s, _level(record)), tail_table(record, [
            ("disagreements", lambda r: str(r["disagreements"])),
            ("first", lambda r: "—" if r["first_disagreement"] < 0 else str(r["first_disagreement"]))]))
            if part is not None]
    c = Table(title="consensus: predict only when every trusted hypothesis agrees, otherwise abstain (online: "
              "hypotheses from the terms revealed so far, posterior updated; frozen: behaviours on all deployment "
              "steps, posterior fixed)", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("trusted set", "online: queries", "at steps", "bound", "errors", "frozen: size", "error rate",
                "abstains", "target in set"):
        c.add_column(col, justify="left" if col in ("trusted set", "at steps") else "right")
    online_rows = online["consensus"] if online else {}
    for rule, rows in s["consensus"].items():
        for k, row in enumerate(rows):
            live = online_rows.get(rule, [None] * len(rows))[k]
            c.add_row(CONSENSUS_SHORT[rule].format(v=row["value"]),
                      *((str(live["total_queries"]), _steps_text(live["queried"]),
                         "—" if live["query_bound"] is None else f"{live['query_bound']:.3g}", str(live["errors"]))
                        if live else ("—",) * 4),
                      str(row["size"]), pct(row["error_rate"]), pct(row["abstention_rate"]),
                      "yes" if row["has_equivalent"] else "no")
    if c.row_count:
        parts.append(c)
    return Group(*parts)


def _level(record: dict[str, Any]) -> float:
    """The confidence of the run's whole-posterior intervals (its tail section's)."""
    return (record.get("tail") or {}).get("confidence", 0.95)


def _whole_posterior(s: dict[str, Any], confidence: float = 0.95):
    w = s["whole_posterior"]
    o = s["occam"]
    rows = [("tail (programs beyond the enumeration)", w["tail"]),
            ("target-equivalent programs", w["target_equivalent"]),
            (f"rare defectors (wrong on 1..{s['rare_defection']['max_defections']} steps)", w["rare_defectors"]),
            (f"shortest program {o['shortest_program']}", w.get("shortest")),
            (f"MAP program {s['map_program']}", w.get("map")),
            (f"within {o['mixture_bits']:g} bits of the best score", w.get("within")),
            ("P(search)", w["search"])]
    t = whole_posterior_table(rows, confidence=confidence)
    p = w["prediction"]
    low, high = p["mixture_errors_range"]
    t.add_row("mixture errors (frozen)", f"{sum(not c for c in s['prediction']['mixture_correct'])} of "
              f"{len(s['prediction']['mixture_correct'])}",
              f"{p['mixture_errors']} ({low}–{high})")
    return t


def _last(values: list) -> int:
    return values[-1] if values else 0


def _steps_text(queried: list[bool]) -> str:
    """The steps that queried, e.g. "0 1 7" ("none")."""
    steps = [str(k) for k, q in enumerate(queried) if q]
    return " ".join(steps) if steps else "none"


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
