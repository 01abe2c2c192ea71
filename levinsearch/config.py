"""What every experiment shares: the [search] and [grammar] tables, flag overrides of
them, and the small checks every domain's own settings use.

Experiment files are resolved in `levinsearch.experiments`, which hands the parts that
belong to one domain to that domain (`levinsearch.domains`).
"""
from __future__ import annotations

import math
import sys
from typing import Any, Mapping

from dsl.errors import DslError

ORDERS = ("length", "levin")
#: Upper bounds on sizes, checked before any work starts (docs/file-formats.md). They
#: keep every run interruptible within about a second and every count within int64.
LIMITS = dict(
    weight=100.0,  # length_weight, time_weight
    top=100_000,
    keep=100_000,
    batch_size=1 << 20,
    envs=1_000,  # environments per split (grid), probe grids
    horizon=1_000,  # steps per episode (grid)
    terms=10_000,  # train + deploy terms (seq)
    consensus_top=1_000,
    tail_samples=10**10,  # samples of the unenumerated programs (levinsearch.tail)
)
TIME_PENALTIES = ("log", "linear")
MAX_BITS_LIMIT = 48
#: Programs per batch unless set: a stop or a checkpoint happens between batches.
DEFAULT_BATCH_SIZE = 1 << 15

DEFAULT_SEARCH = dict(
    max_bits=20.0,
    order="length",
    length_weight=1.0,
    time_weight=0.0,
    time_penalty="log",
    fit_threshold=1.0,
    noise=0.0,
    top=10,
    keep=1000,
    batch_size=DEFAULT_BATCH_SIZE,
    # The whole posterior (levinsearch.tail): samples of the programs the enumeration did
    # not reach, their random stream, and (validation) an upper bound on their length.
    tail_samples=0,
    tail_seed=0,
    tail_max_bits=None,
)
#: [search] keys of the smoothed time measure (docs/concepts.md, "Smoothed complexity"),
#: for domains that can perturb their instances (`Domain.smoothing`). Recorded in the
#: config only when they differ from these defaults, so that other runs keep their records.
SMOOTH_SEARCH = dict(
    smooth=0.0,  # sigma: each cell of a training or test instance is perturbed at this rate
    smooth_samples=8,  # K: perturbations of each instance
    time_measure="total",  # t(p) from the per-instance steps: their total, mean or worst
)
TIME_MEASURES = ("total", "mean", "worst")
MAX_SMOOTH_SAMPLES = 1_000
#: Keys of [experiment] that every domain accepts.
EXPERIMENT_KEYS = {"name", "domain", "description", "seed", "seeds", "confidence"}
MAX_SEEDS = 100
#: Largest environment or tail seed (a seed is a 64-bit integer, non-negative).
MAX_SEED = 2**63 - 1
GRAMMAR_KEYS = {"ban", "bits", "cost", "profile"}


#: Largest magnitude of a setting that has no bound of its own: an integer beyond it
#: would overflow the float it becomes.
LARGEST_NUMBER = sys.float_info.max


def shown(value: Any, limit: int = 40) -> str:
    """`repr(value)` cut to `limit` characters (a 400-digit integer in an error line is
    no help)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 12]}… ({len(text):,} characters)"


def bound_text(x: float) -> str:
    """A bound as the user would write it: whole numbers in full (2^63 - 1, not
    9.22337e+18), others with %g."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 2**64 else f"{x:g}"


def number(value: Any, what: str, *, minimum: float | None = None, maximum: float | None = None,
           integer: bool = False) -> float:
    """`value` as a finite float (or int), or a DslError naming `what`. Booleans and
    strings are not numbers (TOML `envs = true` is an error, not 1). Integers of any size
    are compared as integers (never converted to a float that would overflow)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a whole number" if integer else "a number"
        raise DslError(f"{what} must be {kind}, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise DslError(f"{what} must be finite, got {shown(value)}")
    if integer and isinstance(value, float) and not value.is_integer():
        raise DslError(f"{what} must be a whole number, got {shown(value)}")
    if minimum is not None and value < minimum:
        raise DslError(f"{what} must be >= {bound_text(minimum)}, got {shown(value)}")
    if maximum is not None and value > maximum:
        raise DslError(f"{what} must be <= {bound_text(maximum)}, got {shown(value)}")
    if abs(value) > LARGEST_NUMBER:
        raise DslError(f"{what} is too large, got {shown(value)}")
    return int(value) if integer else float(value)


def names_list(value: Any, what: str) -> list[str]:
    """A list of strings (e.g. [grammar] ban), or a DslError."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DslError(f"{what} must be a list of names, e.g. [\"plan\", \"greedy\"], got {value!r}")
    return list(value)


