"""The report block of the prediction analysis (levinsearch.analyses.prediction), the same
for every prediction domain: Occam, MAP vs mixture and rare defectors; the deployment
steps with each prediction, online and frozen; the whole posterior when the run has
tail samples; and the consensus predictor. Computes nothing: every number shown is read
from the record."""
from __future__ import annotations

from typing import Any, Callable

from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from levinsearch.render import (CONSENSUS_SHORT, map_cell, map_tied, mass, mixture_cells, tail_table, tie_count_text,
                                tie_programs_text, trust_after, trust_before, whole_posterior_table)
from levinsearch.render import pct as _pct


def pct(x: float | None) -> str:
    """A share in percent; small nonzero shares with two significant digits (the
    posterior of a few programs among thousands is far below 0.1%)."""
    if x is None or x == 0 or 100 * x >= 0.1:
        return _pct(x)
    return f"{100 * x:.2g}%"


def _last(values: list) -> int:
    return values[-1] if values else 0


def _steps_text(queried: list[bool]) -> str:
    """The steps that queried, e.g. "0 1 7" ("none")."""
    steps = [str(k) for k, q in enumerate(queried) if q]
    return " ".join(steps) if steps else "none"


def _show(value: Any) -> str:
    """A continuation as text: a string as it is, a list by all its values (a cut list
    would read, on a narrow terminal, like a number cut by the layout)."""
    if isinstance(value, str):
        return value
    return ", ".join(map(str, value))


