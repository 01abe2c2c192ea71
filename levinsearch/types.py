"""The run record's types: TypedDicts for what every domain's record shares, each
domain's summary type (Domain.summary_type), and the JSON Schema generated from them.

    python -m levinsearch.types     # rewrite levinsearch/schema/run.schema.json

The published schema (`levinsearch/schema/run.schema.json`, installed with the package)
is generated from these types, so the two cannot drift apart; a test checks the file
is up to date and validates the record of every bundled experiment with it. Records may
carry more fields than the types name (a domain's own analyses): the schema allows them.
"""
from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, TypedDict, Union, get_args, get_origin, get_type_hints

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "run.schema.json"
SCHEMA_ID = "https://levinsearch.invalid/schema/run.schema.json"
#: A share of the posterior (or of episodes): a number in [0, 1].
Share = Annotated[float, "share"]
#: A count: a whole number, at least 0.
Count = Annotated[int, "count"]
#: A mass, a length in bits, a time: a number, at least 0.
Positive = Annotated[float, "positive"]


class Search(TypedDict):
    max_bits: Positive
    order: Literal["length", "levin"]
    length_weight: Positive
    time_weight: Positive
    time_penalty: Literal["log", "linear"]
    fit_threshold: Share
    noise: Share
    top: Count
    keep: Count
    batch_size: Count
    tail_samples: NotRequired[Count]
    tail_seed: NotRequired[Count]
    tail_max_bits: NotRequired[float | None]
    smooth: NotRequired[Share]  # perturbation rate sigma of the smoothed time (absent: 0)
    smooth_samples: NotRequired[Count]  # perturbations K per instance (absent: 8)
    time_measure: NotRequired[Literal["total", "mean", "worst"]]  # absent: total


class GrammarSettings(TypedDict):
    ban: list[str]
    bits: dict[str, float]
    cost: dict[str, int]
    profile: NotRequired[str]


class Config(TypedDict):
    """The resolved experiment (`experiments.resolve`): what every domain's config shares.
    It is a plain dict at run time, recorded whole in every run. A domain adds its own
    keys (grid: base, proxy, train, test; seq: target; tm: target, machines), which the
    schema allows; a domain that wants them typed subclasses Config with them."""

    name: str
    domain: str
    description: str
    source: str | None
    seed: int
    search: Search
    grammar: GrammarSettings
    analysis: dict[str, Any]
    flags: list[str]
    seeds: NotRequired[int]
    confidence: NotRequired[float]  # of the intervals over seeds and of the tail's; absent: 0.95
    sweep: NotRequired[dict[str, Any]]  # a sweep point's settings (key path -> value)


class Production(TypedDict):
    name: str
    qualified: str
    type: str
    args: list[str]
    bits: float
    mbits: int
    cost: int
    banned: bool


class PerLength(TypedDict):
    bits: Positive
    programs: Count
    fitting: Count
    behaviours: Count
    seconds: Positive
    #: Share of the posterior unseen fitting programs could hold had the run stopped
    #: after this length (length order, lengths judged in full).
    unseen_bound: NotRequired[Share]


class UnseenBound(TypedDict):
    kraft_tail: Positive | None
    tight: Positive | None
    min_fit_steps: Count
    best_likelihood: Share
    posterior_uncertainty: Share | None


class Enumeration(TypedDict):
    order: Literal["length", "levin"]
    max_bits: Positive
    programs: Count
    total: Count
    fitting: Count
    behaviours: Count
    complete_up_to_score: Positive
    complete_up_to_bits: Positive
    unenumerated_mass: Positive
    kraft_sum: Share
    fitting_mass: Positive
    posterior_uncertainty: Share | None
    seconds: Positive
    #: Seconds spent compiling the kernels, or loading them from Numba's cache: not part
    #: of `seconds` (older records have none).
    compile_seconds: NotRequired[Positive]
    interrupted: bool
    next_index: Count
    per_length: list[PerLength]
    unseen_bound: UnseenBound
    levin_steps: NotRequired[Count]
    uncertified: NotRequired[Count]


