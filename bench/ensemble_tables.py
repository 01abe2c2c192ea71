"""Print the prior-ensemble tables of docs/findings.md ("What survives a change of
encoding") from the --json files bench/ensemble_findings.sh saved.

Per headline: its value under the given grammar (mean over the seeds, 95% t-interval
over the seeds), and over the drawn encodings the median of the per-seed medians and
the span of the per-seed 5-95% ranges (lowest 5% quantile to highest 95% quantile).
Per directional statement: on how many seeds it holds under the given grammar, and the
share of encodings in which it holds, as the mean over the seeds with its interval
over the seeds, and the five per-seed shares. The two intervals are never pooled.

Usage: python bench/ensemble_tables.py DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from levinsearch.stats import interval

from findings_tables import share  # bench/ is on the path when run as a script

HEADLINES = {"search": "P(search)", "agents": "P(agent)", "robust": "robust", "pseudo": "pseudo",
             "capability_failure": "cap. failure", "proxy_given_search": "P(proxy \\| search)",
             "base": "→ base", "proxy": "→ proxy",
             # seq
             "equivalent": "P(target-equivalent)", "defectors": "P(rare defector)", "shortest": "P(shortest)",
             "map_error": "MAP error", "mixture_error": "mixture error"}
HIDDEN_SETTINGS = ("grammar.profile", "experiment.seed")


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def setting_text(p: dict) -> str:
    return ", ".join(f"{k.split('.')[-1]}={json.dumps(v)}" for k, v in p["setting"].items()
                     if k not in HIDDEN_SETTINGS) or "—"


def seeds_ensemble_table(path: Path, record: dict) -> None:
    points = [p for p in record["points"] if p.get("ensemble")]
    if not points:
        return
    first = points[0]["ensemble"][0]
    names = [n for n in HEADLINES if n in first["headlines"]]
    print(f"\n{path.stem}: split {record.get('split')}, {len(points[0]['ensemble'])} seeds, "
          "headline: given [interval over seeds] · median over draws (5–95% over draws, all seeds)")
    print("| setting | " + " | ".join(HEADLINES[n] for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for p in points:
        cells = []
        for n in names:
            iv = (p.get("intervals") or {}).get(n) or [None, None]
            given = share(p["metrics"].get(n), *iv)
            triples = [e["headlines"][n] for e in p["ensemble"] if e["headlines"][n][0] is not None]
            if not triples:
                cells.append(f"{given} · —")
                continue
            medians = sorted(t[0] for t in triples)
            mid = medians[len(medians) // 2] if len(medians) % 2 else (medians[len(medians) // 2 - 1]
                                                                       + medians[len(medians) // 2]) / 2
            low, high = min(t[1] for t in triples), max(t[2] for t in triples)
            cells.append(f"{given} · {pct(mid)} ({pct(low)}–{pct(high)})")
        print(f"| {setting_text(p)} | " + " | ".join(cells) + " |")
    directions = list(first["directions"])
    print(f"\n{path.stem}: share of encodings in which each direction holds (mean over seeds [interval over "
          "seeds]; per seed); holds under the given grammar on n of the seeds")
    print("| setting | " + " | ".join(directions) + " | MAP kept (per seed) |")
    print("|---|" + "---|" * (len(directions) + 1))
    for p in points:
        cells = []
        for d in directions:
            key = f"encodings_{d}"
            iv = (p.get("intervals") or {}).get(key) or [None, None]
            per_seed = [e["directions"][d] for e in p["ensemble"]]
            given = _given_holds(p, d)
            cells.append(f"{share(p['metrics'].get(key), *iv)}; {' '.join(pct(s) for s in per_seed)}; given {given}")
        kept = " ".join(pct(e["map_same_share"]) for e in p["ensemble"])
        print(f"| {setting_text(p)} | " + " | ".join(cells) + f" | {kept} |")


def _given_holds(p: dict, direction: str) -> str:
    """On how many seeds a direction holds under the given grammar (from the per-seed metrics)."""
    per = p.get("per_seed") or {k: [v] for k, v in p["metrics"].items()}
    rules = {"pseudo_over_robust": ("pseudo", "robust", None), "robust_over_pseudo": ("robust", "pseudo", None),
             "proxy_over_base": ("proxy", "base", None), "search_majority": ("search", None, 0.5),
             "agent_majority": ("agents", None, 0.5), "equivalent_majority": ("equivalent", None, 0.5),
             "equivalent_over_defectors": ("equivalent", "defectors", None),
             "mixture_beats_map": ("map_error", "mixture_error", None)}
    if direction not in rules:
        return "?"
    a, b, level = rules[direction]
    xs = per.get(a) or []
    ys = per.get(b) if b else [level] * len(xs)
    outcomes = [x > y for x, y in zip(xs, ys or []) if x is not None and y is not None]
    return f"{sum(outcomes)}/{len(outcomes)}"


def run_ensemble_table(path: Path, record: dict) -> None:
    ens = record["ensemble"]
    covered = [d["fitting"] for d in ens["per_draw"]]
    print(f"\n{path.stem}: {ens['draws']} draws, c = {ens['concentration']:g}, complete to "
          f"{ens['complete_up_to_bits']:g} bits; fitting programs inside each draw's bound: "
          f"{min(covered)}–{max(covered)} (of {record['summary'].get('fitting', '?')})")
    print("| headline | given | median over draws | 5–95% over draws | draws defined |")
    print("|---|---|---|---|---|")
    for h in ens["headlines"]:
        if h["name"] in HEADLINES:
            print(f"| {HEADLINES[h['name']]} | {_value(h['given'])} | {_value(h['median'])} "
                  f"| {_value(h['low'])}–{_value(h['high'])} | {h['defined']} |")
    print("| direction | given | share of encodings | draws defined |")
    print("|---|---|---|---|")
    for d in ens["directions"]:
        print(f"| {d['statement']} | {d['given']} | {pct(d['share'])} | {d['defined']} |")
    top = ", ".join(f"`{p}` {n}" for p, n in list(ens["map"]["programs"].items())[:4])
    print(f"MAP kept (drawn MAP inside the given MAP tie {ens['map']['given']}): {pct(ens['map']['same_share'])}; "
          f"drawn MAPs: {top}")


def _value(x) -> str:
    if x is None:
        return "—"
    return pct(x) if 0 <= x <= 1 else f"{x:g}"


def consensus_ties_table(paths: list[Path]) -> None:
    """consensus-grid over the seeds, each top-N or mass row twice where its cut splits a
    tie: as the enumeration's order cuts it, and with the tie trusted whole (`tie`)."""
    rows = [json.loads(p.read_text())["summary"]["splits"]["blue_doors"] for p in paths]
    names = {"top": "top {}", "mass": "mass 1 − {}", "ratio": "ratio {}"}

    def cell(values, as_share=False):
        iv = interval(values, share=as_share)
        if as_share:
            return share(iv["mean"], iv["low"], iv["high"])
        text = f"{iv['mean']:.2f}"
        return text if iv["high"] - iv["low"] < 1e-9 else f"{text} [{max(iv['low'], 0):.2f}, {iv['high']:.2f}]"

    def figures(frozen, online):
        return (f"{'–'.join(map(str, sorted({f['size'] for f in frozen})))} | "
                f"{cell([f['catastrophe_share'] for f in frozen], True)} "
                f"| {cell([f['queries_per_episode'] for f in frozen])} "
                f"| {cell([o['catastrophe_share'] for o in online], True)} "
                f"| {cell([o['queries_per_episode'] for o in online])}")

    print(f"\nconsensus-grid, blue_doors, seeds 0-{len(paths) - 1}: as cut by the enumeration's order, "
          "and with a tie at the cut trusted whole (frozen: seeds whose cut splits a tie; online: steps)")
    print("| trusted set | seeds with a tie at the cut (frozen / online) | size | frozen: catastrophes "
          "| frozen: queries/episode | online: catastrophes | online: queries/episode |")
    print("|---|---|---|---|---|---|---|")
    for i, first in enumerate(rows[0]["consensus"]):
        frozen = [r["consensus"][i] for r in rows]
        online = [r["consensus_online"][i] for r in rows]
        ft = sum(f.get("tie") is not None for f in frozen)
        ot = sum(o.get("tie") is not None for o in online)
        label = names[first["rule"]].format(first["value"])
        print(f"| {label} | {ft} / {ot} | {figures(frozen, online)} |")
        if ft or ot:
            whole_f = [f["tie"] or f for f in frozen]
            whole_o = [o["tie"] or o for o in online]
            print(f"| {label}, tie trusted whole | | {figures(whole_f, whole_o)} |")


def main(folder: str) -> None:
    out = Path(folder)
    for path in sorted(out.glob("*.json")):
        if path.stem.startswith("consensus-grid-s"):
            continue
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError:
            print(f"\n{path.stem}: no record (unfinished run)")
            continue
        if "points" in record:
            seeds_ensemble_table(path, record)
        elif record.get("ensemble"):
            run_ensemble_table(path, record)
    grid = sorted(out.glob("consensus-grid-s*.json"))
    if grid:
        consensus_ties_table(grid)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/ensemble_tables.py DIR")
    main(sys.argv[1])
