"""The grid domain's figures: posterior by behaviour (with the range the unseen programs
allow), posterior mass by outcome class and by outcome per test split, and the
trajectory of one program (`levinsearch show PROGRAM --plot OUT.svg`). Computes
nothing: every number drawn is read from the record (see docs/figures.md)."""
from __future__ import annotations

from typing import Any

from levinsearch import figures as F

#: Object colours as drawn (the world's four colours, Okabe-Ito where it has them).
OBJECT_COLOURS = {"red": "#D55E00", "blue": "#0072B2", "green": "#009E73", "yellow": "#F0E442"}
OUTCOMES = ("base", "proxy", "other", "none")


def run_figures(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A grid run's own figures (the generic ones are added by the domain)."""
    if not record.get("behaviours"):
        return []
    return [("behaviours", behaviours_figure(record)), ("classes", classes_figure(record))]


def behaviours_figure(record: dict[str, Any]):
    """The heaviest behaviours, each by its best program: its posterior (bar; the
    hatched part is the mass of its programs with embedded search), the range unseen
    fitting programs allow (black line), coloured by its outcome class on the first test
    split."""
    rows = sorted(record["behaviours"], key=lambda b: -b["posterior"])
    shown = rows[: F.MAX_BARS]
    splits = list(record["environments"]["test"])
    first = splits[0] if splits else None
    fig = F.new_figure(1.5 + 0.27 * len(shown))
    ax = fig.subplots()
    ys = list(range(len(shown)))[::-1]
    for y, b in zip(ys, shown):
        cls = b["outcome_class"].get(first, "mixed") if first else "mixed"
        ax.barh(y, b["posterior"], color=F.CLASS_COLOURS[cls], height=0.7)
        if b.get("search_posterior"):
            ax.barh(y, b["search_posterior"], color="none", edgecolor="#222222", hatch="////", height=0.7,
                    linewidth=0.0)
        rng = b.get("posterior_range")
        if rng:
            ax.plot(rng, [y, y], color="#222222", linewidth=0.9)
            ax.plot(rng, [y, y], "|", color="#222222", markersize=6)
        ax.text(max(b["posterior"], (rng or [0, 0])[1]) + 0.01, y, f"{100 * b['posterior']:.1f}%  "
                f"({b['programs']:,} program{'s' if b['programs'] != 1 else ''})", va="center", fontsize=6.5)
    ax.set_yticks(ys)
    ax.set_yticklabels([F.short(b["program"]) for b in shown], family="monospace", fontsize=6.5)
    ax.set_xlim(0, 1.18)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    F.percent_axis(ax, "x")
    ax.set_xlabel("posterior mass (line: its range, allowing for fitting programs beyond the enumeration)")
    ax.grid(axis="y", visible=False)
    more = f" (the {len(shown)} heaviest of {len(rows):,})" if len(rows) > len(shown) else ""
    ax.set_title(f"{record['experiment']}: posterior by behaviour{more}", loc="left")
    from matplotlib.patches import Patch
    handles = [Patch(color=F.CLASS_COLOURS[c], label=f"{F.CLASS_LABELS[c]} on {first}")
               for c in F.CLASS_COLOURS if any(b["outcome_class"].get(first) == c for b in shown)] if first else []
    handles.append(Patch(facecolor="white", edgecolor="#222222", hatch="////", label="with embedded search"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3), frameon=False)
    return fig


def classes_figure(record: dict[str, Any]):
    """Per test split, left: the posterior mass of each outcome class, for all fitting
    programs and for those with and without embedded search (a bar's length is the
    group's mass); right: where the posterior sends the split's episodes (base
    objective, proxy, another object, nowhere)."""
    splits = record["summary"]["splits"]
    names = list(splits)
    rows = []  # (label, {class: mass}, {outcome: share} or None)
    for name in names:
        s = splits[name]
        rows.append((f"{name}: all", {c: s["classes"][c]["mass"] for c in F.CLASS_COLOURS}, s["outcome_mass"]))
        for part in ("search", "no_search"):
            g = s[part]
            classes = {c: (g["class_share"][c] or 0.0) * g["mass"] for c in F.CLASS_COLOURS}
            outcomes = {o: (g["outcome_share"][o] or 0.0) * g["mass"] for o in OUTCOMES}
            rows.append((f"{name}: {part.replace('_', ' ')}", classes, outcomes))
    fig = F.new_figure(1.3 + 0.3 * len(rows))
    left, right = fig.subplots(1, 2, sharey=True)
    fig.suptitle(f"{record['experiment']}: posterior mass by outcome class and by where episodes end, "
                 "per test split", fontsize=9)
    ys = list(range(len(rows)))[::-1]
    for ax, k, colours, labels in ((left, 1, F.CLASS_COLOURS, F.CLASS_LABELS),
                                   (right, 2, F.OUTCOME_COLOURS, {o: o for o in OUTCOMES})):
        for key, colour in colours.items():
            starts = []
            for row in rows:
                before = sum(row[k][j] for j in list(colours)[: list(colours).index(key)])
                starts.append(before)
            widths = [row[k][key] for row in rows]
            ax.barh(ys, widths, left=starts, color=colour, height=0.7, label=labels[key])
            for y, x0, w in zip(ys, starts, widths):
                if w >= 0.08:
                    ax.text(x0 + w / 2, y, f"{100 * w:.0f}%", ha="center", va="center", fontsize=6,
                            color="white" if colour not in ("#BBBBBB", "#E69F00", "#999999") else "black")
        ax.set_xlim(0, 1)
        F.percent_axis(ax, "x")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16), ncol=4, frameon=False, handlelength=1.0,
                  columnspacing=0.8)
    left.set_yticks(ys)
    left.set_yticklabels([row[0] for row in rows])
    left.set_title("outcome class", loc="left")
    right.set_title("where episodes end", loc="left")
    return fig


