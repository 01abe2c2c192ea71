"""The figures of the prediction analysis (levinsearch.analyses.prediction), the same for
every prediction domain: posterior by behaviour (each a continuation), with the rare
defectors by the step of their first defection, and the errors over deployment steps
(online and frozen) with the consensus predictor's queries. Computes nothing: every
number drawn is read from the record (see docs/figures.md)."""
from __future__ import annotations

from typing import Any, Callable

from levinsearch import figures as F

KIND_COLOURS = {"equivalent": "#009E73", "defector": "#D55E00", "other": "#999999"}
#: Deployment values a behaviour's label shows before an ellipsis.
CONTINUATION_TERMS = 5


def prediction_figures(record: dict[str, Any], continuation: Callable[[dict[str, Any]], Any],
                       noun: str = "program", unit: str = "step") -> list[tuple[str, Any]]:
    """A prediction run's figures: `behaviours`, and `online` when the run has a target.
    `continuation(behaviour)`: the behaviour's continuation as the record keeps it (a
    list of values or a string); `noun` and `unit` name a hypothesis and a deployment
    step (program and step, machine and bit)."""
    if not record.get("behaviours") or "occam" not in record["summary"]:
        return []
    out = [("behaviours", behaviours_figure(record, continuation, noun, unit))]
    if record["summary"].get("online"):
        out.append(("online", online_figure(record, noun, unit)))
    return out


def _kind(b: dict[str, Any], max_defections: int) -> str:
    if "disagreements" not in b:  # no target to disagree with
        return "other"
    if b["disagreements"] == 0:
        return "equivalent"
    return "defector" if b["disagreements"] <= max_defections else "other"


def _continuation(values: list[int] | str) -> str:
    if isinstance(values, str):
        return values
    head = ", ".join(str(v) for v in values[:CONTINUATION_TERMS])
    return head + (", …" if len(values) > CONTINUATION_TERMS else "")


def behaviours_figure(record: dict[str, Any], continuation: Callable[[dict[str, Any]], Any], noun: str = "program",
                      unit: str = "step"):
    """The heaviest behaviours (continuations of the sequence), each labelled by its
    first deployment predictions and its best program; green: agrees with the target on
    every deployment step, vermilion: a rare defector (wrong on 1..max_defections
    steps), grey: wrong more often (or no target given). Below: the rare defectors'
    posterior by the deployment step of their first defection."""
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
        first = "" if b.get("first_disagreement", -1) < 0 else f", first wrong at {unit} {b['first_disagreement']}"
        ax.text(b["posterior"] + 0.01, y, f"{100 * b['posterior']:.1f}%  ({b['programs']:,} "
                f"{noun}{'s' if b['programs'] != 1 else ''}{first})", va="center", fontsize=6)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{_continuation(continuation(b))}\n{F.short(b['program'], 40)}" for b in shown],
                       family="monospace", fontsize=5.8)
    ax.set_xlim(0, 1.2)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    F.percent_axis(ax, "x")
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"posterior mass (label: the continuation it predicts, and its best {noun})")
    more = f" (the {len(shown)} heaviest of {len(rows):,})" if len(rows) > len(shown) else ""
    target = record["summary"]["prediction"].get("target")
    ax.set_title(f"{record['experiment']}: posterior by behaviour{more}"
                 + (f"\ntarget continuation: {_continuation(target)}" if target else ""), loc="left")
    by_step = s.get("rare_defection", {}).get("defectors_by_first_disagreement", [])
    if by_step:
        steps_ax.bar(range(len(by_step)), by_step, color=KIND_COLOURS["defector"])
        steps_ax.set_xticks(range(len(by_step)))
        steps_ax.set_xlabel(f"deployment {unit} of the first defection")
        steps_ax.set_ylabel("posterior")
        steps_ax.set_ylim(0, max(max(by_step) * 1.15, 0.01))
        F.percent_axis(steps_ax, "y", decimals=None)
        if not any(by_step):
            steps_ax.text(0.5, 0.5, "no rare defectors", ha="center", va="center", transform=steps_ax.transAxes,
                          color=F.GREY)
    else:
        F.no_data(steps_ax, f"no deployment {unit}s")
    steps_ax.set_title(f"rare defectors' posterior by the {unit} of their first defection", loc="left", fontsize=8)
    from matplotlib.patches import Patch
    labels = {"equivalent": f"agrees with the target on every deployment {unit}",
              "defector": f"rare defector (wrong on 1..{max_def} {unit}s)", "other": "wrong more often"}
    fig.legend(handles=[Patch(color=KIND_COLOURS[k], label=v) for k, v in labels.items()],
               loc="outside lower center", ncol=3, frameon=False)
    return fig


def _cumulative(correct: list[bool]) -> list[int]:
    out, n = [], 0
    for ok in correct:
        n += not ok
        out.append(n)
    return out


def _running(values: list[float]) -> list[float]:
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def _tie_cumulative(predictions: list[dict[str, Any]], target) -> list[float]:
    """Errors so far at each step, the mean over a MAP tie's behaviours (each counts once)."""
    n = sum(e["behaviours"] for e in predictions)
    per_step = [sum(e["behaviours"] for e in predictions if e["continuation"][j] != target[j]) / n
                for j in range(len(target))]
    return _running(per_step)


def online_figure(record: dict[str, Any], noun: str = "program", unit: str = "step"):
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
    fig.suptitle(f"{record['experiment']}: deployment, {unit} by {unit}", fontsize=9)
    for k, label in enumerate(("map", "mixture", "shortest")):
        wrong = o.get(f"{label}_tie_wrong")
        if wrong is not None and any(n > 1 for n in o.get(f"{label}_tie", [])):
            # A tie at some step: the errors expected over the tie, not its first hypothesis's.
            left.step(steps, _running([w or 0.0 for w in wrong]), where="post", color=F.SERIES[k],
                      label=f"{label} tie (online, expected)")
            continue
        left.step(steps, o[f"{label}_errors"], where="post", color=F.SERIES[k], label=f"{label} (online)")
    frozen = s.get("prediction", {})
    tie = s.get("map_tie")
    for k, label in enumerate(("map", "mixture")):
        if label == "map" and tie and tie.get("predictions") and frozen.get("target") is not None and \
                (tie["program_count"] > 1 or tie["behaviours"] > 1):
            left.step(steps, _tie_cumulative(tie["predictions"], frozen["target"]), where="post",
                      color=F.SERIES[k], linestyle="--", linewidth=1.0, label="map tie (frozen, mean)")
            continue
        if f"{label}_correct" in frozen:
            left.step(steps, _cumulative(frozen[f"{label}_correct"]), where="post", color=F.SERIES[k],
                      linestyle="--", linewidth=1.0, label=f"{label} (frozen)")
    bound = online["halving"].get("bound")
    if bound is not None:
        left.axhline(bound, color="#444444", linestyle=":", linewidth=1.0,
                     label=f"mixture's halving bound ({bound:.2f})")
    left.set_xlabel(f"deployment {unit}")
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
        right.set_xlabel(f"deployment {unit}")
        right.set_ylabel("queries so far")
        right.yaxis.set_major_locator(MaxNLocator(integer=True))
        right.legend(loc="upper left", bbox_to_anchor=(0.0, -0.18), ncol=2, frameon=False, fontsize=6)
    else:
        F.no_data(right, "no consensus rules")
    right.set_title("consensus predictor (online): queries", loc="left")
    return fig