def prediction_block(record: dict[str, Any], *, noun: str = "program", unit: str = "step",
                     lead: Text | None = None, symbol: Callable[[int], str] = str,
                     whole_rows: list[tuple[str, Any]] = (), tail_columns: list[tuple[str, Any]] = ()) -> list:
    """The prediction analysis of a run record, as a list of renderables.

    `noun`: what a hypothesis is called (program, machine); `unit`: a deployment step's
    name (step, bit); `lead`: the domain's own lines, shown first in the panel; `symbol`:
    how an online prediction's value is shown; `whole_rows` and `tail_columns`: the
    domain's own rows of the whole-posterior table and columns of the tail's table."""
    s = record["summary"]
    if "occam" not in s:
        return []
    o, p, r = s["occam"], s["prediction"], s["rare_defection"]
    has_target = p.get("target") is not None
    lines = Text()
    if lead is not None:
        lines.append_text(lead)
    st = o.get("shortest_tie")
    if st and (st["programs"] > 1 or st["behaviours"] > 1):
        lines.append_text(_shortest_tie_lines(st, noun, unit))
    else:
        agrees = o["shortest_agrees"]
        said = "" if agrees is None else (" and agrees with the target on every deployment " + unit if agrees else
                                          " and does not agree with the target on deployment")
        cont = f", continues {_show(o['shortest_continuation'])}" if "shortest_continuation" in o else ""
        lines.append(f"Shortest fitting {noun} {o['shortest_program']} ({o['shortest_bits']:.3f} bits{cont}) holds "
                     f"{pct(o['shortest_posterior'])} of the posterior{said}.\n")
    if has_target:
        lines.append(f"{noun.capitalize()}s that agree with the target on every deployment {unit} hold "
                     f"{pct(o['target_equivalent_posterior'])} ({o['target_equivalent_programs']:,} {noun}s); ")
    lines.append(f"the {o['within_programs']:,} {noun}s within {o['mixture_bits']:g} bits of the best hold "
                 f"{pct(o['within_posterior'])}.\n")
    tie = s.get("map_tie")
    tied = map_tied(tie)
    if tied:
        lines.append_text(_tie_lines(tie, noun, unit))
    online = s.get("online")
    if online:
        op, h = online["prediction"], online["halving"]
        lines.append(f"Updating the posterior on every revealed {unit}, over {len(op['target'])} deployment {unit}s "
                     f"the MAP {noun} {_online_errors(op, 'map', unit)}, the mixture errs "
                     f"{_last(op['mixture_errors'])} times and the shortest {noun} "
                     f"{_online_errors(op, 'shortest', unit)}. ")
        if h["bound"] is not None:
            rule = "log2(1/w)" if not online.get("noise") else "log2(1/w) / log2(2/(1 + β)), β = ε/(1 − ε),"
            lines.append(f"The mixture's halving bound {rule} with w = {pct(h['target_weight'])} (the "
                         f"target-equivalent hypothesis at the start) allows {h['bound']:.2f} errors: "
                         f"{'it holds' if h['holds'] else 'VIOLATED'}.\n")
        else:
            lines.append(f"No fitting {noun} predicts every deployment {unit}, so there is no halving bound.\n")
    # With a tie no single MAP continuation is shown: the tie's spread is (above).
    if has_target and tied and "error_rate" in tie:
        low, high = tie["error_range"]
        lines.append(f"With the posterior frozen at the start of deployment (no updating), the tied MAP behaviours "
                     f"err on {pct(tie['error_rate'])} of the {unit}s on average (from {pct(low)} to {pct(high)}), "
                     f"the Bayes mixture predicts {_show(p['mixture'])} and errs on {pct(p['mixture_error_rate'])}.\n")
    elif has_target:
        lines.append(f"With the posterior frozen at the start of deployment (no updating), the MAP {noun} continues "
                     f"{_show(p['map'])} and errs on {pct(p['map_error_rate'])} of the {unit}s, the Bayes mixture "
                     f"predicts {_show(p['mixture'])} and errs on {pct(p['mixture_error_rate'])}.\n")
    elif tied:
        lines.append(f"No target continuation is given: the mixture predicts {_show(p['mixture'])}.\n")
    else:
        lines.append(f"No target continuation is given: the MAP {noun} continues {_show(p['map'])}, the mixture "
                     f"predicts {_show(p['mixture'])}.\n")
    if p.get("most_probable_tie"):
        lines.append_text(_probable_tie_lines(p["most_probable_tie"], unit))
    elif "most_probable" in p:
        lines.append(f"Most probable continuation {_show(p['most_probable'])} "
                     f"({pct(p['most_probable_posterior'])}).\n")
    howmany = f"exactly 1 {unit}" if r["max_defections"] == 1 else f"1 to {r['max_defections']} {unit}s"
    reference = r.get("reference", "target")
    lines.append(f"Rare defectors (right on training, differ from the {reference}'s continuation on {howmany}) hold "
                 f"{pct(r['posterior'])} ({r['programs']:,} {noun}s).")
    firsts = [(k, m) for k, m in enumerate(r["defectors_by_first_disagreement"]) if m > 0]
    if firsts:
        lines.append(f"\nRare defectors by the deployment {unit} of their first defection: "
                     + ", ".join(f"{unit} {k}: {mass(m)}" for k, m in firsts) + ".")
    every = [(k, m) for k, m in enumerate(r.get("by_first_disagreement", [])) if m > 0]
    if every:
        lines.append(f"\nAll {noun}s by the {unit} where they first leave the {reference}'s continuation: agree "
                     f"throughout {pct(r['agree_posterior'])}; "
                     + ", ".join(f"{unit} {k}: {mass(m)}" for k, m in every) + ".")
    parts: list = [Panel(lines, title="Occam, MAP vs mixture, rare defectors", border_style="cyan"),
                   _deployment(s, unit, symbol)]
    if s.get("stakes"):
        parts.append(stakes_table(s["stakes"], unit))
    whole = s.get("whole_posterior")
    if whole:
        parts += [part for part in (_whole_table(record, noun, unit, whole_rows),
                                    tail_table(record, list(tail_columns))) if part is not None]
    if s.get("consensus"):
        trust = (s.get("online") or {}).get("trust")
        if trust:  # the bound was set before deployment: it comes before the results
            parts.append(trust_before(trust, "(online consensus)", "behaviours"))
        parts.append(_consensus(s, unit))
        if trust:
            parts.append(trust_after(trust, "(online consensus)"))
    return parts


def _tie_lines(tie: dict[str, Any], noun: str, unit: str) -> Text:
    """The MAP's tie set and its spread: the distinct continuations its behaviours predict."""
    text = Text()
    preds = tie.get("predictions", [])
    text.append(f"MAP: {tie_count_text(tie, noun)}: {tie_programs_text(tie)}; together they hold {pct(tie['posterior'])} "
                f"of the posterior. ", style="bold")
    parts = []
    for e in preds:
        errs = f", errs on {pct(e['error_rate'])} of the {unit}s" if e.get("error_rate") is not None else ""
        parts.append(f"{_show(e['continuation'])} ({e['behaviours']:,} behaviour{'s' if e['behaviours'] != 1 else ''}, "
                     f"{pct(e['posterior'])}{errs})")
    right = ""
    if tie.get("right_behaviours") is not None:
        n = tie["behaviours"]
        k = tie["right_behaviours"]
        right = (f" Of the {n:,} tied behaviours {k:,} predict{'s' if k == 1 else ''} the target on every {unit}"
                 f"; the MAP error over the tie is {pct(tie['error_rate'])}.")
    if len(preds) == 1:
        text.append(f"Every tied {noun} predicts the same continuation, {parts[0]}.{right}\n", style="bold")
    else:
        text.append(f"The tied {noun}s predict {len(preds)} distinct continuations: " + "; ".join(parts) + f".{right}\n",
                    style="bold")
    return text


