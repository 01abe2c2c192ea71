"""The tm reports: a run (machines that output the prefix and how they continue), a
machine (`show`), and a census (`tm busy-beaver`, `tm ctm`). Computes nothing: every
number shown is read from a record."""
from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levinsearch.analyses.prediction_report import prediction_block
from levinsearch.render import (enumeration_panel, grammar_changes, info_grid, map_tied, score_formula,
                               tie_programs_text)
from levinsearch.render import pct as _pct

#: The schema of census records (`tm busy-beaver`, `tm ctm`).
CENSUS_SCHEMA = "levinsearch.tm-census/1"
SYMBOL_NAMES = ("0", "1", "end")


def pct(x: float | None) -> str:
    """A share in percent; small nonzero shares with two significant digits (posteriors
    of a few machines among thousands are far below 0.1%)."""
    if x is None or x == 0 or 100 * x >= 0.1:
        return _pct(x)
    return f"{100 * x:.2g}%"


def report(record: dict[str, Any]):
    """The report of any record the tm domain writes."""
    if record.get("schema") == CENSUS_SCHEMA:
        return census_report(record)
    return run_report(record)


# ------------------------------------------------------------------ runs
def _table_text(rows: list[list[str]]) -> str:
    lines = ["     0    1"]
    lines += [f"{s}  {a:>3}  {b:>3}" for s, a, b in rows]
    return "\n".join(lines)


def _continuation(text: str, right: bool | None = None) -> Text:
    style = "" if right is None else ("green" if right else "red")
    return Text(text, style=style)


def _header(record: dict[str, Any]) -> Panel:
    c = record["config"]
    s = c["search"]
    m = c["machines"]
    target = record["target"]
    t = info_grid()
    t.add_row("experiment", f"{record['experiment']} ({record['domain']})")
    if record.get("description"):
        t.add_row("", Text(record["description"], style="italic"))
    if target.get("machine"):
        t.add_row("target", f"the output of {target['machine']} ({target['states']} states, {target['steps']:,} "
                  f"steps): {target['output']}" + ("" if target.get("in_space") else
                                                   "  (outside the hypothesis space)"))
    t.add_row("training prefix", f"{target['prefix'] or '(empty)'}   ({target['train']} bits)")
    intended = target.get("continuation_row")
    t.add_row("deployment", f"the next {target['deploy']} output symbols; intended: "
              + (intended if intended is not None else "none given (no right answer to score)")
              + "   ('-' = the output has ended)")
    t.add_row("machines", f"{', '.join(map(str, m['states']))} states; step cap {m['step_cap']:,} "
              f"({m['step_cap_note']})")
    t.add_row("fits", "halts within the cap with an output (the visited tape segment) that starts with the prefix")
    t.add_row("score", f"{score_formula(s)}   order = {s['order']}   (t(p) = machine steps)")
    t.add_row("grammar", grammar_changes(c["grammar"]).replace(
        "uniform bits per type, 1 step per node",
        "Elias-gamma bits for the state count, uniform transitions, 1 step per transition"))
    if c.get("flags"):
        t.add_row("from flags", ", ".join(c["flags"]))
    note = record["summary"]["search_note"]
    t.add_row("search", Text(note[:1].upper() + note[1:] + "; the report has no search column.", style="dim"))
    return Panel(t, title="levinsearch run", border_style="cyan")


def run_report(record: dict[str, Any]) -> Group:
    """The report of a tm run."""
    parts: list = [_header(record), enumeration_panel(record, "deployment bits")]
    if not record["hypotheses"]:
        parts.append(Panel(Text("No machine halts within the cap with an output that starts with the prefix. "
                                "Raise --max-bits (26 bits reach 3 states, 39 bits 4 states) or shorten the prefix.",
                                style="yellow"), title="no fitting machines"))
        return Group(*parts)
    has_target = record["summary"]["target_continuation"] is not None
    top = record["config"]["search"]["top"]
    t = Table(title=f"top {min(top, len(record['hypotheses']))} of {record['enumeration']['fitting']:,} "
              "fitting machines", box=box.SIMPLE_HEAD, title_justify="left")
    cols = ["#", "machine", "states", "bits", "steps", "score", "posterior", "output", "continuation"]
    if has_target:
        cols.append("first disagreement")
    for col in cols:
        t.add_column(col, justify="left" if col in ("machine", "output", "continuation") else "right",
                     overflow="fold" if col in ("machine", "output") else None)
    for h in record["hypotheses"][:top]:
        out = h["output"] + ("…" if h["output_length"] > len(h["output"]) else "")
        row = [str(h["rank"]), h["program"], str(h["states"]), f"{h['bits']:.3f}", f"{h['steps']:,}",
               f"{h['score']:.3f}", pct(h["posterior"]), out, _continuation(h["continuation"], h.get("right"))]
        if has_target:
            row.append("—" if h["first_disagreement"] < 0 else str(h["first_disagreement"]))
        t.add_row(*row)
    parts.append(t)
    parts.append(_tables(record))
    parts.append(_behaviours(record))
    parts.append(_positions(record))
    parts += prediction_block(record, noun="machine", unit="bit", lead=_lead(record), symbol=lambda v: "01-"[v],
                              tail_columns=[("continuation", lambda r: r["continuation"])])
    return Group(*parts)


