"""The seq domain's figures: posterior by behaviour (each a continuation of the
sequence), the errors over deployment steps (online and frozen) with the consensus
predictor's queries, and one program's predictions (`show PROGRAM --experiment SEQ
--plot OUT.svg`). Computes nothing: every number drawn is read from the record (see
docs/figures.md)."""
from __future__ import annotations

from typing import Any

from levinsearch import figures as F

KIND_COLOURS = {"equivalent": "#009E73", "defector": "#D55E00", "other": "#999999"}
#: Deployment values a behaviour's label shows before an ellipsis.
CONTINUATION_TERMS = 5


def run_figures(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A seq run's own figures (the generic ones are added by the domain)."""
    if not record.get("behaviours"):
        return []
    out = [("behaviours", behaviours_figure(record))]
    if record["summary"].get("online"):
        out.append(("online", online_figure(record)))
    return out


def _kind(b: dict[str, Any], max_defections: int) -> str:
    if b["disagreements"] == 0:
        return "equivalent"
    return "defector" if b["disagreements"] <= max_defections else "other"


def _continuation(values: list[int]) -> str:
    head = ", ".join(str(v) for v in values[:CONTINUATION_TERMS])
    return head + (", …" if len(values) > CONTINUATION_TERMS else "")


def behaviours_figure(record: dict[str, Any]):
    """The heaviest behaviours (continuations of the sequence), each labelled by its
    first deployment predictions and its best program; green: agrees with the target on
    every deployment step, vermilion: a rare defector (wrong on 1..max_defections
    steps), grey: wrong more often. Below: the rare defectors' posterior by the
    deployment step of their first defection."""
    s = record["summary"]
    max_def = s.get("rare_defection", {}).get("max_defections", 0)
    rows = sorted(record["behaviours"], key=lambda b: -b["posterior"])
    shown = rows[: F.MAX_BARS]
    fig = F.new_figure(2.6 + 0.3 * len(shown))
    ax, steps_ax = fig.subplots(2, 1, height_ratios=(max(len(shown), 2) * 0.3, 1.1))
    ys = list(range(len(shown)))[::-1]
    for y, b in zip(ys, shown):
        kind = _kind(b, max_def)
        ax.barh(y, b["posterior"], color=KIND_COLOURS[kind], height=0.7)
        first = "" if b["first_disagreement"] < 0 else f", first wrong at step {b['first_disagreement']}"
        ax.text(b["posterior"] + 0.01, y, f"{100 * b['posterior']:.1f}%  ({b['programs']:,} "
                f"program{'s' if b['programs'] != 1 else ''}{first})", va="center", fontsize=6)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{_continuation(b['predictions'])}\n{F.short(b['program'], 40)}" for b in shown],
                       family="monospace", fontsize=5.8)
    ax.set_xlim(0, 1.2)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    F.percent_axis(ax, "x")
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("posterior mass (label: the continuation it predicts, and its best program)")
    more = f" (the {len(shown)} heaviest of {len(rows):,})" if len(rows) > len(shown) else ""
    target = record.get("target", {}).get("deploy", [])
    ax.set_title(f"{record['experiment']}: posterior by behaviour{more}"
                 + (f"\ntarget continuation: {_continuation(target)}" if target else ""), loc="left")
    by_step = s.get("rare_defection", {}).get("by_first_step", [])
    if by_step:
        steps_ax.bar(range(len(by_step)), by_step, color=KIND_COLOURS["defector"])
        steps_ax.set_xticks(range(len(by_step)))
        steps_ax.set_xlabel("deployment step of the first defection")
        steps_ax.set_ylabel("posterior")
        steps_ax.set_ylim(0, max(max(by_step) * 1.15, 0.01))
        F.percent_axis(steps_ax, "y", decimals=None)
        if not any(by_step):
            steps_ax.text(0.5, 0.5, "no rare defectors", ha="center", va="center", transform=steps_ax.transAxes,
                          color=F.GREY)
    else:
        F.no_data(steps_ax, "no deployment steps")
    steps_ax.set_title("rare defectors' posterior by the step of their first defection", loc="left", fontsize=8)
    from matplotlib.patches import Patch
    labels = {"equivalent": "agrees with the target on every deployment step",
              "defector": f"rare defector (wrong on 1..{max_def} steps)", "other": "wrong more often"}
    fig.legend(handles=[Patch(color=KIND_COLOURS[k], label=v) for k, v in labels.items()],
               loc="outside lower center", ncol=3, frameon=False)
    return fig