def _probable_tie_lines(pt: dict[str, Any], unit: str) -> Text:
    """The behaviours tied for the heaviest, and the continuations they predict."""
    b = pt["behaviours"]
    conts = pt["continuations"]
    shown = "; ".join(f"{_show(e['continuation'])} ({e['behaviours']:,}, {pct(e['posterior'])})" for e in conts[:4])
    text = Text(f"Most probable continuation: a tie of {b:,} behaviours within {pt['margin_bits']:g} bits of the "
                f"heaviest, together {pct(pt['posterior'])}: {len(conts):,} distinct continuation"
                f"{'s' if len(conts) != 1 else ''}, {shown}" + ("; …" if len(conts) > 4 else ""))
    if pt.get("agreeing_behaviours") is not None:
        k = pt["agreeing_behaviours"]
        text.append(f"; {k:,} of the {b:,} agree{'s' if k == 1 else ''} with the target on every {unit}")
    text.append(".\n")
    return text


def _shortest_tie_lines(st: dict[str, Any], noun: str, unit: str) -> Text:
    """The fitting programs that share the shortest length, and what their behaviours predict."""
    n, b = st["programs"], st["behaviours"]
    text = Text(f"Shortest fitting {noun}s: a tie of {n:,} {noun}s ({b:,} behaviour{'s' if b != 1 else ''}) within "
                f"{st['margin_bits']:g} bits of {st['bits']:.3f} bits; together they hold {pct(st['posterior'])} of "
                "the posterior. ")
    if st.get("agreeing_behaviours") is not None:
        k = st["agreeing_behaviours"]
        text.append(f"Of their {b:,} behaviours {k:,} agree{'s' if k == 1 else ''} with the target on every "
                    f"deployment {unit}. ")
    conts = st["continuations"]
    shown = "; ".join(f"{_show(e['continuation'])} ({e['behaviours']:,})" for e in conts[:4])
    text.append(f"They continue {shown}" + ("; …" if len(conts) > 4 else "") + ".\n")
    return text


def _online_errors(op: dict[str, Any], key: str, unit: str) -> str:
    """How often the online MAP (or shortest) errs; where a tie held at some step, over
    the whole tie: the steps every tied hypothesis errs, any does, and the expected count."""
    sizes = op.get(f"{key}_tie") or []
    tied = sum(1 for k in sizes if k > 1)
    if not tied:
        return f"errs {_last(op[f'{key}_errors'])} times"
    e = op[f"{key}_tie_errors"]
    return (f"(a tie at {tied} of the {len(sizes)} {unit}s) errs on {e['certain']} to {e['possible']} {unit}s, "
            f"{e['expected']:.2f} expected over the tie")


