"""Print the tables of docs/findings.md from the --json files bench/findings.sh saved.

Usage: python bench/findings_tables.py DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from levinsearch.stats import interval

COLUMNS = {"search": "P(search)", "executes_search": "P(exec. search)", "agents": "P(agent)", "robust": "robust",
           "pseudo": "pseudo", "capability_failure": "cap. failure", "proxy_given_search": "P(proxy \\| search)",
           "base": "→ base", "proxy": "→ proxy", "fitting": "fitting"}
HIDDEN_SETTINGS = ("grammar.profile", "experiment.seed")


def share(mean: float | None, low: float | None = None, high: float | None = None) -> str:
    """A share as a percentage, with its 95% interval unless that is under 0.05 points wide."""
    if mean is None:
        return "—"
    if low is None or high - low < 5e-4:
        return f"{100 * mean:.1f}%"
    return f"{100 * mean:.1f}% [{100 * max(low, 0):.1f}, {100 * min(high, 1):.1f}]"


def count(mean: float, low: float, high: float) -> str:
    return f"{mean:,.0f} [{max(low, 0):,.0f}, {high:,.0f}]"


def seeds_table(path: Path) -> None:
    record = json.loads(path.read_text())
    points = record["points"]
    columns = [c for c in COLUMNS if c in points[0]["metrics"]]
    print(f"\n{path.stem}: split {record.get('split')}, {record.get('seeds')} seeds")
    print("| setting | MAP programs | " + " | ".join(COLUMNS[c] for c in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for p in points:
        setting = ", ".join(f"{k.split('.')[-1]}={json.dumps(v)}" for k, v in p["setting"].items()
                            if k not in HIDDEN_SETTINGS) or "—"
        fitted = p["per_seed"]["search"]
        if any(v is None for v in fitted):
            setting += f" ({sum(v is not None for v in fitted)} of {len(fitted)} seeds fit)"
        # A MAP that is a tie lists its first program and the tie's size over the seeds.
        ties = [(t or {}).get("program_count") or 1 for t in p.get("map_ties", [])]
        maps = sorted({str(m) for m in p["map_programs"]})
        tied = (f" (first of a tie of {'–'.join(map(str, sorted(set(t for t in ties if t > 1))))} programs on "
                f"{sum(t > 1 for t in ties)} of {len(ties)} seeds)") if max(ties, default=1) > 1 else ""

        cells = []
        for c in columns:
            iv = p["intervals"].get(c) or [None, None]
            m = p["metrics"].get(c)
            cells.append(count(m, *iv) if c == "fitting" else share(m, *iv))
        print(f"| {setting} | {' / '.join(f'`{m}`' for m in maps)}{tied} | " + " | ".join(cells) + " |")


#: Whole-posterior columns (tail samples): the enumerated metric and its whole_* twin.
WHOLE = {"search": ("P(search)", "whole_search"), "executes_search": ("P(exec. search)", "whole_executes_search"),
         "agents": ("P(agent)", "whole_agents"), "robust": ("robust", "whole_robust"),
         "pseudo": ("pseudo", "whole_pseudo"), "capability_failure": ("cap. failure", "whole_capability_failure"),
         "base": ("→ base", "whole_base"), "proxy": ("→ proxy", "whole_proxy")}


def whole_table(path: Path) -> None:
    """The same points over the whole posterior: the tail's share, and each headline as
    enumerated → all programs (means over the seeds, 95% t-interval over the seeds of
    the all-programs value)."""
    record = json.loads(path.read_text())
    points = record["points"]
    if all(v is None for v in points[0]["per_seed"].get("tail_share", [None])):
        return
    columns = [c for c in WHOLE if c in points[0]["metrics"] and WHOLE[c][1] in points[0]["metrics"]]
    print(f"\n{path.stem}, whole posterior: split {record.get('split')}, {record.get('seeds')} seeds")
    print("| setting | tail share | " + " | ".join(f"{WHOLE[c][0]}: enum. → all" for c in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for p in points:
        setting = ", ".join(f"{k.split('.')[-1]}={json.dumps(v)}" for k, v in p["setting"].items()
                            if k not in HIDDEN_SETTINGS) or "—"

        def cell(name: str) -> str:
            iv = p["intervals"].get(name) or [None, None]
            return share(p["metrics"].get(name), *iv)

        cells = [cell("tail_share")] + [f"{share(p['metrics'].get(c))} → {cell(WHOLE[c][1])}" for c in columns]
        print(f"| {setting} | " + " | ".join(cells) + " |")


def estimate(e: dict | None) -> str:
    if e is None or e.get("estimate") is None:
        return "—"
    return f"{100 * e['estimate']:.1f}% [{100 * e['low']:.1f}, {100 * e['high']:.1f}]"


def seq_whole_table(paths: list[Path]) -> None:
    """The seq runs' headlines, exact over the enumerated programs → over all programs."""
    rows = [(p.stem, json.loads(p.read_text())) for p in paths]
    rows = [(name, r) for name, r in rows if r.get("summary", {}).get("whole_posterior")]
    if not rows:
        return
    keys = (("tail", "tail share"), ("target_equivalent", "target-equivalent"), ("rare_defectors", "rare defectors"),
            ("shortest", "shortest program"), ("search", "P(search)"))
    print("\nseq, whole posterior (exact over the enumerated programs → all programs [95% interval])")
    print("| experiment | tail samples (fitting) | " + " | ".join(label for _, label in keys)
          + " | mixture errors (frozen) |")
    print("|---|---|" + "---|" * (len(keys) + 1))
    for name, r in rows:
        w, t = r["summary"]["whole_posterior"], r["tail"]
        cells = []
        for key, _ in keys:
            e = w.get(key)
            cells.append("—" if e is None else (estimate(e) if key == "tail" else
                                                f"{100 * (e['exact'] or 0):.1f}% → {estimate(e)}"))
        p = w["prediction"]
        errors = sum(not c for c in r["summary"]["prediction"]["mixture_correct"])
        cells.append(f"{errors} → {p['mixture_errors']} [{p['mixture_errors_range'][0]}, {p['mixture_errors_range'][1]}]"
                     f" of {len(p['steps'])}")
        print(f"| {name} | {t['judged']:,} ({t['fitting']:,}) | " + " | ".join(cells) + " |")


