"""Writing files so that each is either old or new, never half written (also after a
power cut: temporary file, fsync, rename, fsync of the directory); and reading
JSON and TOML text with limits, so that nothing read back crashes the tool.

Every JSON or TOML text the tool reads (experiment files, `--set` values, run
manifests, records, checkpoints' metadata, census files) goes through `loads_json` or
`loads_toml`: a bounded size, UTF-8, finite numbers only (no NaN, no Infinity, no 1e999),
and at most MAX_NESTING levels of arrays and tables, checked without recursion. What
the values mean is checked by whoever reads them (`levinsearch.checks`).
"""
from __future__ import annotations

import errno
import json
import math
import os
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from dsl.errors import DslError

#: Deepest nesting of arrays and tables (objects) accepted in any file read back: the
#: tool's own files nest about 8 deep.
MAX_NESTING = 64
#: Largest file read back, in bytes.
MAX_READ = 1 << 31


@contextmanager
def atomic_file(path: Path, suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """A binary file to write `path` through, so that `path` is either old or new, never
    half written, also after a power cut: the data goes to a temporary file beside it
    (PATH + `suffix`, same directory, so the rename stays on one file system), which is
    flushed and fsync'd, renamed over `path` (os.replace, atomic on POSIX and Windows),
    and then the directory is fsync'd so the rename itself is on disk (POSIX). When the
    disk refuses (a full disk, a missing folder), the temporary file is removed and a
    DslError says why."""
    path = Path(path)
    tmp = path.with_name(path.name + suffix)
    try:
        with open(tmp, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        sync_directory(path.parent)
    except OSError as exc:
        _discard(tmp)
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise DslError(f"cannot write {path}: {reason}") from None
    except BaseException:  # the writer failed (or Ctrl-C): no temporary file is left behind
        _discard(tmp)
        raise


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` (text as UTF-8) to `path` through `atomic_file`: old or new, never
    half; a DslError that says why when the disk refuses."""
    with atomic_file(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def make_directory(directory: Path) -> Path:
    """Create `directory` (and its parents) if needed; a DslError, one line, when the disk
    refuses."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DslError(f"cannot create {directory}: {exc.strerror or exc}") from None
    return directory


def sync_directory(directory: Path) -> None:
    """fsync a directory, so that a rename inside it survives a power cut (POSIX; where
    directories cannot be opened or synced, e.g. Windows, nothing is done)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # file systems that cannot
            raise
    finally:
        os.close(fd)


def nesting(value: Any) -> int:
    """How deep lists and dicts nest in `value` (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, (list, tuple)):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:
                stack.extend((x, depth) for x in item)
    return deepest


def text_nesting(text: str) -> int:
    """An upper bound on how deep brackets and braces nest in JSON or TOML text, brackets
    inside quotes left out (TOML's literal and multi-line strings too), without parsing."""
    deepest = depth = 0
    quote = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote in ('"', '"""'):
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number the tool accepts")


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def loads_json(text: str, what: str) -> Any:
    """JSON text as values; DslError naming `what` when it is not valid JSON, nests more
    than MAX_NESTING deep, or holds NaN, Infinity or a number too large for a float."""
    if text_nesting(text) > MAX_NESTING:
        raise DslError(f"{what}: nested more than {MAX_NESTING} levels deep; not a levinsearch file")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=finite_float)
    except RecursionError:
        raise DslError(f"{what}: nested too deeply") from None
    except ValueError as exc:
        raise DslError(f"{what}: not valid JSON ({str(exc)[:120]})") from None


def loads_toml(text: str, what: str) -> dict[str, Any]:
    """TOML text as a table; DslError naming `what` when it is not valid TOML, nests more
    than MAX_NESTING deep, or holds nan or inf."""
    if text_nesting(text) > MAX_NESTING:
        raise DslError(f"{what}: arrays or tables nested more than {MAX_NESTING} levels deep")
    try:
        value = tomllib.loads(text, parse_float=finite_float)
    except RecursionError:
        raise DslError(f"{what}: nested too deeply") from None
    except tomllib.TOMLDecodeError as exc:
        raise DslError(f"{what}: not valid TOML: {exc}") from None
    except ValueError as exc:
        raise DslError(f"{what}: {str(exc)[:120]}") from None
    return value


def read_text(path: Path, what: str, limit: int = MAX_READ) -> str:
    """A file's UTF-8 text; DslError naming the file when it is missing, unreadable, too
    large or not UTF-8."""
    path = Path(path)
    try:
        if path.stat().st_size > limit:
            raise DslError(f"{path}: larger than {limit:,} bytes; not a {what}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DslError(f"{path}: no such file ({what})") from None
    except UnicodeDecodeError as exc:
        raise DslError(f"{path}: not UTF-8 text (byte {exc.start}); not a {what}") from None
    except OSError as exc:
        raise DslError(f"cannot read {path}: {exc.strerror or exc}") from None