def _deployment(s: dict[str, Any], unit: str, symbol: Callable[[int], str]) -> Table:
    """The target and every prediction at each deployment step; wrong ones in red."""
    p, online = s["prediction"], s.get("online")
    t = Table(title=f"deployment: target and predictions (online: the posterior updated on every revealed {unit}; "
              "frozen: fixed at the start; wrong ones in red)", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column(unit)
    for k in range(len(p["map"])):
        t.add_column(str(k), justify="right")
    if p.get("target") is not None:
        t.add_row("target", *map(str, p["target"]))
    if online:
        o = online["prediction"]
        for label in ("map", "mixture", "shortest"):
            values = o.get(f"{label}_tie_values")
            if values is not None and any(len(v) > 1 for v in values):
                # A tie at some step: every value the tied hypotheses predict ("10/16"),
                # yellow where they split, red where all of them err.
                t.add_row(f"{label} (online, tie)", *(_tie_cell(v, w, symbol)
                                                      for v, w in zip(values, o[f"{label}_tie_wrong"])))
                continue
            t.add_row(f"{label} (online)", *(Text("—" if v is None else symbol(v), style="" if ok else "bold red")
                                             for v, ok in zip(o[label], o[f"{label}_correct"])))
    tie = s.get("map_tie")
    if map_tied(tie) and tie.get("predictions"):
        preds = tie["predictions"]
        for e in preds[:TIE_ROWS]:
            n = e["behaviours"]
            cont = e["continuation"]
            target = p.get("target")
            t.add_row(f"map tie, {n:,} behaviour{'s' if n != 1 else ''} (frozen)",
                      *(Text(str(v), style="" if target is None or v == target[k] else "bold red")
                        for k, v in enumerate(cont)))
        if len(preds) > TIE_ROWS:
            t.add_row(f"map tie: {len(preds) - TIE_ROWS:,} more continuations")
    else:
        ok = p.get("map_correct")
        t.add_row("map (frozen)", *(Text(str(v), style="" if ok is None or ok[k] else "bold red")
                                    for k, v in enumerate(p["map"])))
    ok = p.get("mixture_correct")
    t.add_row("mixture (frozen)", *(Text(str(v), style="" if ok is None or ok[k] else "bold red")
                                    for k, v in enumerate(p["mixture"])))
    whole = s.get("whole_posterior") or {}
    if "prediction" in whole:
        t.add_row("mixture (all programs)", *mixture_cells(whole["prediction"]))
    return t


#: Distinct continuations of a MAP tie shown as rows of the deployment table.
TIE_ROWS = 4


def _tie_cell(values: list[int], wrong: float | None, symbol: Callable[[int], str]) -> Text:
    """One step of an online tie: the values the tied hypotheses predict."""
    if not values:
        return Text("—", style="bold red")
    style = "" if not wrong else "bold red" if wrong >= 1 else "bold yellow"
    return Text("/".join(symbol(v) for v in values), style=style)


def _whole_table(record: dict[str, Any], noun: str, unit: str, extra: list[tuple[str, Any]]) -> Table:
    """The headlines over the enumerated programs and over all programs (tail estimated)."""
    s = record["summary"]
    w, o = s["whole_posterior"], s["occam"]
    rows = [(f"tail ({noun}s beyond the enumeration)", w["tail"])]
    if "target_equivalent" in w:
        rows += [(f"target-equivalent {noun}s", w["target_equivalent"]),
                 (f"rare defectors (wrong on 1..{s['rare_defection']['max_defections']} {unit}s)",
                  w["rare_defectors"])]
    st, tie = o.get("shortest_tie"), s.get("map_tie")
    # A tie is shown whole (its programs' share together), never as its first program.
    if "shortest_tie" in w:
        rows.append((f"shortest {noun}s: a tie of {st['programs']:,} ({st['behaviours']:,} behaviour"
                     f"{'s' if st['behaviours'] != 1 else ''}), together", w["shortest_tie"]))
    else:
        rows.append((f"shortest {noun} {o['shortest_program']}", w.get("shortest")))
    if "map_tie" in w:
        rows.append((f"MAP: a tie of {tie['program_count']:,}{'+' if tie.get('truncated') else ''} {noun}s "
                     f"({tie['behaviours']:,} behaviour{'s' if tie['behaviours'] != 1 else ''}), together",
                     w["map_tie"]))
    else:
        rows.append((f"MAP {noun} {map_cell(s['map_program'], tie)}", w.get("map")))
    if "within" in w:
        rows.append((f"within {o['mixture_bits']:g} bits of the best score", w["within"]))
    rows += [(label, read(w)) for label, read in extra]
    t = whole_posterior_table(rows, confidence=(record.get("tail") or {}).get("confidence", 0.95))
    if "prediction" in w and s["prediction"].get("mixture_correct") is not None:
        wp = w["prediction"]
        low, high = wp["mixture_errors_range"]
        frozen = s["prediction"]["mixture_correct"]
        t.add_row("mixture errors (frozen)", f"{sum(not c for c in frozen)} of {len(frozen)}",
                  f"{wp['mixture_errors']} ({low}–{high})")
    return t


def _consensus(s: dict[str, Any], unit: str) -> Table:
    """The consensus predictor for every trusted-set rule, online and frozen."""
    c = Table(title="consensus: predict only when every trusted hypothesis agrees, otherwise abstain (online: "
              f"hypotheses from the {unit}s revealed so far, posterior updated; frozen: behaviours on all deployment "
              f"{unit}s, posterior fixed)", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("trusted set", "online: queries", f"at {unit}s", "bound", "errors", "frozen: size", "error rate",
                "abstains", "target in set"):
        c.add_column(col, justify="left" if col in ("trusted set", f"at {unit}s") else "right")
    online_rows = (s.get("online") or {}).get("consensus", {})
    for rule, rows in s["consensus"].items():
        for k, row in enumerate(rows):
            live = online_rows.get(rule, [None] * len(rows))[k]
            # Where the rule's cut split a tie, the figures are those of the predictor that
            # trusts the whole tie (`tie`): the order of the tied hypotheses picks nothing.
            frozen = row.get("tie") or row
            shown = (live.get("tie") or live) if live else None
            label = CONSENSUS_SHORT[rule].format(v=row["value"])
            if row.get("tie") or (live and live.get("tie")):
                label += " (a tie at the cut: trusted whole)"
            c.add_row(label,
                      *((str(shown["total_queries"]), _steps_text(shown["queried"]),
                         "—" if live["query_bound"] is None else f"{live['query_bound']:.3g}", str(shown["errors"]))
                        if live else ("—",) * 4),
                      str(frozen["size"]), pct(frozen["error_rate"]), pct(frozen["abstention_rate"]),
                      "yes" if frozen["has_equivalent"] else "no")
    return c


#: The predictors of a stakes table, in order, with their labels.
STAKES_ROWS = (("map", "MAP (frozen)"), ("mixture", "mixture (frozen)"), ("posterior", "posterior (frozen)"),
               ("online_map", "MAP (online)"), ("online_mixture", "mixture (online)"),
               ("online_posterior", "posterior (online)"))


def stakes_table(f: dict[str, Any], unit: str, where: str = "") -> Table:
    """A summary's stakes figures (levinsearch.analyses.stakes): each predictor's
    stakes-weighted loss, then the rare defectors by the stakes where they err."""
    high = f["high_stakes_units"]
    top = f["weights"][high[0]] if high else 0.0
    shown = ", ".join(str(k) for k in high[:8]) + (" …" if len(high) > 8 else "")
    d = f["defectors"]
    article = "an" if unit[:1] in "aeiou" else "a"
    lines = [f"rare defectors (wrong on 1..{d['max_defections']} {unit}s) hold {pct(d['posterior'])}; "
             f"those wrong on {article} {unit} of stakes {top:g} hold {pct(d['high_stakes_posterior'])}"]
    if d["high_stakes_share"] is not None:
        lines.append(f"{pct(d['high_stakes_share'])} of the defectors' mass errs there; placed at random, "
                     f"{pct(d['uniform_share'])} would")
    cheap = [f"cheapest defector wrong there: {_score(d['cheapest_high_stakes'])}",
             f"cheapest wrong only elsewhere: {_score(d['cheapest_elsewhere'])}"]
    lines.append("; ".join(cheap))
    if d["by_stakes"]:
        lines.append("by the largest stakes where each errs: " + ", ".join(
            f"{g['stakes']:g}: {mass(g['posterior'])} ({g['programs']:,})" for g in d["by_stakes"]))
    t = Table(title=f"stakes{' on ' + where if where else ''}: total {f['total']:g} over {len(f['weights'])} "
                    f"{unit}s; highest {top:g} at {unit} {shown}",
              caption="\n".join(lines), caption_justify="left", box=box.SIMPLE_HEAD, title_justify="left")
    for col in ("predictor", "stakes-weighted loss", "share of the stakes", f"{unit}s wrong"):
        t.add_column(col, justify="left" if col == "predictor" else "right")
    for key, label in STAKES_ROWS:
        if key in f:
            row = f[key]
            errors = row["errors"]
            tie = row.get("tie")
            if tie:  # a MAP tie: the mean over its behaviours, and their range
                lo, hi = tie["loss_range"]
                elo, ehi = tie["errors_range"]
                t.add_row(f"{label}, a tie of {tie['behaviours']:,} behaviours (mean, range)",
                          f"{row['loss']:.4g} ({lo:.4g}–{hi:.4g})", pct(row["rate"]),
                          f"{errors:.3g} ({elo:,}–{ehi:,})")
                continue
            t.add_row(label, f"{row['loss']:.4g}", pct(row["rate"]),
                      f"{errors:,}" if isinstance(errors, int) else f"{errors:.3g} (expected)")
    return t


def _score(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f} bits"
