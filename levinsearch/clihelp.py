"""Help texts and shell completion of the `levinsearch` command, read from the
registries (domains, their profiles, sweep metrics and short names, bundled
experiments, saved runs), so that `--help` and docs/commands.md never list values by
hand. Formatting only: nothing here computes a result."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

from click.shell_completion import CompletionItem

from levinsearch import config as config_mod, domains, experiments, runs
from levinsearch import sweeps as sweep_mod

#: Columns of a help text's own lines (click indents them by 2 more; --help is 100 wide).
HELP_WIDTH = 96


def _all_domains():
    return [domains.get(name) for name in domains.names()]


def search_default(key: str) -> str:
    """`[default: the experiment's, else X]` for a [search] setting that a flag overrides."""
    value = config_mod.DEFAULT_SEARCH[key]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"[default: the experiment's, else {shown}]"


def domain_names() -> str:
    return ", ".join(domains.names())


def profiles_text() -> str:
    """Each domain's grammar profiles, e.g. `grid: default, heuristics; seq: default`."""
    return "; ".join(f"{d.name}: {', '.join(d.profiles)}" for d in _all_domains())


def all_profiles() -> list[str]:
    return sorted({p for d in _all_domains() for p in d.profiles})


def _common_and_own(per_domain: dict[str, list[str]]) -> tuple[list[str], dict[str, list[str]]]:
    """Names every domain has (in the first domain's order), and each domain's others."""
    lists = list(per_domain.values())
    common = [n for n in lists[0] if all(n in other for other in lists[1:])] if lists else []
    return common, {d: [n for n in names if n not in common] for d, names in per_domain.items()}


def metric_names_text() -> str:
    """Sweep metric names by domain, with each domain's default."""
    per = {d.name: list(sweep_mod.metrics_of(d)) for d in _all_domains()}
    common, own = _common_and_own(per)
    parts = [f"{d.name} (default {d.default_metric}): {', '.join(own[d.name])}" for d in _all_domains()]
    return "; ".join(parts) + f"; every domain: {', '.join(common)}"


def metric_table() -> str:
    """Every sweep metric with its description, one block per domain (for a help text:
    `\\b` keeps click from rewrapping the lines)."""
    blocks = []
    per = {d.name: sweep_mod.metrics_of(d) for d in _all_domains()}
    common, own = _common_and_own({name: list(m) for name, m in per.items()})
    for d in _all_domains():
        rows = [(name, per[d.name][name][1]) for name in own[d.name]]
        blocks.append((f"{d.name} metrics (default: {d.default_metric}):", rows))
    first = per[domains.names()[0]]
    blocks.append(("every domain:", [(name, first[name][1]) for name in common]))
    out = []
    for title, rows in blocks:
        width = max(len(n) for n, _ in rows)
        lines = []
        for n, text in rows:
            wrapped = textwrap.wrap(text, HELP_WIDTH - width - 4, break_on_hyphens=False) or [""]
            lines += [f"  {n.ljust(width)}  {wrapped[0]}", *(" " * (width + 4) + more for more in wrapped[1:])]
        out.append("\b\n" + title + "\n" + "\n".join(lines))
    return "\n\n".join(out)


def short_keys_text() -> str:
    """The sweep short names: those of every domain, then each domain's own."""
    per = {d.name: list(sweep_mod.short_keys(d)) for d in _all_domains()}
    common, own = _common_and_own(per)
    return f"every domain: {', '.join(common)}; " + "; ".join(f"{name}: {', '.join(keys)}"
                                                              for name, keys in own.items())


# ------------------------------------------------------------------ shell completion
def complete_experiment(ctx, param, incomplete: str) -> list[CompletionItem]:
    """Bundled experiment names, then `.toml` files and folders, that start with `incomplete`."""
    items = [CompletionItem(name) for name in experiments.bundled() if name.startswith(incomplete)]
    head = incomplete[: incomplete.rfind("/") + 1]
    stem = incomplete[len(head):]
    try:
        children = sorted(Path(head or ".").iterdir())
    except OSError:
        return items
    for child in children:
        if not child.name.startswith(stem) or (child.name.startswith(".") and not stem.startswith(".")):
            continue
        if child.is_dir():
            items.append(CompletionItem(f"{head}{child.name}/"))
        elif child.suffix == ".toml":
            items.append(CompletionItem(f"{head}{child.name}"))
    return items


def runs_root(ctx) -> Path:
    """The runs folder a command line names: --runs-dir, else LEVINSEARCH_RUNS_DIR, else runs/."""
    given = ctx.params.get("runs_dir") if ctx is not None else None
    return Path(given or os.environ.get("LEVINSEARCH_RUNS_DIR") or runs.DEFAULT_ROOT)


def complete_run(ctx, param, incomplete: str) -> list[CompletionItem]:
    """`latest` and the names of the saved runs (folders with a manifest) in the runs folder."""
    root = runs_root(ctx)
    try:
        names = sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file())
    except OSError:
        names = []
    return [CompletionItem(name) for name in ["latest", *names] if name.startswith(incomplete)]


def complete_profile(ctx, param, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(p) for p in all_profiles() if p.startswith(incomplete)]


def complete_metric(ctx, param, incomplete: str) -> list[CompletionItem]:
    """The metrics of the experiment's domain when it can be read, else of every domain."""
    names: list[str] = []
    try:
        found = [sweep_mod.metrics_of(experiments.domain_of(experiments.load(ctx.params["experiment"]), domains))]
    except Exception:  # no experiment yet, or one that does not load: offer every name
        found = [sweep_mod.metrics_of(d) for d in _all_domains()]
    for metrics in found:
        names += [n for n in metrics if n not in names]
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]