class Hypothesis(TypedDict):
    """One kept program (the best `keep`, best first)."""

    rank: Count
    program: str
    bits: Positive
    steps: Count
    score: Positive
    posterior: Share
    enumeration_index: Count
    errors: NotRequired[Count]# training episodes or terms it gets wrong (domains with a likelihood)
    exception_bits: NotRequired[Positive]# -log2 of its likelihood under the noise model
    phase: NotRequired[Count]


class Behaviour(TypedDict):
    """One distinct behaviour: the programs that act alike, shown by the best of them."""

    key: str
    program: str
    score: Positive
    programs: Count
    posterior: Share


class Estimate(TypedDict):
    """A share of the posterior twice: exact over the enumerated programs, and estimated
    over all programs from the tail samples, with its interval (at the tail's `confidence`, 95% by
    default; levinsearch.tail)."""

    exact: Share | None
    estimate: Share | None
    low: Share
    high: Share


class Trust(TypedDict):
    """The consensus rule set by [analysis] trust (--trust) and its query bound, computed
    before deployment from the demonstrator's weight (docs/concepts.md, "The trust rule
    and its query bound"), then the online agent's queries against it."""

    rule: Literal["top", "ratio"]
    value: float  # N, or alpha
    demonstrator: str | None  # grid: (plan BASE); seq: "the target"; None: not among the hypotheses
    demonstrator_weight: Share | None  # its share of the weight at the start
    query_bound: float | None  # top: behaviours - 1; ratio: min(that, (1 - w) / (alpha w)); None: no bound
    max_queries: Count | None  # the whole number of queries the bound allows
    total_queries: Count
    queries_per_episode: NotRequired[float]  # grid
    within_bound: bool | None
    demonstrator_refuted: bool  # true: the bound's assumption failed
    # true: the rule's cut split a tie, so the figures above are the agent's that trusts
    # the whole tie (no order picks the trusted set); absent in older records
    tie_trusted_whole: NotRequired[bool]


class WholePosterior(TypedDict):
    """The headlines over all programs (a run with tail samples); domains add theirs."""

    tail: Estimate | None


class TiedProgram(TypedDict):
    program: str
    score: float


class TiedPrediction(TypedDict):
    """A continuation that tied behaviours predict (prediction domains)."""

    continuation: list[int] | str
    behaviours: Count
    posterior: Share  # of those behaviours, all their programs
    error_rate: NotRequired[Share | None]  # against the target (absent: no target)


class MapTie(TypedDict):
    """The programs and behaviours whose score is within `margin_bits` of the best: the
    MAP's tie set (levinsearch.record.map_tie). `map_program` is the first of them in
    enumeration order; `programs` lists the tied programs among the `keep` kept ones, so
    `truncated` says when the tie may hold more (`program_count` is then a lower bound).
    Each domain adds the spread of its MAP figure over the tied behaviours."""

    margin_bits: Positive
    score: float
    posterior: Share  # of the tied programs listed
    programs: list[TiedProgram]
    program_count: Count
    truncated: bool
    behaviours: Count
    classes: NotRequired[dict[str, dict[str, Count]]]  # grid: per split, tied behaviours per outcome class
    predictions: NotRequired[list[TiedPrediction]]  # seq, tm: the distinct continuations of the tie
    # seq, tm with a target: tied behaviours right on every deployment step, and the
    # error rate over the tie (each tied behaviour once: the MAP error no order decides)
    right_behaviours: NotRequired[Count]
    error_rate: NotRequired[Share]
    error_range: NotRequired[list[Share]]  # the best and worst tied behaviour's


class TieSize(TypedDict):
    """How many programs and behaviours share a sweep point's MAP."""

    program_count: Count
    behaviours: Count
    truncated: bool


class Summary(TypedDict):
    fitting: Count
    behaviours: Count
    map_program: str | None
    map_posterior: Share | None
    map_tie: NotRequired[MapTie | None]  # absent in records made before ties were recorded
    whole_posterior: NotRequired[WholePosterior]


class TailRegion(TypedDict):
    min_bits_exclusive: float | None  # samples are longer than this (None: any length, Levin order)
    max_bits: float | None  # and at most this long (tail_max_bits; None: no bound)
    node_cap: int


