"""The tm domain: Turing machines in the Busy Beaver formalism (DSL in `dsl.tm`), the
universal reference domain.

A machine fits when it halts within the step cap and its output (the visited tape
segment) starts with the training prefix; fitting machines are grouped by their
continuation (the output after the prefix, up to `deploy` symbols, with a value for
"the output ended"), which gives the predictive distribution of the next bits, Occam,
MAP vs mixture, rare defectors and consensus. The domain also adds the `levinsearch tm`
commands: exhaustive Busy Beaver and CTM censuses, and `tm show`. See docs/tm.md.
"""
from __future__ import annotations

from typing import Any, Mapping

from dsl.errors import DslError
from dsl.tm import primitives as tp
from levinsearch.ensemble import above, greater
from levinsearch.domains.base import Domain
from levinsearch.sweeps import map_error, shortest_share
from levinsearch.domains.tm import config as tm_config
from levinsearch.domains.tm.types import TMSummary


def _occam(r: dict) -> dict:
    return r["summary"]["occam"]


class TMDomain(Domain):
    name = "tm"
    sections = frozenset({"target", "machines", "stakes"})
    flag_keys = tm_config.FLAG_KEYS
    default_analysis = tm_config.DEFAULT_ANALYSIS
    short_keys = {"train_bits": "target.train", "deploy_bits": "target.deploy", "prefix": "target.prefix",
                  "step_cap": "machines.step_cap", "states": "machines.states", "max_states": "machines.max_states"}
    metrics = {
        "right": ("P(right)", "posterior of machines whose continuation is the target's on every deployment bit",
                  lambda r, split: _occam(r)["target_equivalent_posterior"]),
        "shortest": ("P(shortest)", "posterior of a shortest fitting machine (the mean over them when several "
                     "share the shortest length within the tie margin)", lambda r, split: shortest_share(r)),
        "ties_right": ("shortest right", "share of the fitting machines of the shortest length that continue rightly",
                       lambda r, split: _occam(r)["shortest_ties_right"] / _occam(r)["shortest_ties"]),
        "next_0": ("P(next 0)", "posterior that the output continues with 0 right after the prefix",
                   lambda r, split: r["summary"]["next_symbol"]["0"]),
        "next_1": ("P(next 1)", "posterior that the output continues with 1 right after the prefix",
                   lambda r, split: r["summary"]["next_symbol"]["1"]),
        "next_end": ("P(ends)", "posterior that the output ends right after the prefix",
                     lambda r, split: r["summary"]["next_symbol"]["end"]),
        "defectors": ("P(rare defector)",
                      "posterior of rare defectors (wrong on 1..max_defections deployment bits)",
                      lambda r, split: r["summary"]["rare_defection"]["posterior"]),
        "map_error": ("MAP error", "share of deployment bits the MAP machine gets wrong (with a MAP tie: the "
                      "mean over the tied behaviours)", lambda r, split: map_error(r)),
        "mixture_error": ("mixture error", "share of deployment bits the Bayes-mixture prediction gets wrong",
                          lambda r, split: r["summary"]["prediction"]["mixture_error_rate"]),
    }
    table_metrics = ("right", "ties_right", "next_0", "next_1", "next_end", "defectors", "map_error",
                     "mixture_error", "fitting", "unenumerated_mass")
    default_metric = "right"
    ensemble_directions = {
        "right_majority": ("P(right) > 1/2", above("right", 0.5)),
        "next_1_over_0": ("P(next 1) > P(next 0)", greater("next_1", "next_0")),
        "mixture_beats_map": ("mixture error < MAP error", greater("map_error", "mixture_error")),
    }
    kernel_modules = ("dsl.tm.kernels",)
    summary_type = TMSummary

    # ------------------------------------------------------------------ grammar and config
    def grammar(self, *, bits=None, ban=(), cost=None, profile=None, states=None):
        self.check_profile(profile)
        return tp.grammar(tm_config.MAX_STATES, bits=bits, ban=ban, cost=cost, states=states)

    def build_grammar(self, config: dict[str, Any]):
        g = config["grammar"]
        return self.grammar(bits=g["bits"], ban=g["ban"], cost=g["cost"], profile=g.get("profile"),
                            states=config["machines"]["states"])

    def resolve(self, raw, config, overrides):
        config = tm_config.resolve(raw, config, overrides)
        grammar = self.build_grammar(config)  # bad names, bits or costs fail here, before any work
        m = config["machines"]
        cap, note = tm_config.default_step_cap(m["states"], grammar)
        if "step_cap" in m:
            m["step_cap_note"] = (f"set in the experiment; {note}" if m["step_cap"] >= cap else
                                  f"set in the experiment, below {cap} ({note}): a machine that halts later "
                                  "counts as not halting")
        else:
            if cap > tm_config.LIMITS["step_cap"]:
                raise DslError(f"the default step cap ({note}) is {cap:,} steps, above the limit of "
                               f"{tm_config.LIMITS['step_cap']:,}; lower the step costs or set [machines] step_cap")
            m["step_cap"] = cap
            m["step_cap_note"] = note
        return config

    def raw_tables(self, config):
        """[target] and [machines] as written: the prefix (or the machine and train), deploy
        and continuation; the state counts, and the step cap only when the file set it."""
        t, m = config["target"], config["machines"]
        target = {k: t[k] for k in ("machine", "train", "deploy") if k in t} if "machine" in t else \
            {k: t[k] for k in ("prefix", "deploy", "continuation") if k in t}
        machines = {"states": m["states"]}
        if str(m.get("step_cap_note", "")).startswith("set in the experiment"):
            machines["step_cap"] = m["step_cap"]
        return {"target": target, "machines": machines, **({"stakes": config["stakes"]} if "stakes" in config else {})}

    # ------------------------------------------------------------------ running
    def prepare(self, config):
        from levinsearch.domains.tm.run import prepare
        return prepare(self, config)

    def reference_judge(self, prep):
        from levinsearch.domains.tm.run import reference_judge
        return reference_judge(prep)

    def build_record(self, prep, agg, enumeration, unseen_bound):
        from levinsearch.domains.tm.run import build_record
        return build_record(prep, agg, enumeration, unseen_bound)

    def report(self, record):
        from levinsearch.domains.tm import report
        return report.report(record)

    def check_record(self, record, where):
        """A census record (levinsearch.tm-census/1): its census must be one a census
        could have produced."""
        from levinsearch.domains.tm.census_run import census_of
        from levinsearch.domains.tm.report import CENSUS_SCHEMA
        if record.get("schema") != CENSUS_SCHEMA:
            super().check_record(record, where)
        census_of(record, where, "record")

    # ------------------------------------------------------------------ examples
    def example(self):
        return {"experiment": {"name": "tm-example", "domain": "tm",
                               "description": "the 2-state champion's output 1111 from its first 2 bits"},
                "search": {"max_bits": 17},
                "target": {"machine": "(tm2 1RB 1LB 1LA 1H)", "train": 2, "deploy": 3},
                "machines": {"max_states": 2}}

    def show_example(self):
        return "(tm2 1RB 1LB 1LA 1H)", {}

    # ------------------------------------------------------------------ commands
    def commands(self):
        from levinsearch.domains.tm.commands import tm_group
        return [tm_group]

    # ------------------------------------------------------------------ show
    def foreign_show_flag(self, flag):
        return f"a machine runs on the blank tape: drop {flag}"

    def show(self, program: str, config: dict[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
        from levinsearch.domains.tm.show import show
        return show(self, program, config, options)

    def show_report(self, record):
        from levinsearch.domains.tm.report import show_report
        return show_report(record)

    def figures(self, record):
        from levinsearch.analyses.prediction_figures import prediction_figures
        from levinsearch.domains.tm.report import CENSUS_SCHEMA
        if "enumeration" not in record or record.get("schema") == CENSUS_SCHEMA:
            return super().figures(record)
        return prediction_figures(record, lambda b: b["continuation"], noun="machine", unit="bit") \
            + super().figures(record)


DOMAIN = TMDomain()
