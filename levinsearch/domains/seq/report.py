"""The seq run report, and `show` for seq programs. Computes nothing: every number
shown is read from the record the seq domain produced."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levinsearch.analyses.prediction_report import prediction_block
from levinsearch.render import enumeration_panel, grammar_changes, info_grid, pct, score_formula


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
    parts += prediction_block(record, whole_rows=[("P(search)", lambda w: w["search"])], tail_columns=[
        ("disagreements", lambda r: str(r["disagreements"])),
        ("first", lambda r: "—" if r["first_disagreement"] < 0 else str(r["first_disagreement"]))])
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