class TailLength(TypedDict):
    bits: int  # the band of lengths bits <= length < bits + 1
    samples: Count
    fitting: Count


class TailBehaviour(TypedDict):
    key: str
    program: str
    samples: Count
    enumerated: bool  # whether the enumeration showed this behaviour too
    posterior: Estimate | None


class Tail(TypedDict):
    """The tail samples of a run and the estimate they give (levinsearch.tail)."""

    samples: Count# requested
    judged: Count
    seed: Count
    region: TailRegion
    mass: Share# exact prior mass of the sampled region
    unresolved_mass: Share# bound on the prior mass of unseen programs outside it
    weight_max: Share
    attempts: Count
    fitting: Count
    fitting_weight: Positive
    behaviours: Count
    new_behaviours: Count
    share: Estimate | None
    confidence: Share
    method: str
    per_length: list[TailLength]
    largest: list[TailBehaviour]


class Provenance(TypedDict):
    """Where a record comes from: the levinsearch version, the git commit of the source
    tree (null for an installed package), when the record was made (ISO 8601, UTC, with
    its offset) and the command that made it (the command line as typed, or the Python
    API call). Records saved by earlier versions have none."""

    levinsearch: str
    commit: str | None
    created: str
    command: str | None


class EnsembleHeadline(TypedDict):
    """One headline (a sweep metric) under the prior ensemble: its value under the given
    grammar, and its median and 5-95% range over the draws where it is defined."""

    name: str
    heading: str
    given: float | None
    median: float | None
    low: float | None
    high: float | None
    defined: Count  # draws in which it has a value (some program fits within the draw's bound)


class EnsembleDirection(TypedDict):
    """A directional statement of the domain: whether it holds under the given grammar, and
    the share of the draws (where defined) in which it holds."""

    name: str
    statement: str
    given: bool | None
    share: Share | None
    defined: Count


class EnsembleDraw(TypedDict):
    """One drawn encoding: r' (the bound's ratio), the drawn length bound it proves
    complete, the fitting programs within it, its MAP and its headlines."""

    ratio: Share
    bound_bits: Positive
    fitting: Count
    map_program: str | None  # the first of its MAP's tie
    map_tie: NotRequired[list[str]]  # only where the draw's MAP is a tie: its (kept) programs
    metrics: dict[str, float | int | None]


class Ensemble(TypedDict):
    """A run's prior ensemble (levinsearch.ensemble; docs/concepts.md, "Prior ensembles")."""

    draws: Count
    concentration: Positive
    seed: Count
    split: str | None
    quantiles: list[Share]
    complete_up_to_bits: Positive
    # given: the given grammar's MAP programs (its tie); same_share: share of draws whose MAP
    # is one of them (a draw whose own MAP is a tie counts by the share of its tie that is);
    # programs: drawn MAP program -> number of draws whose MAP (or MAP tie) holds it
    map: dict[str, Any]
    headlines: list[EnsembleHeadline]
    directions: list[EnsembleDirection]
    per_draw: list[EnsembleDraw]


class EnsembleSeed(TypedDict):
    """A sweep point's ensemble of one environment seed: medians, ranges and direction shares."""

    seed: int
    headlines: dict[str, list[float | None]]  # name -> [median, low, high]
    directions: dict[str, Share | None]
    map_same_share: Share | None


class RunRecord(TypedDict):
    """A run record (schema levinsearch.run/1), as `run --json` prints it."""

    schema: Literal["levinsearch.run/1"]
    experiment: str
    domain: str
    description: str
    config: Config
    grammar: list[Production]
    enumeration: Enumeration
    hypotheses: list[Hypothesis]
    behaviours: list[Behaviour]
    summary: Summary
    versions: dict[str, str]
    provenance: NotRequired[Provenance]
    tail: NotRequired[Tail]
    run: NotRequired[str]
    ensemble: NotRequired[Ensemble]  # with [analysis] prior_draws > 0


