"""Any terminal: the report's width (--width, COLUMNS, piped), stacked tables on a narrow
one (no line too long, no number cut), plain progress lines on a stderr that is not a
terminal, and compile time kept apart from enumeration time."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import invoke

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The installed command as a user runs it, stdout and stderr both pipes."""
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    environ.update(PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-c", "from levinsearch.cli import main; main()", *args],
                          capture_output=True, text=True, env=environ, timeout=300, cwd=REPO)


def whole(number: str, text: str) -> bool:
    """`number` appears in `text` with no digit, point or comma glued to either side."""
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d,]|\.\d)", text) is not None


def check_fits(text: str, width: int) -> None:
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, f"{len(too_long)} lines over {width}: {too_long[0]!r}"
    assert "…" not in text


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def grid_headline_numbers(record: dict) -> list[str]:
    """The red-door headline figures as the report prints them."""
    e = record["enumeration"]
    numbers = [f"{e['programs']:,}", f"{e['fitting']:,}", f"{e['behaviours']:,}"]
    numbers += [pct(h["posterior"]) for h in record["hypotheses"][:12]]
    numbers += [f"{h['bits']:.2f}" for h in record["hypotheses"][:12]]
    numbers += [f"{h['steps']:,}" for h in record["hypotheses"][:12]]
    numbers += [pct(b["posterior"]) for b in record["behaviours"][:4]]
    return numbers


