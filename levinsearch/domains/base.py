"""The interface every domain implements, and the prepared run it hands the engine.

The engine (enumerate, fit, aggregate, backends, runs) is domain-blind: it needs a
grammar, an enumerator and three array functions (`fit.Judge`). Everything else that
differs between domains, from the experiment file's tables to the report, is a method
of the domain's `Domain` object, found by name in `levinsearch.domains`.
"""
from __future__ import annotations

import re
import typing

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from dsl.errors import DslError
from dsl.grammar import Grammar
from levinsearch import tail as tail_mod
from levinsearch.aggregate import Aggregate
from levinsearch.enumerate import Enumerator
from levinsearch.fit import Judge
from levinsearch.types import Behaviour, Config, Hypothesis, Summary

#: A sweep metric: (column heading, what it measures, how to read it from a run record and a split name).
Metric = tuple[str, str, Callable[[dict, Any], Any]]


@dataclass
class Prepared:
    """Everything a run needs, built and validated before any program runs. Domains
    subclass it with what their fit, behaviour and record functions read."""

    config: Config
    grammar: Grammar
    enumerator: Enumerator
    domain: "Domain"
    judge: Judge

    def new_aggregate(self) -> Aggregate:
        """An empty summary for this run's programs (and its tail samples, if it takes any)."""
        width, keep, kinds = max(self.enumerator.max_nodes, 1), self.config["search"]["keep"], 1 << len(self.judge.flags)
        agg = Aggregate(width, keep, kinds)
        if self.config.get("analysis", {}).get("prior_draws"):
            agg.keep_fitting()  # a prior ensemble reweights every fitting program (levinsearch.ensemble)
        if self.tail is not None:
            agg.tail = Aggregate(width, 0, kinds, squares=True)  # behaviours only: no best programs
        return agg

    @property
    def tail(self) -> tail_mod.TailPlan | None:
        """What the run samples beyond the enumeration (None: no tail samples)."""
        if not hasattr(self, "_tail"):
            self._tail = tail_mod.plan(self)
        return self._tail

    @property
    def total(self) -> int:
        """Positions of a complete run: the programs enumerated, then the tail samples."""
        tail = self.tail
        return self.enumerator.total + (tail.samples if tail is not None and not tail.empty else 0)


def make_enumerator(grammar: Grammar, max_bits: float) -> Enumerator:
    """The enumerator of a run; DslError when the grammar has no program that short."""
    enumerator = Enumerator(grammar, max_bits)
    if enumerator.total == 0:
        raise DslError(f"no program of {max_bits:g} bits or fewer exists in this grammar; raise max_bits")
    return enumerator