class SweepPoint(TypedDict):
    setting: dict[str, Any]
    metrics: dict[str, float | int | None]
    interrupted: bool
    programs: int
    seconds: float
    map_program: str | None
    intervals: NotRequired[dict[str, list[float] | None]]
    per_seed: NotRequired[dict[str, list[float | int | None]]]
    seeds: NotRequired[list[int]]
    map_programs: NotRequired[list[str | None]]
    map_tie: NotRequired[TieSize | None]  # the first seed's
    map_ties: NotRequired[list[TieSize | None]]
    ensemble: NotRequired[list[EnsembleSeed]]  # with a prior ensemble: one per environment seed


class SweepRecord(TypedDict):
    """A sweep record (levinsearch.sweep/1); a multi-seed run is a sweep of one point."""

    schema: Literal["levinsearch.sweep/1"]
    experiment: str
    domain: str
    split: str | None
    metric: str
    columns: list[str]
    settings: list[dict[str, Any]]
    points: list[SweepPoint]
    distances: dict[str, list[list[float | None]]]
    interrupted: bool
    metric_headings: dict[str, str]
    metric_descriptions: dict[str, str]
    tail_metrics: NotRequired[list[str]]  # metrics that need tail samples (None without)
    seeds: NotRequired[int]
    confidence: NotRequired[float]  # the level of the intervals over seeds (with seeds)
    provenance: NotRequired[Provenance]
    run: NotRequired[str]


# ------------------------------------------------------------------ TypedDict -> JSON Schema
def json_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of a type made of TypedDicts, lists, dicts, literals and scalars."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *marks = get_args(tp)
        out = json_schema(base)
        if "share" in marks:
            out.update(minimum=0, maximum=1)
        if "count" in marks or "positive" in marks:
            out.update(minimum=0)
        return out
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin in (Union, types.UnionType):
        return {"anyOf": [json_schema(a) for a in get_args(tp)]}
    if origin is list:
        return {"type": "array", "items": json_schema(get_args(tp)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": json_schema(get_args(tp)[1])}
    if typing.is_typeddict(tp):
        # NotRequired is read from the hints themselves: with postponed annotations
        # Python 3.11 does not see it in __required_keys__.
        hints = get_type_hints(tp, include_extras=True)
        required = sorted(k for k, v in hints.items() if get_origin(v) is not NotRequired)
        props = {k: json_schema(get_args(v)[0] if get_origin(v) is NotRequired else v) for k, v in hints.items()}
        out: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        if tp.__doc__ and not tp.__doc__.startswith(tp.__name__ + "("):
            out["description"] = " ".join(tp.__doc__.split())
        return out
    raise TypeError(f"no JSON Schema for {tp!r}")


def run_schema(domains) -> dict[str, Any]:
    """The run record's schema: the shared types, and per domain of the registry
    `domains` (`levinsearch.domains`) its summary, behaviour and kept-program types."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
              "title": "levinsearch run record", **json_schema(RunRecord)}
    schema["allOf"] = []
    for name in domains.builtin_names():  # not plug-ins: the published schema is this package's
        domain = domains.get(name)
        schema["allOf"].append({"if": {"properties": {"domain": {"const": name}}},
                                "then": {"properties": {
                                    "summary": json_schema(domain.summary_type),
                                    "behaviours": {"type": "array", "items": json_schema(domain.behaviour_type)},
                                    "hypotheses": {"type": "array", "items": json_schema(domain.hypothesis_type)}}}})
    schema["properties"]["domain"] = {"enum": list(domains.builtin_names())}
    return schema


def schema_text(domains) -> str:
    """The schema file's text for the domains of the registry `domains`."""
    return json.dumps(run_schema(domains), indent=1) + "\n"


def validate(record: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `record` matches the published schema
    (needs the `jsonschema` package, in the dev extra)."""
    import jsonschema
    jsonschema.validate(record, json.loads(SCHEMA_PATH.read_text()))


if __name__ == "__main__":
    # A command-line entry point (python -m levinsearch.types): it hands the registry down.
    from levinsearch import domains as registry
    SCHEMA_PATH.parent.mkdir(exist_ok=True)
    SCHEMA_PATH.write_text(schema_text(registry))
    print(f"wrote {SCHEMA_PATH}", file=sys.stderr)