def number_table(value: Any, what: str, *, integer: bool = False) -> dict[str, float]:
    """A table of name = number (e.g. [grammar] bits), or a DslError."""
    if not isinstance(value, Mapping):
        raise DslError(f"{what} must be a table of NAME = number, e.g. {{ red = 4 }}, got {value!r}")
    for k, v in value.items():
        number(v, f"{what} {k}", integer=integer)
    return {str(k): v for k, v in value.items()}  # as given: a record shows the file's values


def check_keys(table: Mapping, allowed: set, where: str) -> None:
    """Reject a table that is not one, or that has a key not in `allowed`."""
    if not isinstance(table, Mapping):
        raise DslError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise DslError(f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed - {'_path'}))})")


def check_overrides(overrides: Mapping[str, Any]) -> None:
    """The shapes of the grammar overrides (flags or API keywords): `ban` a list of names,
    `bits` and `cost` tables of name -> number, `profile` a name."""
    if "ban" in overrides:
        names_list(list(overrides["ban"]) if isinstance(overrides["ban"], tuple) else overrides["ban"], "ban")
    for key in ("bits", "cost"):
        if key in overrides:
            number_table(overrides[key], key, integer=key == "cost")
    if "profile" in overrides and (not isinstance(overrides["profile"], str) or not overrides["profile"].strip()):
        raise DslError(f"profile must be the name of a grammar profile, got {shown(overrides['profile'])}")


def common_overrides(config: dict[str, Any], overrides: Mapping[str, Any]) -> list[str]:
    """Apply the flags every domain shares (search keys, seed, grammar); return their names."""
    flagged = []
    for key in (*DEFAULT_SEARCH, *SMOOTH_SEARCH):
        if key in overrides:
            config["search"][key] = overrides[key]
            flagged.append(key)
    if "seed" in overrides:
        config["seed"] = overrides["seed"]
        flagged.append("seed")
    if overrides.get("profile"):
        config["grammar"]["profile"] = overrides["profile"]
        flagged.append("profile")
    if overrides.get("ban"):
        config["grammar"]["ban"] += [b for b in overrides["ban"] if b not in config["grammar"]["ban"]]
        flagged.append("ban")
    for key in ("bits", "cost"):
        if overrides.get(key):
            config["grammar"][key].update(overrides[key])
            flagged.append(key)
    return flagged


