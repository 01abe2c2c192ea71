"""A researcher's tour: run from Python, read the result as a table, export it, compare
two runs. Needs the `table` extra (pip install 'levinsearch[table]').

    python examples/researcher_tour.py [WORK_DIR]

Runs are saved under WORK_DIR/runs (default: a new temporary directory), so nothing is
written into the current directory. tests/test_install.py runs this script against a
non-editable install of the wheel.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import levinsearch


def cli(*args: str) -> str:
    """`levinsearch ARGS` through `python -m levinsearch` (the same interpreter), its stdout."""
    done = subprocess.run([sys.executable, "-m", "levinsearch", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"levinsearch {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def main(work: Path) -> None:
    runs = work / "runs"
    print(f"levinsearch {levinsearch.__version__}")

    # 1. A run from Python, kept in memory, read as a pandas table.
    record = levinsearch.run("red-door", max_bits=14, save=False)
    print(repr(record))
    behaviours = record.to_pandas()
    print(behaviours[["program", "posterior"]].to_string(index=False))

    # 2. Two saved runs that differ in one setting: description length and Levin complexity.
    plain = levinsearch.run("red-door", max_bits=14, save=True, runs_dir=runs)
    timed = levinsearch.run("red-door", max_bits=14, time_weight=1, save=True, runs_dir=runs)

    # 3. Export every table of a run, as CSV and as Parquet.
    for fmt in ("csv", "parquet"):
        out = work / f"export-{fmt}"
        print(cli("export", plain["run"], "--format", fmt, "--out", str(out)), end="")
        assert (out / f"behaviours.{fmt}").exists()

    # 4. What changed between the two runs.
    print(cli("diff", plain["run"], timed["run"], "--width", "100"), end="")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
