"""What every domain's records share: schema names, program mass, the score rule, the
enumeration section, library versions, provenance, and JSON writing.

Records are plain JSON-able dicts; `report` renders them and `--json` prints them, so
what is shown is exactly what was computed.
"""
from __future__ import annotations

import json
import platform
import re
import shlex
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numba
import numpy as np

from dsl.grammar import MBITS_PER_BIT, Grammar
from dsl.syntax import unparse
from levinsearch import consensus, score
from levinsearch.aggregate import Aggregate, Dyadic, ScoreRule, dyadic_terms
from levinsearch.enumerate import Enumerator
from levinsearch.fit import complete_mbits
from levinsearch.version import version

SCHEMA = "levinsearch.run/1"
DSL_SCHEMA = "levinsearch.dsl/1"
ENUMERATE_SCHEMA = "levinsearch.enumerate/1"
SHOW_SCHEMA = "levinsearch.show/1"
#: Programs per batch when `enumerate` lists programs.
LISTING_BATCH = 1 << 15


def json_default(value):
    """numpy arrays and scalars as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(record: dict[str, Any]) -> str:
    """A record as the JSON text levinsearch writes (stdout and run directories)."""
    return json.dumps(record, indent=1, default=json_default) + "\n"


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A dict of numpy values as plain JSON-able ones (arrays to lists, scalars to numbers),
    nested dicts included (a consensus row's `tie` is a row of its own)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        elif isinstance(value, dict):
            value = plain(value)
        out[key] = value
    return out


def versions() -> dict[str, str]:
    return dict(python=platform.python_version(), numpy=np.__version__, numba=numba.__version__)


#: The command making records now: the command line's argv, or the API call as text
#: (set by `levinsearch.cli.main` and `levinsearch.api`; see `command`).
COMMAND: ContextVar[str | None] = ContextVar("levinsearch_command", default=None)


@contextmanager
def command(text: str) -> Iterator[None]:
    """Records made inside carry `text` as their provenance's command."""
    token = COMMAND.set(text)
    try:
        yield
    finally:
        COMMAND.reset(token)


