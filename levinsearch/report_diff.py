"""The rich rendering of `levinsearch diff` (a levinsearch.compare result). Formats
only: every number shown is read from the diff."""
from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from levinsearch.render import mass, printable, share

#: Where a behaviour is (compare.behaviour_changes' status), as the table says it.
WHERE = {"both": "both", "only a": "A only", "only b": "B only"}

def value_text(kind: str, value: Any) -> str:
    """A headline figure: shares as percentages, counts with separators, masses short."""
    if value is None:
        return "—"
    if kind == "text" or isinstance(value, (str, bool)):
        return str(value)
    if kind == "share":
        return share(value)
    if kind == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return mass(value)


def delta_text(kind: str, delta: float | None, changed: bool) -> str:
    """The change b - a: percentage points for shares."""
    if delta is None:
        return "changed" if changed else ""
    if delta == 0:
        return "0"
    if kind == "share":
        points = 100 * delta
        return f"{points:+.1f} pp" if abs(points) >= 0.05 else f"{points:+.2g} pp"
    if kind == "count":
        return f"{delta:+,.0f}" if float(delta).is_integer() else f"{delta:+,.2f}"
    return f"{delta:+.3g}"


def _with_interval(kind: str, value: Any, interval: list[float] | None) -> str:
    text = value_text(kind, value)
    if interval is None:
        return text
    return f"{text} [{value_text(kind, interval[0])}, {value_text(kind, interval[1])}]"


def _setting_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _point_text(setting: dict[str, Any]) -> str:
    return ", ".join(f"{k.split('.')[-1]}={_setting_text(v)}" for k, v in setting.items()) or "(all seeds)"


def _who(identity: dict[str, Any]) -> str:
    parts = [identity.get("experiment") or "?"]
    if identity.get("run"):
        parts.append(identity["run"])
    if identity.get("created"):
        parts.append(str(identity["created"]))
    if identity.get("version"):
        parts.append(f"levinsearch {identity['version']}" + (f" @ {identity['commit'][:10]}" if identity.get("commit")
                                                              else ""))
    return " · ".join(parts)


def _settings_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="settings that differ", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("setting")
    t.add_column("A", overflow="fold")
    t.add_column("B", overflow="fold")
    for row in rows:
        t.add_row(row["key"], _setting_text(row["a"]), _setting_text(row["b"]))
    return t


def _headline_table(rows: list[dict[str, Any]], sweep: bool) -> Table:
    intervals = any(r["a_interval"] is not None for r in rows)
    title = "headline figures (change: B − A" + ("; [95% interval] where both have one)" if intervals else ")")
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    if sweep:
        t.add_column("point")
    t.add_column("figure")
    t.add_column("A", justify="right", overflow="fold")
    t.add_column("B", justify="right", overflow="fold")
    t.add_column("change", justify="right")
    for r in rows:
        cells = [_point_text(r["point"])] if sweep else []
        cells += [r["heading"], _with_interval(r["kind"], r["a"], r["a_interval"]),
                  _with_interval(r["kind"], r["b"], r["b_interval"]), delta_text(r["kind"], r["delta"], r["changed"])]
        t.add_row(*cells, style="bold" if r["changed"] else "dim")
    return t


def _behaviour_table(changes: dict[str, Any]) -> Table:
    shown = changes["shown"]
    t = Table(title=f"behaviours that gained or lost posterior ({len(shown)} of {changes['changed']}, largest "
                    "change first)", box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("behaviour (best program)", overflow="fold")
    t.add_column("A", justify="right")
    t.add_column("B", justify="right")
    t.add_column("change", justify="right")
    t.add_column("in")
    for r in shown:
        t.add_row(r["program"], share(r["a"]), share(r["b"]), delta_text("share", r["change"], True),
                  WHERE[r["status"]])
    return t


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def diff_report(result: dict[str, Any]) -> Group:
    """The diff of two records: who is compared, the settings that differ, the headline
    figures side by side and the behaviours whose posterior changed most."""
    d = printable(result)
    where = f", split {d['split']}" if d.get("split") else ""
    parts: list = [Text(f"diff of two {d['domain']} {d['kind']}s{where}", style="bold"),
                   Text(f"A: {_who(d['a'])}"), Text(f"B: {_who(d['b'])}")]
    parts.append(_settings_table(d["settings"]) if d["settings"] else Text("settings: the same"))
    if d["headlines"]:
        # A multi-seed run is a sweep of one point with no setting: no point column.
        parts.append(_headline_table(d["headlines"], any(h.get("point") for h in d["headlines"])))
    for p in d["unmatched_points"]:
        parts.append(Text(f"point {_point_text(p['point'])}: only in {p['only_in'].upper()}", style="yellow"))
    changes = d["behaviours"]
    if changes is not None:
        parts.append(_behaviour_table(changes) if changes["changed"]
                     else Text("behaviours: every posterior is the same"))
    counted = d["changed"]
    if not any(counted.values()):
        parts.append(Text("no differences", style="bold green"))
    else:
        items = [_count(counted["settings"], "setting"), _count(counted["headlines"], "headline figure")]
        if changes is not None:
            items.append(_count(counted["behaviours"], "behaviour"))
        if counted["unmatched_points"]:
            items.append(_count(counted["unmatched_points"], "point") + " in one sweep only")
        parts.append(Text("differ: " + ", ".join(items), style="bold"))
    return Group(*parts)