def _tables(record: dict[str, Any]) -> Table:
    """The machine tables of the MAP machine and the shortest fitting machine."""
    h = record["hypotheses"][0]
    o = record["summary"]["occam"]
    grid = Table.grid(padding=(0, 4))
    tie = record["summary"].get("map_tie")
    if map_tied(tie):
        # A tie: no one machine's table is shown (the enumeration's order would pick it),
        # but the tie's size, its first machines and the continuations it splits into.
        cells = [Panel(_tie_text(tie), title=f"MAP: a tie of {tie_size(tie)} machines", expand=False)]
    else:
        cells = [Panel(Text(_table_text(h["table"])), title=f"MAP {h['program']}", expand=False)]
    shortest = next((x for x in record["hypotheses"] if x["program"] == o["shortest_program"]), None)
    st = o.get("shortest_tie")
    if st and st["programs"] > 1:
        cells.append(Panel(Text(f"{st['programs']:,} fitting machines are within {st['margin_bits']:g} bits of the "
                                f"shortest ({st['bits']:.3f} bits); they continue "
                                + _continuations(st["continuations"])),
                           title=f"shortest: a tie of {st['programs']:,} machines", expand=False))
    elif shortest is not None and shortest["rank"] != 1:
        cells.append(Panel(Text(_table_text(shortest["table"])), title=f"shortest {shortest['program']}",
                           expand=False))
    for _ in cells:
        grid.add_column()
    grid.add_row(*cells)
    return grid


def tie_size(tie: dict[str, Any]) -> str:
    """A tie's machine count, "at least" where the kept machines may not hold it all."""
    return f"{'at least ' if tie.get('truncated') else ''}{tie['program_count']:,}"


def _tie_text(tie: dict[str, Any]) -> Text:
    """A MAP tie in the tables' place: its machines (the first few), behaviours, mass and
    the continuations they predict."""
    preds = tie.get("predictions", [])
    b = tie["behaviours"]
    text = Text(f"{tie_size(tie)} machines ({b:,} behaviour{'s' if b != 1 else ''}) within {tie['margin_bits']:g} "
                f"bits at score {tie['score']:.3f}, together {pct(tie['posterior'])}: {tie_programs_text(tie)}.")
    if preds:
        text.append("\nThey continue " + _continuations(preds))
    return text


def _continuations(entries: list[dict[str, Any]]) -> str:
    """"0-- (1); --- (1); …": the first continuations of a tie with their behaviours."""
    shown = "; ".join(f"{e['continuation']} ({e['behaviours']:,})" for e in entries[:4])
    return shown + ("; …" if len(entries) > 4 else ".")