def utc_now() -> str:
    """The time now, ISO 8601 with its offset (UTC), to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def provenance() -> dict[str, Any]:
    """Where a record comes from: the levinsearch version, the source tree's git commit
    (None when it is not a git checkout), when the record was made, and the command that
    made it (outside the command line and the API: this process's argv)."""
    argv = shlex.join(sys.argv) if sys.argv and sys.argv[0] else None
    return dict(levinsearch=version(), commit=source_commit(), created=utc_now(), command=COMMAND.get() or argv)


_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def source_commit(root: Path | None = None) -> str | None:
    """The commit checked out in the git work tree the package is run from (`root`: the
    directory holding levinsearch/), read from its .git (no git process: this is asked
    for every record); None for an installed package, or when it cannot be told."""
    if root is None:  # only the package's own directory: a venv inside a checkout is no checkout
        root = Path(__file__).resolve().parent.parent
    try:
        dot_git = root / ".git"
        if dot_git.is_file():  # a linked work tree or submodule: "gitdir: PATH"
            line = dot_git.read_text().strip()
            if not line.startswith("gitdir:"):
                return None
            git_dir = (root / line[len("gitdir:"):].strip()).resolve()
        elif dot_git.is_dir():
            git_dir = dot_git
        else:
            return None
        head = (git_dir / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head if _SHA.fullmatch(head) else None  # a detached HEAD
        ref = head[len("ref:"):].strip()
        common = git_dir  # a linked work tree keeps its branches in the main repository
        if (git_dir / "commondir").is_file():
            common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
        for base in dict.fromkeys((git_dir, common)):
            if (base / ref).is_file():
                sha = (base / ref).read_text().strip()
                return sha if _SHA.fullmatch(sha) else None
        if (common / "packed-refs").is_file():
            for row in (common / "packed-refs").read_text().splitlines():
                parts = row.split()
                if len(parts) == 2 and parts[1] == ref and _SHA.fullmatch(parts[0]):
                    return parts[0]
        return None
    except (OSError, UnicodeDecodeError):
        return None


def bits(mbits) -> float:
    """Millibits as bits, rounded to the millibit (what records show)."""
    return round(int(mbits) / MBITS_PER_BIT, 3)


def program_mass(program_score: float) -> Dyadic:
    """A program's prior mass 2^-score, exactly."""
    m, k = dyadic_terms(np.array([program_score], dtype=np.float64))
    return Dyadic(int(m[0]), int(k[0]))


#: Near-tie margin (bits of score): every program whose score is within this of the best
#: shares the MAP with it. Bits are stored to the millibit, so 0.01 bits is ten of the
#: smallest steps a production's cost can take (docs/concepts.md, "MAP vs mixture: ties").
#: One value for every tie the analyses report (levinsearch.consensus holds it).
TIE_MARGIN_BITS = consensus.TIE_MARGIN_BITS
#: Slack for floating-point sums when scores are compared (far below a millibit).
_SCORE_SLACK = 1e-9


def map_tie(agg: Aggregate, grammar: Grammar, margin: float = TIE_MARGIN_BITS) -> dict[str, Any] | None:
    """The MAP's tie set (any domain): the kept programs, and the number of behaviours,
    whose score is within `margin` bits of the best (None when nothing fits).

    Tied behaviours are a prefix of `agg.canonical_order()` (behaviours in order of
    their best program), so a domain reads its spread (outcome classes, predictions)
    from the first `behaviours` of its rows. Programs are listed from the `keep` best
    that the summary holds, so a tie cannot list more than `keep`: `truncated` says
    when every kept program is tied and programs left out may be tied too;
    `program_count` is then a lower bound (the kept ones, or the programs whose score
    bucket shows them tied, whichever is more)."""
    top = agg.top
    if not len(top):
        return None
    best = float(top.score[0])
    limit = best + margin + _SCORE_SLACK
    tied = [i for i in range(len(top)) if float(top.score[i]) <= limit]
    # The summary counts every fitting program by millibit bucket of its score: programs
    # in buckets below the limit's are tied for sure, those in its bucket may be.
    last = int(np.floor(limit * MBITS_PER_BIT))
    surely = sum(n for bucket, n in agg.score_count.items() if bucket < last)
    maybe = sum(n for bucket, n in agg.score_count.items() if bucket <= last)
    truncated = len(tied) == len(top) and maybe > len(tied)
    count = max(len(tied), surely) if truncated else len(tied)
    reps = agg.representatives
    behaviours = int(np.count_nonzero(reps.score[: agg.behaviours] <= limit))
    mass = Dyadic()
    for i in tied:
        mass = mass + program_mass(top.score[i])
    return dict(
        margin_bits=margin,
        score=round(best, 6),
        posterior=mass.ratio(agg.total_mass),
        programs=[dict(program=unparse(top.ops[i, : top.sizes[i]], grammar), score=round(float(top.score[i]), 6))
                  for i in tied],
        program_count=count,
        truncated=truncated,
        behaviours=behaviours,
    )


def score_rule(config: dict[str, Any], trials: int = 0) -> ScoreRule:
    s = config["search"]
    return ScoreRule(s["length_weight"], s["time_weight"], s["time_penalty"], s.get("noise", 0.0), trials)


def enumeration_section(prep, agg: Aggregate, position: int) -> tuple[dict[str, Any], float | None]:
    """The record's `enumeration` part (any domain), and the bound on unseen mass."""
    grammar, enumerator, s = prep.grammar, prep.enumerator, prep.config["search"]
    kraft_low, kraft_high = grammar.kraft_total()
    complete = complete_mbits(enumerator, agg)
    complete_bits = complete / MBITS_PER_BIT
    enumerated_mass = sum(m for length, _, m in grammar.kraft_by_length(s["max_bits"]) if length <= complete)
    unenumerated = max(0.0, kraft_high - enumerated_mass)
    seen_mass = float(agg.total_mass)
    bound = score.unseen_mass_bound(s["order"], unenumerated, agg.uncertified, complete_bits,
                                    s["length_weight"], s["time_weight"])
    noise, trials = s.get("noise", 0.0), prep.judge.trials
    best_likelihood, worst_kept = score.likelihood_bounds(
        trials, noise, score.max_errors(trials, s["fit_threshold"], noise))
    min_steps = prep.domain.min_fit_steps(prep)
    tight = score.tight_unseen_mass_bound(s["order"], unenumerated, agg.uncertified, complete_bits,
                                          s["length_weight"], s["time_weight"], s["time_penalty"], min_steps,
                                          best_likelihood, kraft_high - unenumerated, worst_kept)
    by_level = agg.behaviours_by_level()
    enumeration = dict(
        order=s["order"],
        max_bits=s["max_bits"],
        programs=agg.programs,
        total=enumerator.total,
        fitting=agg.fitting,
        behaviours=agg.behaviours,
        complete_up_to_score=score.complete_up_to_score(s["order"], complete_bits, s["length_weight"],
                                                        s["time_weight"]),
        complete_up_to_bits=complete_bits,
        unenumerated_mass=unenumerated,
        kraft_sum=kraft_high,
        fitting_mass=seen_mass,
        posterior_uncertainty=(bound / (seen_mass + bound) if bound is not None and seen_mass + bound > 0
                               else None),
        seconds=round(sum(row[2] for row in agg.levels.values()), 3),
        compile_seconds=round(agg.compile_seconds + (agg.tail.compile_seconds if agg.tail is not None else 0.0), 3),
        interrupted=position < prep.total,
        next_index=position,
        per_length=[dict(bits=m / MBITS_PER_BIT, programs=p, fitting=f, behaviours=by_level[m],
                         seconds=round(sec, 3)) for m, (p, f, sec) in sorted(agg.levels.items())],
    )
    for row, depth_bound in zip(enumeration["per_length"], bounds_by_depth(prep, agg, min_steps, best_likelihood,
                                                                            worst_kept, kraft_high)):
        if depth_bound is not None:
            row["unseen_bound"] = depth_bound
    if s["order"] == "levin":
        enumeration["levin_steps"] = agg.levin_steps
        enumeration["uncertified"] = agg.uncertified
    # The sharper bound (score.tight_unseen_mass_bound) beside the Kraft-tail one above.
    enumeration["unseen_bound"] = dict(
        kraft_tail=bound, tight=tight, min_fit_steps=int(min_steps), best_likelihood=best_likelihood,
        posterior_uncertainty=(tight / (seen_mass + tight) if tight is not None and seen_mass + tight > 0 else None))
    return enumeration, tight


def bounds_by_depth(prep, agg: Aggregate, min_steps: int, best_likelihood: float, worst_kept: float,
                    kraft_high: float) -> list[float | None]:
    """Per judged length (in the order of `agg.levels`): the share of the posterior that
    unseen fitting programs could hold had the run stopped after that length (the tight
    bound's posterior uncertainty); None for a length not judged in full, under Levin
    order, or for a summary missing some length's mass (checkpoints of older versions)."""
    s = prep.config["search"]
    levels = sorted(agg.levels)
    # A level with fitting programs but no mass was judged by a version that kept none
    # (a resumed older checkpoint): its depth bounds would be wrong, so none are given.
    if s["order"] != "length" or any(agg.levels[m][1] and m not in agg.level_mass for m in levels):
        return [None] * len(levels)
    programs_at = {mbits: count for _, mbits, count in prep.enumerator.levels}
    kraft_at = {length: mass for length, _, mass in prep.grammar.kraft_by_length(s["max_bits"])}
    out: list[float | None] = []
    enumerated, seen, complete = 0.0, Dyadic(), True
    for mbits in levels:
        complete = complete and agg.levels[mbits][0] == programs_at.get(mbits)
        enumerated += kraft_at.get(mbits, 0.0)
        seen = seen + agg.level_mass.get(mbits, Dyadic())
        if not complete:
            out.append(None)
            continue
        unenumerated = max(0.0, kraft_high - enumerated)
        tight = score.tight_unseen_mass_bound("length", unenumerated, 0, mbits / MBITS_PER_BIT, s["length_weight"],
                                              s["time_weight"], s["time_penalty"], min_steps, best_likelihood,
                                              kraft_high - unenumerated, worst_kept)
        total = float(seen) + (tight or 0.0)
        out.append(round(tight / total, 6) if tight is not None and total > 0 else None)
    return out


def run_header(config: dict[str, Any], grammar: Grammar) -> dict[str, Any]:
    """The first fields of every run record."""
    return dict(schema=SCHEMA, experiment=config["name"], domain=config["domain"],
                description=config["description"], config=config, grammar=grammar.describe())


# ------------------------------------------------------------------ other commands
def grammar_record(grammar: Grammar, domain: str) -> dict[str, Any]:
    """What `levinsearch dsl` prints: productions with bits and step costs."""
    return dict(
        schema=DSL_SCHEMA,
        domain=domain,
        start=grammar.start,
        types=list(grammar.types),
        kraft_sum=grammar.kraft_total()[1],
        productions=grammar.describe(),
    )


def enumeration_record(grammar: Grammar, max_bits: float, *, domain: str, limit: int | None = None,
                       counts: bool = False) -> dict[str, Any]:
    """What `levinsearch enumerate` prints: programs in order, or counts per length."""
    enumerator = Enumerator(grammar, max_bits)
    record: dict[str, Any] = dict(schema=ENUMERATE_SCHEMA, domain=domain, max_bits=max_bits,
                                  total=enumerator.total)
    if counts:
        rows, n, m = [], 0, 0.0
        for length, count, kraft in grammar.kraft_by_length(max_bits):
            n += count
            m += kraft
            rows.append(dict(bits=length / MBITS_PER_BIT, programs=count, kraft_mass=kraft,
                             cumulative_programs=n, cumulative_mass=m))
        record["counts"] = rows
        return record
    programs = []
    wanted = enumerator.total if limit is None else min(limit, enumerator.total)
    for batch in enumerator.batches(batch_size=min(max(wanted, 1), LISTING_BATCH)):
        for i in range(len(batch)):
            if len(programs) >= wanted:
                break
            programs.append(dict(index=batch.first_index + i, bits=batch.mbits / MBITS_PER_BIT,
                                 program=unparse(batch.ops[i, : batch.sizes[i]], grammar)))
        if len(programs) >= wanted:
            break
    record["programs"] = programs
    return record
