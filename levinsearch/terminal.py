"""The terminal a report is printed on: its width (--width, COLUMNS, the terminal, or a
wide page when piped) and plain, throttled progress lines for a stderr that is not a
terminal. Computes nothing about runs; shared by every command that prints."""
from __future__ import annotations

import os
import sys
import time
from typing import Callable

import click
from rich.console import Console

from levinsearch import render

#: Width of a report piped to a file or another program when neither --width nor
#: COLUMNS says otherwise (and of the report.txt saved with a run).
PIPED_WIDTH = 140
#: The narrowest --width accepted: narrower, even the stacked tables would cut words.
MIN_WIDTH = 40
#: Seconds between plain progress lines when stderr is not a terminal.
PLAIN_SECONDS = 10.0
#: Environment variable that sets PLAIN_SECONDS (0: a line after every batch).
PLAIN_SECONDS_ENV = "LEVINSEARCH_PROGRESS_SECONDS"

_META = "levinsearch.width"


def _remember_width(ctx: click.Context, _param, value: int | None) -> None:
    if value is not None:
        ctx.meta[_META] = value


def width_option(fn):
    """--width N: the report's width in columns, for every command that prints one."""
    return click.option("--width", type=click.IntRange(MIN_WIDTH, None), metavar="N", expose_value=False,
                        callback=_remember_width,
                        help=f"Lay the report out for N columns [default: $COLUMNS, else the terminal's width, "
                             f"else {PIPED_WIDTH} when piped]; below {render.STACK_BELOW} the wide tables are "
                             "stacked.")(fn)


def given_width() -> int | None:
    """The --width of the command being run (None when not given, or outside a command)."""
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.meta.get(_META)


def report_width(width: int | None = None) -> int:
    """The width a report is laid out at: `width` (--width), else $COLUMNS, else the
    terminal's width when stdout is one, else PIPED_WIDTH."""
    if width is not None:
        return width
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    probe = render.console()
    return probe.width if probe.is_terminal else PIPED_WIDTH


def stdout_console() -> Console:
    """The console a command prints its report with (see `report_width`)."""
    return render.console(width=report_width(given_width()))


def plain_seconds() -> float:
    """Seconds between plain progress lines ($LEVINSEARCH_PROGRESS_SECONDS, else
    PLAIN_SECONDS); a value that is not a number of seconds is ignored."""
    text = os.environ.get(PLAIN_SECONDS_ENV, "").strip()
    try:
        value = float(text)
    except ValueError:
        return PLAIN_SECONDS
    return value if 0 <= value < float("inf") else PLAIN_SECONDS


class PlainLines:
    """Progress as plain lines on stderr (a log, not a terminal): at most one line every
    `every` seconds, the first once `every` seconds have passed, and a last line at the
    end (`close`) when any line was written, so a short run writes none."""

    def __init__(self, every: float | None = None, write: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.every = plain_seconds() if every is None else every
        self._write = write or _write_stderr
        self._clock = clock
        self._last = clock()
        self._pending: Callable[[], str] | None = None
        self.written = 0

    def __call__(self, line: Callable[[], str]) -> None:
        """Offer a line (built only if it is written)."""
        now = self._clock()
        if now - self._last >= self.every:
            self._emit(line)
            self._last = now
        else:
            self._pending = line

    def close(self) -> None:
        """Write the last line offered, if it was held back and a line was written before."""
        if self._pending is not None and self.written:
            self._emit(self._pending)

    def _emit(self, line: Callable[[], str]) -> None:
        self._write(render.plain_text(line()))
        self._pending = None
        self.written += 1


def _write_stderr(line: str) -> None:
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, UnicodeEncodeError):  # a closed or narrow stderr: progress is optional
        pass
