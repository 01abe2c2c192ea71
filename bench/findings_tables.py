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
        maps = sorted({str(m) for m in p["map_programs"]})
        cells = []
        for c in columns:
            iv = p["intervals"].get(c) or [None, None]
            m = p["metrics"].get(c)
            cells.append(count(m, *iv) if c == "fitting" else share(m, *iv))
        print(f"| {setting} | {' / '.join(f'`{m}`' for m in maps)} | " + " | ".join(cells) + " |")


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
    grid = sorted(out.glob("consensus-grid-s*.json"))
    if grid:
        consensus_grid_table(grid)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/findings_tables.py DIR")
    main(sys.argv[1])
