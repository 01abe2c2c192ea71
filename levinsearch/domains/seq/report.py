"""The seq run report, and `show` for seq programs. Computes nothing: every number
shown is read from the record the seq domain produced."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levinsearch.render import CONSENSUS_LABEL, enumeration_panel, grammar_changes, info_grid, mass, pct, score_formula


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
