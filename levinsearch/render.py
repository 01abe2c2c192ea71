"""Rendering pieces every domain's report uses: number formats, the grammar and score
lines of a header, and the enumeration panel. Computes nothing.

Text from users (experiment names and descriptions, split names, program text, paths)
is shown as text: every console the tool prints with has markup off (`console`), so
`[bold]` in a name is printed as written, and `printable` strips control characters and
terminal escape sequences from everything a record holds before a report shows it.
"""
from __future__ import annotations

import re
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levinsearch.types import RunRecord, Search

#: Control characters (C0 and C1, DEL) and ANSI escape sequences: never printed as they are.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(text: str) -> str:
    """`text` without control characters or terminal escape sequences (newlines and tabs
    are kept)."""
    return _CONTROL.sub("", text)


def printable(value: Any) -> Any:
    """A copy of a record (any JSON value) with every string made `plain_text`, dict keys
    too; iterative, so no nesting depth can overflow the stack."""
    def clean(item: Any) -> Any:
        if isinstance(item, str):
            return plain_text(item)
        if isinstance(item, dict):
            return {}
        if isinstance(item, list):
            return []
        return item

    root = clean(value)
    stack = [(value, root)]
    while stack:
        source, target = stack.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[plain_text(key) if isinstance(key, str) else key] = copy = clean(item)
                if isinstance(item, (dict, list)):
                    stack.append((item, copy))
        elif isinstance(source, list):
            for item in source:
                copy = clean(item)
                target.append(copy)
                if isinstance(item, (dict, list)):
                    stack.append((item, copy))
    return root


def console(**options) -> Console:
    """A console with markup off: strings are printed as written (see the module)."""
    return Console(markup=False, **options)


#: Consoles narrower than this lay out a table that does not fit stacked (`stacked`)
#: rather than let it cut numbers and headings; at this width and above, tables are
#: laid out as they always were.
STACK_BELOW = 120
_UNBOUNDED = 100_000  # a width no table reaches: measures a table's natural width


class Stackable:
    """A table that keeps its columns when it fits (or the console is at least
    STACK_BELOW wide) and is otherwise laid out stacked: one block per row."""

    def __init__(self, table: Table):
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        natural = Measurement.get(console, options.update(max_width=_UNBOUNDED), self.table).maximum
        if console.width >= STACK_BELOW or natural <= options.max_width:
            yield self.table
        else:
            yield stacked(self.table, options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.table)


def stackable(renderable: Any) -> Any:
    """`renderable` with every table that has headings (also inside groups) made
    `Stackable`; panels and grids are left as they are (they wrap their text)."""
    if isinstance(renderable, Group):
        return Group(*(stackable(part) for part in renderable.renderables), fit=renderable.fit)
    if isinstance(renderable, Table) and renderable.show_header and renderable.columns:
        return Stackable(renderable)
    return renderable


def _heading(column) -> Text:
    header = column.header
    text = header.copy() if isinstance(header, Text) else Text(str(header))
    return Text(" ").join(part for part in text.split("\n") if part.plain) if text.plain else text