def trajectory_figure(record: dict[str, Any]):
    """One program on one grid (a show record): walls, objects in their colours (D door,
    B box, K key, G gem), the agent's path from its start (circle) to its last cell
    (outlined), and what it reached."""
    from matplotlib.patches import Rectangle
    grid = record["grid"]
    height, width = len(grid), max((len(r) for r in grid), default=0)
    cell = 0.32
    fig = F.new_figure(min(9.0, 1.4 + cell * height), min(F.WIDTH, max(3.6, 0.4 + cell * width)))
    ax = fig.subplots()
    for r, line in enumerate(grid):
        for c, ch in enumerate(line):
            face = "#4D4D4D" if ch == "#" else "white"
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor="#DDDDDD", linewidth=0.4))
    for o in record["objects"]:
        colour, kind = o["object"].split()
        ax.add_patch(Rectangle((o["column"] - 0.4, o["row"] - 0.4), 0.8, 0.8,
                               facecolor=OBJECT_COLOURS.get(colour, "#999999"), edgecolor="#222222", linewidth=0.6,
                               zorder=3))
        ax.text(o["column"], o["row"], kind[0].upper(), ha="center", va="center", fontsize=7, fontweight="bold",
                color="black" if colour == "yellow" else "white", zorder=4)
    path = [tuple(p) for p in record["path"]]
    if path:
        rows_, cols_ = zip(*path)
        ax.plot(cols_, rows_, color="#000000", linewidth=1.6, alpha=0.75, solid_capstyle="round", zorder=2)
        ax.plot([cols_[0]], [rows_[0]], "o", color="#56B4E9", markeredgecolor="black", markersize=6,
                label="start", zorder=5)
        ax.add_patch(Rectangle((cols_[-1] - 0.5, rows_[-1] - 0.5), 1, 1, facecolor="none", edgecolor="#CC79A7",
                               linewidth=2.2, label="last cell", zorder=5))
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    reached = record.get("reached")
    what = f"reached {reached['object']}" if reached else "reached nothing"
    outcome = f" ({record['outcome']})" if record.get("outcome") else ""
    ax.set_title(f"{F.short(record['program'], 48)}\n{F.short(record['environment'], 48)}: {what}{outcome}\n"
                 f"{record['moves']} moves, {record['steps']:,} simulated steps, {record['bits']:.2f} bits",
                 loc="left", fontsize=7)
    if path:
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.0), ncol=2, frameon=False,
                  title="D door · B box · K key · G gem", title_fontsize=6.5)
    return fig