def consensus_grid_table(paths: list[Path]) -> None:
    rows = [json.loads(p.read_text())["summary"]["splits"]["blue_doors"] for p in paths]
    frozen, online = [r["consensus"] for r in rows], [r["consensus_online"] for r in rows]
    names = {"top": "top {}", "mass": "smallest set with ≥ 1 − {} of the posterior", "ratio": "posterior ≥ {} × the best's"}

    def cell(values, as_share=False, digits=2):
        iv = interval(values, share=as_share)
        if as_share:
            return share(iv["mean"], iv["low"], iv["high"])
        text = f"{iv['mean']:.{digits}f}"
        return text if iv["high"] - iv["low"] < 1e-9 else f"{text} [{max(iv['low'], 0):.{digits}f}, {iv['high']:.{digits}f}]"

    print(f"\nconsensus-grid, blue_doors, seeds 0-{len(paths) - 1}")
    print("| trusted set | size (frozen) | frozen: catastrophes | frozen: queries/episode | online: catastrophes "
          "| online: queries/episode | online: query bound |")
    print("|---|---|---|---|---|---|---|")
    for i, row in enumerate(frozen[0]):
        sizes = sorted({f[i]["size"] for f in frozen})
        o = [x[i] for x in online]
        print(f"| {names[row['rule']].format(row['value'])} | {'–'.join(map(str, sizes))} "
              f"| {cell([f[i]['catastrophe_share'] for f in frozen], True)} "
              f"| {cell([f[i]['queries_per_episode'] for f in frozen])} | {cell([x['catastrophe_share'] for x in o], True)} "
              f"| {cell([x['queries_per_episode'] for x in o])} | {cell([x['query_bound'] for x in o], digits=1)} |")


def main(folder: str) -> None:
    out = Path(folder)
    for path in sorted(out.glob("*.json")):
        record = json.loads(path.read_text())
        if "points" in record and "per_seed" in record["points"][0]:
            seeds_table(path)
            whole_table(path)
    seq_whole_table([out / f"{name}.json" for name in ("occam", "treacherous-turn", "consensus")
                     if (out / f"{name}.json").exists()])
    grid = sorted(out.glob("consensus-grid-s*.json"))
    if grid:
        consensus_grid_table(grid)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/findings_tables.py DIR")
    main(sys.argv[1])