def _behaviours(record: dict[str, Any]) -> Table:
    has_target = record["summary"]["target_continuation"] is not None
    sizes = sorted({n for b in record["behaviours"] for n in b["by_states"]}, key=int)
    t = Table(title=f"posterior by continuation ({len(record['behaviours']):,} distinct; '-' = the output has ended)",
              box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("continuation")
    t.add_column("posterior", justify="right")
    t.add_column("machines", justify="right")
    for n in sizes:
        t.add_column(f"{n}-state\nmachines", justify="right")
    t.add_column("best machine", overflow="fold")
    if has_target:
        t.add_column("right", justify="center")
    rows = sorted(record["behaviours"], key=lambda b: -b["posterior"])
    for b in rows[:30]:
        row = [_continuation(b["continuation"], b.get("right")), pct(b["posterior"]), f"{b['programs']:,}"]
        row += [f"{b['by_states'][n]['programs']:,}" if n in b["by_states"] else "" for n in sizes]
        row.append(b["program"])
        if has_target:
            row.append("yes" if b["right"] else "no")
        t.add_row(*row)
    if len(rows) > 30:
        t.caption = f"{len(rows) - 30:,} more continuations in the record"
    return t


def _positions(record: dict[str, Any]) -> Table:
    s = record["summary"]
    t = Table(title="predictive distribution at each deployment position (posterior of 0 / 1 / the output ended)",
              box=box.SIMPLE_HEAD, title_justify="left", min_width=90)
    t.add_column("")
    for k in range(len(s["positions"])):
        t.add_column(str(k), justify="right")
    for name in SYMBOL_NAMES:
        t.add_row(f"P({name})", *(pct(pos[name]) for pos in s["positions"]))
    return t


def _lead(record: dict[str, Any]) -> Text:
    """The tm's own lines of the prediction panel: the next symbol, the posterior by
    machine size, and the machines exactly as short as the shortest."""
    s = record["summary"]
    o = s["occam"]
    has_target = s["target_continuation"] is not None
    lines = Text()
    nxt = s["next_symbol"]
    lines.append(f"Next symbol after the prefix: 0 {pct(nxt['0'])}, 1 {pct(nxt['1'])}, the output ends "
                 f"{pct(nxt['end'])}.\n")
    by = ", ".join(f"{n} states {pct(v['posterior'])} ({v['programs']:,} machines)" for n, v in s["by_states"].items())
    lines.append(f"Posterior by machine size: {by}.\n")
    if o["shortest_ties"] is not None:
        conts = ", ".join(f"{k} ×{v:,}" for k, v in list(o["shortest_tie_continuations"].items())[:6])
        lines.append(f"The shortest fitting machine has {o['shortest_states']} states; {o['shortest_ties']:,} fitting "
                     f"machines are exactly that short ({conts}"
                     + (", …" if len(o["shortest_tie_continuations"]) > 6 else "") + ")"
                     + (f"; {o['shortest_ties_right']:,} of them continue rightly" if has_target else "") + ".\n")
    return lines


# ------------------------------------------------------------------ show
def show_report(record: dict[str, Any]) -> Group:
    info = info_grid()
    info.add_row("machine", record["program"])
    info.add_row("bits", f"{record['bits']:.3f}   ({record['states']} states)")
    info.add_row("step cap", f"{record['step_cap']:,} ({record['step_cap_note']})")
    verdict = "halted" if record["halted"] else "did not halt within the cap"
    info.add_row("run", f"{verdict} after {record['steps']:,} steps; {record['ones']:,} ones on the tape")
    out = record["output"]
    info.add_row("output", (out if len(out) <= 200 else out[:200] + "…") + f"   ({record['output_length']:,} cells)")
    if "prefix" in record:
        info.add_row("experiment", record["experiment"])
        info.add_row("prefix", record["prefix"] or "(empty)")
        info.add_row("fits", "yes" if record["fits"] else "no")
        if record["continuation"] is not None:
            right = record.get("right")
            info.add_row("continuation", Text(record["continuation"], style="" if right is None else
                                              ("green" if right else "red"))
                         + Text("" if right is None else ("  (right)" if right else
                                                           f"  (target {record['target_continuation']})")))
    table = Text(_table_text(record["table"]))
    t = Table(title="tape trace (the visited segment after each step; [ ] = the head)", box=box.SIMPLE_HEAD,
              title_justify="left", min_width=70)
    for col in ("step", "state", "read", "does", "tape"):
        t.add_column(col, justify="right" if col == "step" else "left")
    for r in record["trace"]:
        tape = r["tape"]
        h = r["head_after"] - r["left"]
        text = Text(tape[:h])
        text.append(f"[{tape[h]}]", style="bold cyan")
        text.append(tape[h + 1:])
        t.add_row(str(r["step"]), r["state"], str(r["read"]), r["transition"], text)
    if record["trace_truncated"]:
        t.caption = f"the first {len(record['trace'])} steps of {record['steps']:,}"
    return Group(info, Panel(table, title="machine table", expand=False), t)


# ------------------------------------------------------------------ censuses
def census_report(record: dict[str, Any]) -> Group:
    """`tm busy-beaver` and `tm ctm` records."""
    c = record["config"]
    b = record["busy_beaver"]
    t = info_grid()
    t.add_row("census", f"every {c['states']}-state machine ({record['machines_total']:,}), run from the blank tape "
              f"for at most {c['step_cap']:,} steps ({c['cap_source']})")
    t.add_row("method", c["method_note"])
    status = "complete" if record["complete"] else Text(
        f"interrupted: {record['covered_units']:,} of {record['total_units']:,} {record['unit']} done "
        f"({record['census']['machines']:,} machines); the figures below cover those only", style="bold red")
    t.add_row("status", status)
    t.add_row("time", f"{record['seconds']:.1f} s ({record['backend']}, {record['workers']} workers)"
              + (f", resumed {record['resumed']} time(s)" if record.get("resumed") else ""))
    if record.get("run"):
        t.add_row("saved", record["run"])
        if not record["complete"]:
            t.add_row("resume", f"levinsearch tm {record['command']} --resume {record['run']}")
    parts: list = [Panel(t, title=f"levinsearch tm {record['command']}", border_style="cyan")]

    k = info_grid()
    k.add_row("machines", f"{record['census']['machines']:,}")
    k.add_row("halted", f"{b['halted']:,} within {c['step_cap']:,} steps (of them {b['halted_in_one_step']:,} "
              "in one step)")
    k.add_row("did not halt", f"{b['did_not_halt']:,} within the cap; {b['did_not_halt_meaning']}")
    k.add_row("S", f"{b['max_steps']} steps ({b['max_steps_machines']:,} machines)" if b["max_steps"] >= 0 else "—")
    k.add_row("Σ", f"{b['max_ones']} ones ({b['max_ones_machines']:,} machines)" if b["max_ones"] >= 0 else "—")
    k.add_row("what the cap proves", Text(b["proves"]))
    parts.append(Panel(k, title=f"Busy Beaver, {c['states']} states", border_style="cyan"))
    champs = Table(title="champions (the first by machine index)", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("kind", "machine", "steps", "ones", "output"):
        champs.add_column(col, overflow="fold" if col in ("machine", "output") else None)
    for kind in ("steps", "ones"):
        for m in b[f"{kind}_champions"]:
            champs.add_row("most " + kind, m["program"], str(m["steps"]), str(m["ones"]), m["output"])
    parts.append(champs)
    if b["max_steps"] >= 0 and b["steps_champions"]:
        parts.append(Panel(Text(_table_text(b["steps_champions"][0]["table"])),
                           title=f"{b['steps_champions'][0]['program']}", expand=False))
    if record["command"] == "ctm":
        d = record["ctm"]
        ct = Table(title=f"D({c['states']}): the output distribution of the {d['halted']:,} halting machines "
                   f"({d['distinct']:,} outputs; {d['distinct_completed']:,} completed by complementation)",
                   box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left")
        for col in ("#", "output", "machines", "D", "K = −log2 D", "machines (blank 0-tape)", "D (blank)",
                    "K (blank)"):
            ct.add_column(col, justify="left" if col == "output" else "right")
        rows = d["rows"]
        shown = rows if record.get("top") is None else rows[: record["top"]]
        for i, r in enumerate(shown):
            ct.add_row(str(i + 1), r["output"], f"{r['count']:,}", f"{r['D']:.6g}", f"{r['K']:.4f}",
                       f"{r['raw_count']:,}", f"{r['raw_D']:.6g}" if r["raw_count"] else "0",
                       f"{r['raw_K']:.4f}" if r["raw_count"] else "∞")
        ct.caption = d["convention"] + (f" Showing {len(shown):,} of {len(rows):,}." if len(shown) < len(rows) else "")
        parts.append(ct)
    if record.get("prefix"):
        parts.append(_prefix_table(record))
    if record["command"] == "ctm":
        h = Table(title="halting machines by steps", box=box.SIMPLE_HEAD, title_justify="left", min_width=40)
        h.add_column("steps", justify="right")
        h.add_column("machines", justify="right")
        for steps, n in record["census"]["steps_hist"].items():
            h.add_row(steps, f"{n:,}")
        parts.append(h)
    return Group(*parts)


def _prefix_table(record: dict[str, Any]) -> Table:
    p = record["prefix"]
    n = record["config"]["states"]
    t = Table(title=f"continuations of the prefix {p['prefix'] or '(empty)'} among the {p['machines']:,} halting "
              f"{n}-state machines whose output starts with it (blank 0-tape; '-' = the output has ended)",
              box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left", min_width=100)
    t.add_column("continuation")
    t.add_column("machines", justify="right")
    t.add_column("share", justify="right")
    for r in p["continuations"][:30]:
        t.add_row(r["continuation"], f"{r['machines']:,}", pct(r["share"]))
    if p["machines"]:
        nxt = p["next_symbol"]
        t.caption = (f"Next symbol: 0 {pct(nxt['0'])}, 1 {pct(nxt['1'])}, the output ends {pct(nxt['end'])}. "
                     f"Every {n}-state machine has the same prior, so these shares are the posterior of a tm run "
                     f"over {n}-state machines under description length alone (time weight 0)."
                     + (f" {len(p['continuations']) - 30:,} more continuations in the record."
                        if len(p["continuations"]) > 30 else ""))
    return t
