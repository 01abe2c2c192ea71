"""Writing files so that each is either old or new, never half written."""
from __future__ import annotations

import errno
from pathlib import Path

from dsl.errors import DslError


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `data` to a temporary name beside `path`, then rename it into place. When
    the disk refuses (a full disk, a missing folder), remove the temporary file and
    raise a DslError that says why."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise DslError(f"cannot write {path}: {reason}") from None