def analysis_overrides(config: dict[str, Any], overrides: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[str]:
    """Apply flags that set [analysis] keys; return their names."""
    flagged = []
    for key in defaults:
        if key in overrides:
            config["analysis"][key] = overrides[key]
            flagged.append(key)
    return flagged


def validate_search(config: dict[str, Any]) -> None:
    """The search and grammar settings every domain shares."""
    s = config["search"]
    s["max_bits"] = number(s["max_bits"], "max_bits", minimum=0)
    if not 0 < s["max_bits"] <= MAX_BITS_LIMIT:
        raise DslError(f"max_bits must be in (0, {MAX_BITS_LIMIT}], got {s['max_bits']:g}")
    if s["order"] not in ORDERS:
        raise DslError(f"order must be one of {', '.join(ORDERS)}, got {s['order']!r}")
    if s["time_penalty"] not in TIME_PENALTIES:
        raise DslError(f"time_penalty must be one of {', '.join(TIME_PENALTIES)}, got {s['time_penalty']!r}")
    s["length_weight"] = number(s["length_weight"], "length_weight", minimum=0, maximum=LIMITS["weight"])
    s["time_weight"] = number(s["time_weight"], "time_weight", minimum=0, maximum=LIMITS["weight"])
    if s["length_weight"] == 0 and s["time_weight"] == 0:
        raise DslError("length_weight and time_weight cannot both be 0: every program would score 0")
    s["fit_threshold"] = number(s["fit_threshold"], "fit_threshold")
    if not 0 < s["fit_threshold"] <= 1:
        raise DslError(f"fit_threshold must be in (0, 1], got {s['fit_threshold']:g}")
    s["noise"] = number(s["noise"], "noise")
    if not 0 <= s["noise"] < 0.5:
        raise DslError(f"noise must be in [0, 0.5), got {s['noise']:g}")
    s["top"] = number(s["top"], "top", minimum=1, maximum=LIMITS["top"], integer=True)
    s["keep"] = number(s["keep"], "keep", minimum=1, maximum=LIMITS["keep"], integer=True)
    s["batch_size"] = number(s["batch_size"], "batch_size", minimum=1, maximum=LIMITS["batch_size"], integer=True)
    config["seed"] = number(config["seed"], "seed", minimum=0, maximum=MAX_SEED, integer=True)
    validate_tail(s)
    validate_smooth(s)
    g = config["grammar"]
    g["ban"] = names_list(g["ban"], "[grammar] ban")
    g["bits"] = number_table(g["bits"], "[grammar] bits")
    g["cost"] = number_table(g["cost"], "[grammar] cost", integer=True)
    if "profile" in g and not isinstance(g["profile"], str):
        raise DslError(f"[grammar] profile must be a name, got {g['profile']!r}")


def confidence(value: Any, what: str = "confidence") -> float:
    """A confidence level: a number strictly between 0 and 1, or a DslError."""
    value = number(value, what)
    if not 0 < value < 1:
        raise DslError(f"{what} must be in (0, 1), e.g. 0.9 or 0.99, got {value:g}")
    return value


def resolve_confidence(config: dict[str, Any], exp: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """The confidence level of the intervals over seeds and of the whole-posterior tail
    intervals: `--confidence` (or the `confidence` keyword), else [experiment]
    confidence, else 0.95. Recorded in the config only when it is not 0.95, so that
    default runs keep their records."""
    from levinsearch.stats import DEFAULT_CONFIDENCE
    value = confidence(overrides.get("confidence", exp.get("confidence", DEFAULT_CONFIDENCE)))
    if value != DEFAULT_CONFIDENCE:
        config["confidence"] = value
        if "confidence" in overrides:
            config["flags"].append("confidence")


def validate_smooth(s: dict[str, Any]) -> None:
    """smooth, smooth_samples and time_measure of the [search] table (when present); a key
    at its default is dropped, so that runs without smoothing keep their records."""
    if "smooth" in s:
        s["smooth"] = number(s["smooth"], "smooth")
        if not 0 <= s["smooth"] < 1:
            raise DslError(f"smooth must be in [0, 1), got {s['smooth']:g}")
    if "smooth_samples" in s:
        s["smooth_samples"] = number(s["smooth_samples"], "smooth_samples", minimum=1, maximum=MAX_SMOOTH_SAMPLES,
                                     integer=True)
    if "time_measure" in s and s["time_measure"] not in TIME_MEASURES:
        raise DslError(f"time_measure must be one of {', '.join(TIME_MEASURES)}, got {shown(s['time_measure'])}")
    for key, default in SMOOTH_SEARCH.items():
        if key in s and s[key] == default and not isinstance(s[key], bool):
            del s[key]
    s.pop("smooth_samples", None) if "smooth" not in s else None  # K means nothing without smoothing


def smooth_settings(s: dict[str, Any]) -> tuple[float, int, str]:
    """(sigma, K, time measure) of a resolved [search] table, defaults filled in."""
    return (float(s.get("smooth", SMOOTH_SEARCH["smooth"])), int(s.get("smooth_samples", SMOOTH_SEARCH["smooth_samples"])),
            str(s.get("time_measure", SMOOTH_SEARCH["time_measure"])))


def validate_tail(s: dict[str, Any]) -> None:
    """tail_samples, tail_seed and tail_max_bits of the [search] table."""
    s["tail_samples"] = number(s["tail_samples"], "tail_samples", minimum=0, maximum=LIMITS["tail_samples"],
                               integer=True)
    s["tail_seed"] = number(s["tail_seed"], "tail_seed", minimum=0, maximum=MAX_SEED, integer=True)
    if s["tail_max_bits"] is not None:
        s["tail_max_bits"] = number(s["tail_max_bits"], "tail_max_bits")
        if not s["max_bits"] < s["tail_max_bits"] <= MAX_BITS_LIMIT:
            raise DslError(f"tail_max_bits must be in (max_bits, {MAX_BITS_LIMIT}] = ({s['max_bits']:g}, "
                           f"{MAX_BITS_LIMIT}], got {s['tail_max_bits']:g}")
    if s["tail_samples"] and s["length_weight"] < 1:
        raise DslError("tail_samples needs length_weight >= 1: below 1 the programs beyond the enumeration "
                       "have no finite total mass to estimate")


def consensus_lists(a: dict[str, Any]) -> None:
    """consensus_top: whole numbers >= 1; epsilon in [0, 1); alpha in (0, 1]."""
    for key, ok, text in (("consensus_top", lambda v: v >= 1, ">= 1"), ("consensus_epsilon", lambda v: 0 <= v < 1,
                          "in [0, 1)"), ("consensus_alpha", lambda v: 0 < v <= 1, "in (0, 1]")):
        values = a[key] if isinstance(a[key], list) else [a[key]]
        if len(values) > 100:
            raise DslError(f"{key} takes at most 100 values, got {len(values)}")
        a[key] = [number(v, key, integer=key == "consensus_top",
                         maximum=LIMITS["consensus_top"] if key == "consensus_top" else None) for v in values]
        if not all(ok(v) for v in a[key]):
            raise DslError(f"{key} values must be {text}, got {a[key]}")


def trust_setting(a: dict[str, Any], overrides: Mapping[str, Any]) -> list[str]:
    """The optional [analysis] `trust` ("top:N" or "ratio:ALPHA"; `--trust` overrides it):
    the consensus analyses then use that one trusted-set rule in place of the
    consensus_top/epsilon/alpha lists, and report its query bound. Absent: nothing
    changes. Returns ["trust"] when the flag set it."""
    from levinsearch.consensus import parse_trust

    if "trust" in overrides:
        a["trust"] = overrides["trust"]
    if "trust" not in a:
        return []
    try:
        rule, value = parse_trust(a["trust"])
    except ValueError as err:
        raise DslError(str(err)) from None
    a["trust"] = f"{rule}:{bound_text(value)}"
    a["consensus_top"] = [int(value)] if rule == "top" else []
    a["consensus_epsilon"] = []
    a["consensus_alpha"] = [value] if rule == "ratio" else []
    return ["trust"] if "trust" in overrides else []


#: [analysis] keys of a prior ensemble (levinsearch.ensemble), shared by every domain.
PRIOR_KEYS = ("prior_draws", "prior_concentration")
#: Dirichlet concentration of the drawn encodings unless set (docs/concepts.md, "Prior ensembles").
DEFAULT_PRIOR_CONCENTRATION = 100.0
MAX_PRIOR_DRAWS = 10_000


def prior_setting(config: dict[str, Any], given: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """The prior ensemble's [analysis] prior_draws (K, 0: none) and prior_concentration
    (c > 0) from the file (`given`) and the flags. Recorded in `config["analysis"]`
    only when K > 0, so that runs without an ensemble keep their records."""
    draws = number(overrides.get("prior_draws", given.get("prior_draws", 0)), "prior_draws", minimum=0,
                   maximum=MAX_PRIOR_DRAWS, integer=True)
    concentration = overrides.get("prior_concentration", given.get("prior_concentration"))
    if concentration is not None:
        concentration = number(concentration, "prior_concentration")
        if not 0 < concentration <= 1e9:
            raise DslError(f"prior_concentration must be in (0, 1e9], got {concentration:g}")
        if draws == 0:
            raise DslError("prior_concentration needs prior_draws >= 1 (the number of encodings to draw)")
    if draws == 0:
        return
    config["analysis"]["prior_draws"] = draws
    config["analysis"]["prior_concentration"] = DEFAULT_PRIOR_CONCENTRATION if concentration is None \
        else concentration
    config["flags"] += [k for k in PRIOR_KEYS if k in overrides]


def parse_assignment(text: str, what: str) -> tuple[str, str]:
    """'NAME=VALUE' from a flag."""
    if "=" not in text:
        raise DslError(f"{what} takes NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    if not name.strip():
        raise DslError(f"{what} takes NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()