class Domain:
    """One domain's part of every command. Subclasses set the attributes and implement
    the methods that raise NotImplementedError."""

    name: str = ""
    #: Top-level tables an experiment file of this domain may have, besides
    #: [experiment], [search], [grammar] and [analysis].
    sections: frozenset[str] = frozenset()
    #: Keys of [experiment] beyond the shared name, domain, description and seed.
    experiment_keys: frozenset[str] = frozenset()
    #: Flags (override keys) this domain understands beyond the shared search ones.
    flag_keys: frozenset[str] = frozenset()
    #: Defaults of this domain's [analysis] table (its keys are also flag and sweep keys).
    default_analysis: Mapping[str, Any] = {}
    #: Sweep: short names of keys (beyond the shared ones) and where they live in the file.
    short_keys: Mapping[str, str] = {}
    #: Sweep: metric name -> (description, reader); the table's columns; the default plot.
    metrics: Mapping[str, Metric] = {}
    table_metrics: tuple[str, ...] = ()
    default_metric: str = ""
    #: Sweep metrics over the whole posterior (named whole_*, None without tail samples)
    #: that a sweep with tail samples adds, after `tail_share`, to its table.
    whole_metrics: tuple[str, ...] = ()
    #: Sweep: distributions over a run's posterior, besides the one over behaviours, whose
    #: total variation distances between points a sweep records: name -> reader(record,
    #: split) -> {outcome: posterior mass} (empty: no program fitted). None by default.
    sweep_distributions: Mapping[str, Callable[[dict, Any], dict[str, float]]] = {}
    #: Prior ensembles: directional statements about the headlines whose share of drawn
    #: encodings a run reports: name -> (statement, reader(sweep metrics of one
    #: encoding) -> bool, or None where the figures it compares are absent).
    #: levinsearch.ensemble has readers (`greater`, `above`). None by default.
    ensemble_directions: Mapping[str, tuple[str, Callable[[dict], bool | None]]] = {}
    #: Grammar profiles ([grammar] profile = NAME); the first is the default.
    profiles: tuple[str, ...] = ("default",)
    #: Whether the domain perturbs its instances: [search] smooth, smooth_samples and
    #: time_measure (docs/concepts.md, "Smoothed complexity") are accepted only then.
    smoothing: bool = False
    #: The TypedDict of its record's `summary` (the JSON Schema is built from it).
    summary_type: type = Summary
    #: The TypedDicts of its records' behaviours and kept programs (hypotheses).
    behaviour_type: type = Behaviour
    hypothesis_type: type = Hypothesis
    #: Modules holding the domain's compiled kernels (the CLI says when they compile).
    kernel_modules: tuple[str, ...] = ()
    #: A directory of experiment files this domain ships (a plug-in's; `levinsearch
    #: experiments` lists them with the bundled ones). None: it ships none.
    experiments_dir: Path | None = None

    def interface_problems(self, name: str | None = None) -> list[str]:
        """`interface_problems(self, name)` (the registry calls it on a plug-in)."""
        return interface_problems(self, name)

    # ------------------------------------------------------------------ grammar and config
    def grammar(self, *, bits: Mapping[str, float] | None = None, ban=(), cost: Mapping[str, int] | None = None,
                profile: str | None = None) -> Grammar:
        """The domain's grammar (of `profile`; default: the first of `profiles`) with bit
        and cost overrides and bans applied."""
        raise NotImplementedError

    def check_profile(self, profile: str | None) -> str:
        """The profile's name; DslError when the domain has no such profile."""
        profile = self.profiles[0] if profile is None else profile
        if profile not in self.profiles:
            raise DslError(f"unknown grammar profile {profile!r} for {self.name} (known: {', '.join(self.profiles)})")
        return profile

    def build_grammar(self, config: Config) -> Grammar:
        g = config["grammar"]
        return self.grammar(bits=g["bits"], ban=g["ban"], cost=g["cost"], profile=g.get("profile"))

    def header_fields(self, exp: Mapping[str, Any]) -> dict[str, Any]:
        """Fields this domain records right after the seed, from the [experiment] table."""
        return {}

    def raw_tables(self, config: Config) -> dict[str, Any]:
        """This domain's tables of the experiment file that resolves to `config` (the
        inverse of `resolve` on them; `experiments.raw_of`). Default: the resolved tables
        themselves, which resolve to themselves."""
        return {k: config[k] for k in self.sections if k in config}

    def resolve(self, raw: Mapping[str, Any], config: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Complete `config` (the shared parts already resolved, overrides not yet
        applied) with this domain's tables from `raw` and the `overrides`; validate.
        (Still being built: `experiments.resolve` adds seeds and confidence and returns
        the finished `Config`.)"""
        raise NotImplementedError

    # ------------------------------------------------------------------ running
    def prepare(self, config: Config) -> Prepared:
        """Grammar, data, enumerator and judge of a resolved config; DslError on bad input."""
        raise NotImplementedError

    def reference_judge(self, prep: Prepared) -> Judge:
        """`prep.judge` computed by the domain's plain-Python reference interpreter: the
        specification the compiled judge must match (fits, and for fitting programs the
        successes, simulated steps and behaviour rows; the conformance tests compare)."""
        raise NotImplementedError

    def min_fit_steps(self, prep: Prepared) -> int:
        """A lower bound on the simulated steps any program that fits the training data
        spends on it (1: nothing known); it sharpens the unseen-mass bound."""
        return 1

    def build_record(self, prep: Prepared, agg: Aggregate, enumeration: dict[str, Any],
                     unseen_bound: float | None) -> dict[str, Any]:
        """The run record (schema levinsearch.run/1) from the summary of judged programs."""
        raise NotImplementedError

    def report(self, record: dict[str, Any]):
        """The rich renderable of a run record (computes nothing)."""
        raise NotImplementedError

    def ensemble_record(self, prep: Prepared, record: dict[str, Any], agg: Aggregate) -> dict[str, Any]:
        """A record of the run under one drawn encoding (levinsearch.ensemble): `agg` holds
        its fitting programs rescored. Only what the sweep metrics and the MAP read needs to
        be right. Default: the whole record built again without tail samples and without
        an unseen bound (the drawn encoding's tail is not sampled)."""
        import copy
        bare = copy.copy(prep)
        bare._tail = None
        return self.build_record(bare, agg, dict(record["enumeration"], fitting=agg.fitting), None)

    def check_record(self, record: dict[str, Any], where: str) -> None:
        """Check a record of a schema of this domain's own (not levinsearch.run/1 or
        sweep/1) read back from `where`; DslError when it is not one. Default: the
        domain writes no other records."""
        raise DslError(f"{where}: a {self.name} record of schema {str(record.get('schema'))[:40]!r}; this "
                       "levinsearch cannot read it")

    # ------------------------------------------------------------------ sweeps
    def sweep_split(self, configs: list[Config], requested: str | None) -> str | None:
        """The split a sweep's metrics read (None: the domain has no splits)."""
        if requested:
            raise DslError(f"--split applies to experiments with test splits ({self.name} has none)")
        return None

    # ------------------------------------------------------------------ examples
    def example(self) -> dict[str, Any]:
        """A small experiment (a raw experiment-file dict) that runs in about a second:
        the conformance tests' and the docs' example of this domain."""
        raise NotImplementedError

    def show_example(self) -> tuple[str, Mapping[str, Any]]:
        """A program and `show` options that work with `example()`'s experiment."""
        raise NotImplementedError

    # ------------------------------------------------------------------ commands
    def commands(self) -> list:
        """Extra click commands (or groups) this domain adds to `levinsearch`, e.g. a
        group named after the domain; none by default."""
        return []

    # ------------------------------------------------------------------ show
    #: Flags of `levinsearch show` that this domain reads (click.Option objects), besides
    #: the generic PROGRAM, --experiment, grammar flags, --plot, --width and --json. The
    #: command offers every domain's; a flag of another domain is refused
    #: (`foreign_show_flag`). Their values reach `show` in `options` under their names.
    show_options: tuple = ()

    def foreign_show_flag(self, flag: str) -> str:
        """The error when `show` on this domain is given `flag`, another domain's flag."""
        return f"a {self.name} program takes no {flag}: drop it"

    def show_overrides(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Overrides of the experiment's config that `show`'s flags (`options`) imply;
        none by default."""
        return {}

    def show(self, program: str, config: Config | None, options: Mapping[str, Any]) -> dict[str, Any]:
        """What `levinsearch show PROGRAM` computes: a record (schema levinsearch.show/1).
        `config`: the resolved experiment, if one was named; `options`: the command's flags."""
        raise NotImplementedError

    def show_report(self, record: dict[str, Any]):
        """The rich renderable of a show record."""
        raise NotImplementedError

    # ------------------------------------------------------------------ figures
    def figures(self, record: dict[str, Any]) -> list[tuple[str, Any]]:
        """(name, matplotlib Figure) for every figure of a run record, or of a show
        record (`show --plot` saves the first); computes nothing, like `report`. Called
        by `levinsearch.figures` inside its style, only when matplotlib is installed.
        Default: a run gets the figures every domain has (prior mass against bits), a
        show record none. Domains add theirs to `super().figures(record)`."""
        from levinsearch.figures import run_figures
        return run_figures(record) if "enumeration" in record else []


#: The methods a domain must implement (the base class's raise NotImplementedError).
REQUIRED_METHODS = ("grammar", "resolve", "prepare", "reference_judge", "build_record", "report", "example",
                    "show_example", "show", "show_report")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def interface_problems(domain: Any, name: str | None = None) -> list[str]:
    """What is wrong with `domain` as a `Domain` without running anything (its type,
    name, required methods and attribute types); empty when nothing is. `name`: the name
    it is registered under, which must be its own."""
    if not isinstance(domain, Domain):
        return [f"DOMAIN is an object of type {type(domain).__name__}, not an instance of "
                "levinsearch.domains.base.Domain"]
    wrong = []
    if not isinstance(domain.name, str) or not _NAME.fullmatch(domain.name):
        wrong.append(f"name {domain.name!r} is not a short lower-case name (a-z, 0-9, _)")
    elif name is not None and domain.name != name:
        wrong.append(f"its name is {domain.name!r}, but it is registered as {name!r}")
    missing = [m for m in REQUIRED_METHODS if getattr(type(domain), m, None) is getattr(Domain, m)]
    if missing:
        wrong.append(f"does not implement {', '.join(missing)}")
    for attr in ("sections", "experiment_keys", "flag_keys"):
        value = getattr(domain, attr)
        if not isinstance(value, (set, frozenset)) or not all(isinstance(k, str) for k in value):
            wrong.append(f"{attr} is not a set of names")
    for attr in ("default_analysis", "short_keys", "metrics"):
        if not isinstance(getattr(domain, attr), Mapping):
            wrong.append(f"{attr} is not a mapping")
    if isinstance(domain.metrics, Mapping) and domain.default_metric not in domain.metrics:
        wrong.append(f"default_metric {domain.default_metric!r} is not one of its metrics (a domain has at least "
                     "one sweep metric of its own: its default)")
    for attr in ("profiles", "table_metrics", "whole_metrics", "kernel_modules"):
        value = getattr(domain, attr)
        if not isinstance(value, tuple) or not all(isinstance(k, str) for k in value):
            wrong.append(f"{attr} is not a tuple of names")
    if isinstance(domain.profiles, tuple) and not domain.profiles:
        wrong.append("profiles is empty (a domain has at least one grammar profile)")
    for attr in ("summary_type", "behaviour_type", "hypothesis_type"):
        if not typing.is_typeddict(getattr(domain, attr)):
            wrong.append(f"{attr} is not a TypedDict")
    where = domain.experiments_dir
    if where is not None and not (isinstance(where, Path) and where.is_dir()):
        wrong.append(f"experiments_dir {str(where)!r} is not a directory (a pathlib.Path, or None)")
    return wrong