def stacked(table: Table, width: int) -> Group:
    """`table` as a title and one block per row: each cell under its column's heading,
    the headings in a narrow column of their own, long values wrapped, none cut."""
    parts: list = []
    if table.title:
        parts.append(Text(table.title, style="table.title") if isinstance(table.title, str) else table.title)
    headings = [_heading(column) for column in table.columns]
    # The headings' column: a third of the width, more for a long word (up to half).
    word = max((len(w) for h in headings for w in h.plain.split()), default=1)
    key_width = max(4, min(max(h.cell_len for h in headings), max(width // 3, min(word, width // 2))))
    for r, row in enumerate(table.rows):
        block = Table.grid(padding=(0, 2))
        block.add_column(style="bold", max_width=key_width, overflow="fold")
        block.add_column(overflow="fold")
        for column, heading in zip(table.columns, headings):
            cell = column._cells[r]
            if isinstance(cell, str) and not cell.strip():
                continue  # an empty cell (a continued row) says nothing
            if isinstance(cell, str):
                cell = Text(cell, style=column.style or "")
            block.add_row(heading, cell, style=row.style)
        parts += [Text(""), block]
    if table.caption:
        parts += [Text(""), Text(table.caption) if isinstance(table.caption, str) else table.caption]
    parts.append(Text(""))  # a table ends with a blank line; so does its stacked form
    return Group(*parts)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def share(x: float | None) -> str:
    """A share as a percentage: one decimal, or two significant digits below 0.1%."""
    if x is None:
        return "—"
    if x == 0 or x >= 1e-3:
        return pct(x)
    return f"{100 * x:.2g}%"


def estimate_text(e: dict[str, Any] | None) -> str:
    """A whole-posterior estimate with its interval, e.g. "49.1% (48.9–49.3)"."""
    if e is None or e.get("estimate") is None:
        return "—"
    return f"{share(e['estimate'])} ({share(e['low']).rstrip('%')}–{share(e['high'])})"


def confidence_text(confidence: float) -> str:
    """A confidence level as a percentage: 0.95 -> '95%', 0.975 -> '97.5%'."""
    return f"{100 * float(confidence):.10g}%"


def whole_posterior_table(rows: list[tuple[str, dict[str, Any] | None]], title: str = "",
                          confidence: float = 0.95) -> Table:
    """Headline figures twice: exact over the enumerated programs, and estimated over all
    programs with an interval at `confidence` (the record's tail `confidence`;
    levinsearch.tail)."""
    level = confidence_text(confidence)
    t = Table(title=title or "the whole posterior: each headline over the enumerated programs (exact) and over all "
              f"programs (estimated from the tail samples, {level} interval)", box=box.SIMPLE_HEAD,
              title_justify="left")
    t.add_column("figure")
    t.add_column("enumerated (exact)", justify="right")
    t.add_column(f"all programs ({level} interval)", justify="right")
    for label, e in rows:
        t.add_row(label, share(e["exact"]) if e else "—", estimate_text(e))
    return t


def mixture_cells(prediction: dict[str, Any]) -> list[Text]:
    """The whole-posterior mixture's prediction per step (`tail.Posterior.mixture`):
    wrong ones in red, with ? where the intervals do not decide the step."""
    cells = []
    for step in prediction["steps"]:
        if step is None:
            cells.append(Text("—"))
            continue
        mark = "?" if step["decided"] == "undecided" else ""
        cells.append(Text(f"{step['mixture']}{mark}", style="" if step["correct"] else "bold red"))
    return cells


def tail_table(record: dict[str, Any], columns: list[tuple[str, Any]] = ()) -> Table | None:
    """The tail's behaviours of largest estimated mass; `columns`: (heading, row -> text)
    pairs a domain adds."""
    tail = record.get("tail") or {}
    rows = tail.get("largest") or []
    if not rows:
        return None
    t = Table(title=f"the tail's largest behaviours ({tail['fitting']:,} fitting samples showing "
              f"{tail['behaviours']:,} behaviours; {tail['new_behaviours']:,} of them the enumeration never showed)",
              box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("program", overflow="fold")
    t.add_column("samples", justify="right")
    t.add_column("enumerated", justify="center")
    t.add_column("posterior (all programs)", justify="right")
    for heading, _ in columns:
        t.add_column(heading)
    for row in rows:
        t.add_row(row["program"], f"{row['samples']:,}", "yes" if row["enumerated"] else Text("new", style="yellow"),
                  estimate_text(row["posterior"]), *(read(row) for _, read in columns))
    return t


def mass(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3g}" if x >= 1e-3 or x == 0 else f"{x:.2e}"


def score_formula(search: Search) -> str:
    """The score rule as a formula, e.g. "1·bits(p) + 0·log2 t(p)"."""
    time_term = "log2 t(p)" if search["time_penalty"] == "log" else "t(p)"
    noise = search.get("noise", 0.0)
    likelihood = f" + exception bits (noise ε = {noise:g})" if noise else ""
    return f"{search['length_weight']:g}·bits(p) + {search['time_weight']:g}·{time_term}{likelihood}"


def info_grid() -> Table:
    """The two-column grid of a header or summary panel (labels in bold)."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    return t


def grammar_changes(g: dict[str, Any]) -> str:
    parts = []
    if g["ban"]:
        parts.append("banned " + ", ".join(g["ban"]))
    if g["bits"]:
        parts.append("bits " + ", ".join(f"{k}={v:g}" for k, v in g["bits"].items()))
    if g["cost"]:
        parts.append("cost " + ", ".join(f"{k}={v}" for k, v in g["cost"].items()))
    return "; ".join(parts) or "default (uniform bits per type, 1 step per node)"


#: Depths the enumeration panel lists the posterior bound at (the record has every one).
BOUND_DEPTHS_SHOWN = 6


def enumeration_panel(record: RunRecord, where: str) -> Panel:
    """The enumeration panel; `where`: what the behaviours are distinguished on."""
    e = record["enumeration"]
    t = info_grid()
    compiled = e.get("compile_seconds")
    t.add_row("programs", f"{e['programs']:,} of {e['total']:,} with bits ≤ {e['max_bits']:g}"
              f"   ({e['seconds']:.2f} s" + (f"; kernels compiled or loaded in {compiled:.2f} s more)"
                                           if compiled and compiled >= 0.005 else ")"))
    t.add_row("fitting", f"{e['fitting']:,} programs showing {e.get('behaviours', 0):,} distinct behaviours "
              f"on the {where}")
    t.add_row("complete", f"every program with score ≤ {e['complete_up_to_score']:g} was judged")
    t.add_row("unseen mass", f"{mass(e['unenumerated_mass'])} of Kraft sum {e['kraft_sum']:.4f} lies in "
              f"programs longer than {e['complete_up_to_bits']:g} bits")
    tight = (e.get("unseen_bound") or {}).get("posterior_uncertainty")
    if e.get("posterior_uncertainty") is not None and tight is not None and tight < e["posterior_uncertainty"]:
        u = e["unseen_bound"]
        t.add_row("posterior bound", f"unseen fitting programs could hold at most {pct(tight)} of the posterior "
                  f"(any fitting program spends ≥ {u['min_fit_steps']:,} simulated steps"
                  + (f" and has likelihood ≤ {u['best_likelihood']:.3g}" if u["best_likelihood"] < 1 else "")
                  + f"; from the Kraft tail alone: {pct(e['posterior_uncertainty'])})")
    elif e.get("posterior_uncertainty") is not None:
        t.add_row("posterior bound", f"unseen fitting programs could hold at most "
                  f"{pct(e['posterior_uncertainty'])} of the posterior")
    else:
        t.add_row("posterior bound", "none (needs length weight ≥ 1, and time weight ≥ 1 under Levin order)")
    depths = [row for row in e.get("per_length", []) if row.get("unseen_bound") is not None and row["unseen_bound"] < 1]
    if len(depths) > 1:
        shown = depths[:: max(1, -(-len(depths) // BOUND_DEPTHS_SHOWN))][: BOUND_DEPTHS_SHOWN - 1] + depths[-1:]
        t.add_row("bound by depth", "   ".join(f"≤ {row['bits']:g} bits: {pct(row['unseen_bound'])}"
                                              for row in dict((r["bits"], r) for r in shown).values()))
    tail = record.get("tail")
    if tail:
        region = tail["region"]
        where = (f"beyond {region['min_bits_exclusive']:g} bits" if region["min_bits_exclusive"] is not None
                 else "of any length") + (f" and within {region['max_bits']:g}" if region["max_bits"] is not None
                                          else "") + f", ≤ {region['node_cap']} nodes"
        if tail["mass"] <= 0 and tail["unresolved_mass"] <= 0:
            t.add_row("tail samples", "none needed: the enumeration reached every program, so the posterior is exact")
        elif tail["judged"] == 0:
            t.add_row("tail samples", Text(f"none of {tail['samples']:,} judged: the run stopped before its tail "
                                           "samples; resume it for the whole-posterior estimate", style="yellow"))
        else:
            t.add_row("tail samples", f"{tail['judged']:,} of {tail['samples']:,} programs drawn from the prior {where} "
                      f"(their prior mass {mass(tail['mass'])}; {tail['attempts']:,} draws): {tail['fitting']:,} fit, "
                      f"showing {tail['behaviours']:,} behaviours, {tail['new_behaviours']:,} never enumerated")
            t.add_row("whole posterior", Text(
                f"programs beyond the enumeration hold an estimated {estimate_text(tail['share'])} of the posterior "
                f"({confidence_text(tail.get('confidence', 0.95))} interval, {tail['method']}; the posterior bound "
                "above is a worst case, not an estimate)",
                style="bold"))
            if tail["unresolved_mass"] > 0:
                t.add_row("unresolved", f"programs of more than {region['node_cap']} nodes (prior mass ≤ "
                          f"{mass(tail['unresolved_mass'])}) are not sampled: every interval counts them at their "
                          "worst case")
    if "levin_steps" in e:
        t.add_row("Levin search", f"{e['levin_steps']:,} simulated steps over phases 1..{e['max_bits']:g}; "
                  f"{e['uncertified']:,} programs ran out of budget")
    if e.get("interrupted") and tail and e["next_index"] >= e["total"]:
        t.add_row("interrupted", Text(f"stopped by the user after {tail['judged']:,} of {tail['samples']:,} tail "
                                      "samples; the estimate uses those judged", style="bold red"))
    elif e.get("interrupted"):
        t.add_row("interrupted", Text(f"stopped by the user before program {e['next_index']:,}; results cover "
                                      "the programs judged", style="bold red"))
        if record.get("run"):
            t.add_row("resume", f"levinsearch run --resume {record['run']}")
    if record.get("run"):
        t.add_row("saved", record["run"])
    return Panel(t, title="enumeration", border_style="cyan")


CONSENSUS_LABEL = {"top": "top {v:g}", "mass": "smallest set with ≥ 1 − {v:g} of the posterior",
                   "ratio": "posterior ≥ {v:g} × the best's"}
#: The same rules in a table's narrow first column.
CONSENSUS_SHORT = {"top": "top {v:g}", "mass": "mass ≥ 1 − {v:g}", "ratio": "≥ {v:g} × best"}


def trust_before(trust: dict[str, Any], where: str, units: str) -> Text:
    """The --trust rule, its demonstrator and the query bound set before deployment (a
    record's `trust`); `units`: what the count bound counts (e.g. "behaviours")."""
    rule = CONSENSUS_SHORT[trust["rule"]].format(v=trust["value"])
    if trust["max_queries"] is None:
        why = ("the demonstrator is not among the hypotheses" if trust["demonstrator"] is None
               else "noise: nothing is refuted for good")
        return Text(f"trust {where}: {rule}; no query bound in advance ({why})")
    how = (f"min({units} − 1, (1 − w)/(α·w))" if trust["rule"] == "ratio" else f"{units} − 1")
    w = trust["demonstrator_weight"]
    return Text(f"trust {where}: {rule}; demonstrator {trust['demonstrator']} at w = {w:.4g}; "
                f"query bound set in advance: {how} = {trust['query_bound']:.4g}, so at most "
                f"{trust['max_queries']:,} queries")


def trust_after(trust: dict[str, Any], where: str, per: str | None = None) -> Text:
    """The online consensus agent's queries against the bound of `trust_before`; `per`:
    the unit of a per-unit rate the record holds (e.g. "episode")."""
    n = trust["total_queries"]
    rate = f" ({trust[f'queries_per_{per}']:.2f} per {per})" if per else ""
    verdict = ("" if trust["within_bound"] is None else ", within the bound" if trust["within_bound"]
               else ", OVER the bound")
    failed = "; the demonstrator was refuted, so the bound's assumption failed" if trust["demonstrator_refuted"] else ""
    whole = " (the rule's cut split a tie, trusted whole)" if trust.get("tie_trusted_whole") else ""
    return Text(f"trust {where}: the online agent{whole} made {n:,} {'query' if n == 1 else 'queries'}{rate}{verdict}"
                f"{failed}")


# ------------------------------------------------------------------ MAP ties
#: Tied programs named in a report line; the rest are counted.
TIE_PROGRAMS_SHOWN = 4


def map_tied(tie: dict[str, Any] | None) -> bool:
    """Whether a record's `map_tie` holds more than one program or behaviour (records
    from before ties were recorded have none: no tie is claimed)."""
    return bool(tie) and (tie["program_count"] > 1 or tie.get("behaviours", 1) > 1)


def tie_count_text(tie: dict[str, Any], noun: str = "program") -> str:
    """"a tie of 8 programs (3 behaviours) within 0.01 bits at score 19.505"; "at least"
    when the kept programs may not hold the whole tie (`noun`: what a program is called)."""
    n = f"at least {tie['program_count']:,}" if tie.get("truncated") else f"{tie['program_count']:,}"
    behaviours = tie["behaviours"]
    return (f"a tie of {n} {noun}s ({behaviours:,} behaviour{'s' if behaviours != 1 else ''}) within "
            f"{tie['margin_bits']:g} bits at score {tie['score']:.3f}")


def tie_programs_text(tie: dict[str, Any]) -> str:
    """The tied programs, the first few by name: "(plan red), (plan door)"."""
    names = [p["program"] for p in tie["programs"][:TIE_PROGRAMS_SHOWN]]
    rest = tie["program_count"] - len(names)
    return ", ".join(names) + (f" and {rest:,} more" if rest > 0 else "")


def map_cell(program: str | None, tie: dict[str, Any] | None) -> str:
    """The MAP program as a table cell: "(plan red) +1 tied" when it is one of a tie."""
    if program is None:
        return "—"
    if not map_tied(tie):
        return program
    extra = max(tie["program_count"], tie.get("behaviours", 1)) - 1
    return f"{program} +{extra:,}{'+' if tie.get('truncated') else ''} tied"
