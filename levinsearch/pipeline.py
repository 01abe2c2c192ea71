"""One experiment end to end: config -> domain.prepare -> enumerate and judge -> record.

Domain-blind: the experiment's domain (`levinsearch.domains`) builds the grammar, data
and judge, and turns the summary of judged programs into the run record.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

from levinsearch import domains, tail
from levinsearch.aggregate import Aggregate
from levinsearch.domains.base import Prepared
from levinsearch.fit import Progress, judge_range
from levinsearch.record import enumeration_section, provenance, score_rule
from levinsearch.types import Config


def prepare(config: Config) -> Prepared:
    """Build the grammar, data and enumerator of a resolved config; DslError on bad input."""
    return domains.get(config["domain"]).prepare(config)


def search(prep: Prepared, *, agg: Aggregate | None = None, start: int = 0, progress: Progress | None = None,
           should_stop: Callable[[], bool] | None = None, after_batch: Callable[[Aggregate, int], None] | None = None,
           stop: int | None = None) -> tuple[Aggregate, int]:
    """Judge positions start..stop-1 (default: all) on this machine; return the summary
    and the first position not judged. Positions 0 .. enumerator.total - 1 are the
    enumerated programs in order, the next `tail_samples` the tail samples
    (levinsearch.tail), so a run stops, resumes and is cut into shards the same way in
    both phases."""
    agg = agg if agg is not None else prep.new_aggregate()
    s = prep.config["search"]
    n_enum = prep.enumerator.total
    stop = prep.total if stop is None else min(stop, prep.total)
    position = start
    if position < min(stop, n_enum):
        position = judge_range(prep.enumerator, prep.judge, score_rule(prep.config, prep.judge.trials), agg,
                               order=s["order"], batch_size=s["batch_size"], start=position, stop=min(stop, n_enum),
                               progress=(lambda t: progress(dataclasses.replace(t, total=prep.total)))
                               if progress else None, should_stop=should_stop,
                               after_batch=(lambda pos: after_batch(agg, pos)) if after_batch else None)
        if position < min(stop, n_enum) or (should_stop and should_stop() and position < stop):
            return agg, position
    if position < stop:
        started = time.perf_counter()
        judged = tail.judge_samples(
            prep, agg.tail, position - n_enum, stop - n_enum, batch_size=s["batch_size"],
            progress=(lambda pos, _: progress(tail.tally(prep, agg, time.perf_counter() - started)))
            if progress else None,
            should_stop=should_stop,
            after_batch=(lambda pos: after_batch(agg, n_enum + pos)) if after_batch else None)
        position = n_enum + judged
    return agg, position


def build_record(prep: Prepared, agg: Aggregate, position: int | None = None) -> dict[str, Any]:
    """The run record from a summary of the judged programs (see docs: JSON output);
    `position`: the first program not judged (default: all were)."""
    position = prep.total if position is None else position
    enumeration, bound = enumeration_section(prep, agg, position)
    record = prep.domain.build_record(prep, agg, enumeration, bound)
    if prep.config.get("analysis", {}).get("prior_draws"):
        from levinsearch import ensemble
        record["ensemble"] = ensemble.summarise(prep, agg, record)
    record["provenance"] = provenance()
    return record


def execute(prep: Prepared, progress: Progress | None = None, **options) -> dict[str, Any]:
    """Enumerate, fit and analyse; return the run record (options: see `search`)."""
    agg, position = search(prep, progress=progress, **options)
    return build_record(prep, agg, position=position)


def run_experiment(config: Config, progress: Progress | None = None) -> dict[str, Any]:
    """Run a resolved experiment; return its record."""
    return execute(prepare(config), progress)