def test_columns_80_red_door_cuts_nothing():
    """The issue's check, as a user runs it: COLUMNS=80 and stdout a pipe."""
    done = cli("run", "red-door", "--max-bits", "14", "--no-save", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    check_fits(done.stdout, 80)
    assert "top 12 of 16 fitting programs" in done.stdout


@pytest.mark.parametrize("width", [60, 80, 100])
def test_red_door_report_fits_every_width_and_keeps_its_numbers(capsys, width):
    code, out, _ = invoke(capsys, "run", "red-door", "--max-bits", "14", "--no-save", "--json")
    assert code == 0
    record = json.loads(out)
    code, text, _ = invoke(capsys, "run", "red-door", "--max-bits", "14", "--no-save", "--width", str(width))
    assert code == 0
    check_fits(text, width)
    for number in grid_headline_numbers(record):
        assert whole(number, text), number
    for h in record["hypotheses"][:12]:  # program text may wrap, but every program is there
        assert h["program"].replace(" ", "") in re.sub(r"\s", "", text)


@pytest.mark.parametrize("width", [60, 100])
def test_occam_report_fits(capsys, width):
    code, out, _ = invoke(capsys, "run", "occam", "--max-bits", "24", "--no-save", "--json")
    assert code == 0
    record = json.loads(out)
    code, text, _ = invoke(capsys, "run", "occam", "--max-bits", "24", "--no-save", "--width", str(width))
    assert code == 0
    check_fits(text, width)
    assert whole(f"{record['enumeration']['programs']:,}", text)
    for h in record["hypotheses"][:10]:
        assert whole(pct(h["posterior"]), text) and whole(f"{h['bits']:.2f}", text)


@pytest.mark.parametrize("width", [60, 80])
def test_several_seeds_report_fits(monkeypatch, capsys, width):
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, _ = invoke(capsys, "run", "red-door", "--max-bits", "12", "--seeds", "2", "--no-save", "--json")
    record = json.loads(out)
    code, text, _ = invoke(capsys, "run", "red-door", "--max-bits", "12", "--seeds", "2", "--no-save")
    assert code == 0
    check_fits(text, width)
    point = record["points"][0]
    for name, value in point["metrics"].items():
        if isinstance(value, float) and name != "unenumerated_mass" and name != "fitting":
            assert whole(pct(value), text), name


def test_width_wins_over_columns_and_piped_is_140(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "70")
    _, narrow, _ = invoke(capsys, "dsl", "grid", "--width", "50")
    _, columns, _ = invoke(capsys, "dsl", "grid")
    monkeypatch.delenv("COLUMNS")
    _, piped, _ = invoke(capsys, "dsl", "grid")
    assert max(map(len, narrow.splitlines())) <= 50
    assert 50 < max(map(len, columns.splitlines())) <= 70
    from levinsearch import terminal
    assert terminal.report_width() == terminal.PIPED_WIDTH == 140
    assert terminal.report_width(99) == 99
    assert max(map(len, piped.splitlines())) <= 140


def test_width_below_the_minimum_is_refused(capsys):
    code, _, err = invoke(capsys, "runs", "--width", "10")
    assert code == 2 and err.startswith("error: ") and "--width" in err and len(err.strip().splitlines()) == 1


def test_wide_console_keeps_the_table_layout():
    """At STACK_BELOW columns and above a table is laid out as before (golden text at 140)."""
    import io
    from rich.table import Table
    from levinsearch import render
    t = Table("program", "posterior", title="t")
    t.add_row("(plan red) " * 20, "48.0%")

    def text(width):
        console = render.console(width=width, file=io.StringIO(), record=True)
        console.print(render.stackable(t))
        return console.export_text()

    plain = render.console(width=140, file=io.StringIO(), record=True)
    plain.print(t)
    assert text(140) == plain.export_text()
    narrow = text(60)
    assert "program" in narrow and "posterior" in narrow and "48.0%" in narrow and "─" not in narrow
    check_fits(narrow, 60)


def test_plain_lines_are_throttled_with_a_last_line():
    from levinsearch.terminal import PlainLines
    now = [0.0]
    written = []
    lines = PlainLines(every=5.0, write=written.append, clock=lambda: now[0])
    for k in range(1, 13):  # a line offered every second for 12 s
        now[0] = float(k)
        lines(lambda k=k: f"line {k}")
    lines.close()
    assert written == ["line 5", "line 10", "line 12"]
    quiet = []
    short = PlainLines(every=5.0, write=quiet.append, clock=lambda: 0.0)
    short(lambda: "never")
    short.close()
    assert quiet == []  # a run shorter than the interval writes nothing


def test_progress_goes_to_a_piped_stderr_and_json_stays_pure():
    done = cli("run", "red-door", "--max-bits", "14", "--no-save", "--json", "--progress",
               env={"LEVINSEARCH_PROGRESS_SECONDS": "0"})
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)  # nothing but the record on stdout
    lines = [line for line in done.stderr.splitlines() if line.startswith("red-door: ")]
    assert lines and all(" programs (" in line for line in lines)
    assert f"{record['enumeration']['programs']:,} of {record['enumeration']['programs']:,} programs (100.0%" \
        in lines[-1]
    quiet = cli("run", "red-door", "--max-bits", "14", "--no-save", "--no-progress",
                env={"LEVINSEARCH_PROGRESS_SECONDS": "0"})
    assert quiet.returncode == 0 and not [line for line in quiet.stderr.splitlines()
                                          if line.startswith("red-door: ")]


def test_compile_time_is_counted_apart():
    import numba
    from levinsearch.fit import COMPILE_CLOCK
    before = COMPILE_CLOCK.seconds()

    @numba.njit(cache=False)
    def add_one(x):
        return x + 1

    assert add_one(1) == 2  # compiled now
    compiled = COMPILE_CLOCK.seconds() - before
    assert compiled > 0
    again = COMPILE_CLOCK.seconds()
    assert add_one(2) == 3 and COMPILE_CLOCK.seconds() == again  # no compiling the second time


def test_record_has_compile_seconds(capsys):
    code, out, _ = invoke(capsys, "run", "red-door", "--max-bits", "12", "--no-save", "--json")
    e = json.loads(out)["enumeration"]
    assert code == 0 and e["compile_seconds"] >= 0 and e["seconds"] >= 0