def _cumulative(correct: list[bool]) -> list[int]:
    out, n = [], 0
    for ok in correct:
        n += not ok
        out.append(n)
    return out


def online_figure(record: dict[str, Any]):
    """Left: errors so far at every deployment step, for the MAP, mixture and shortest
    predictions with the posterior updated on every revealed term (solid), and for MAP
    and mixture with the posterior frozen at the start (dashed), with the mixture's
    halving bound. Right: the consensus predictor's queries so far (it abstains and
    asks when its trusted hypotheses disagree), one line per trusted-set rule."""
    s = record["summary"]
    online = s["online"]
    o = online["prediction"]
    n = len(o["target"])
    steps = list(range(n))
    fig = F.new_figure(4.0)
    left, right = fig.subplots(1, 2)
    from matplotlib.ticker import MaxNLocator
    fig.suptitle(f"{record['experiment']}: deployment, step by step", fontsize=9)
    for k, label in enumerate(("map", "mixture", "shortest")):
        left.step(steps, o[f"{label}_errors"], where="post", color=F.SERIES[k], label=f"{label} (online)")
    frozen = s.get("prediction", {})
    for k, label in enumerate(("map", "mixture")):
        if f"{label}_correct" in frozen:
            left.step(steps, _cumulative(frozen[f"{label}_correct"]), where="post", color=F.SERIES[k],
                      linestyle="--", linewidth=1.0, label=f"{label} (frozen)")
    bound = online["halving"].get("bound")
    if bound is not None:
        left.axhline(bound, color="#444444", linestyle=":", linewidth=1.0,
                     label=f"mixture's halving bound ({bound:.2f})")
    left.set_xlabel("deployment step")
    left.set_ylabel("errors so far")
    left.set_title("errors", loc="left")
    left.set_ylim(bottom=-0.3)
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(loc="upper left", bbox_to_anchor=(0.0, -0.18), ncol=2, frameon=False, fontsize=6)
    drawn = 0
    from levinsearch.render import CONSENSUS_SHORT
    for rule, rows in online.get("consensus", {}).items():
        for row in rows:
            colour = F.SERIES[drawn % len(F.SERIES)]
            right.step(steps, row["queries"], where="post", color=colour,
                       linestyle=("-", "--", ":")[(drawn // len(F.SERIES)) % 3],
                       label=f"{CONSENSUS_SHORT[rule].format(v=row['value'])}: {row['errors']} errors")
            drawn += 1
    if drawn:
        right.set_xlabel("deployment step")
        right.set_ylabel("queries so far")
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
        right.legend(loc="upper left", bbox_to_anchor=(0.0, -0.18), ncol=2, frameon=False, fontsize=6)
    else:
        F.no_data(right, "no consensus rules")
    right.set_title("consensus predictor (online): queries", loc="left")
    return fig


def show_figure(record: dict[str, Any]):
    """One program against the target (a show record): the target terms, its
    predictions (green: right, vermilion: wrong), training terms shaded."""
    rows = record["rows"]
    fig = F.new_figure(3.0, 5.5)
    ax = fig.subplots()
    ts = [r["t"] for r in rows]
    n_train = sum(1 for r in rows if r["phase"] == "train")
    if n_train:
        ax.axvspan(-0.5, n_train - 0.5, color="#EEEEEE", label="training terms")
    ax.plot(ts, [r["target"] for r in rows], "-", color="#444444", linewidth=1.0, label="target")
    for ok, colour, label in ((True, "#009E73", "prediction (right)"), (False, "#D55E00", "prediction (wrong)")):
        pts = [(r["t"], r["prediction"]) for r in rows if r["correct"] == ok]
        if pts:
            ax.plot(*zip(*pts), "o", color=colour, label=label)
    ax.set_xlabel("t")
    ax.set_ylabel("term")
    fits = "fits" if record["fits"] else "does not fit"
    ax.set_title(f"{F.short(record['program'], 60)}\n{record['bits']:.2f} bits; {fits} the training terms",
                 loc="left", fontsize=7.5, family="monospace")
    ax.legend(frameon=False, fontsize=6.5)
    return fig
