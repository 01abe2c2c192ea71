"""The seq domain's figures: the prediction analysis's (levinsearch.analyses.prediction_figures)
for a run, and one program's predictions (`show PROGRAM --experiment SEQ --plot OUT.svg`).
Computes nothing: every number drawn is read from the record (see docs/figures.md)."""
from __future__ import annotations

from typing import Any

from levinsearch import figures as F
from levinsearch.analyses.prediction_figures import prediction_figures


def run_figures(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A seq run's own figures (the generic ones are added by the domain)."""
    return prediction_figures(record, lambda b: b["predictions"])


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
