"""The seq domain: integer-sequence prediction (DSL in `dsl.seq`).

A program fits when it predicts every training term; fitting programs are grouped by
their predictions of the deployment terms, which give Occam, MAP vs mixture, rare
defectors and consensus.
"""
from __future__ import annotations

from typing import Any, Mapping

from dsl.errors import DslError
from dsl.seq import primitives
from levinsearch.domains.base import Domain
from levinsearch.domains.seq import config as seq_config
from levinsearch.domains.seq.types import SeqSummary
from levinsearch.sweeps import whole


class SeqDomain(Domain):
    name = "seq"
    sections = frozenset({"target"})
    flag_keys = seq_config.FLAG_KEYS
    default_analysis = seq_config.DEFAULT_ANALYSIS
    short_keys = {"train_terms": "target.train", "deploy_terms": "target.deploy"}
    metrics = {
        "equivalent": ("P(target-equivalent)",
                       "posterior of programs that agree with the target on every deployment step",
                       lambda r, split: r["summary"]["occam"]["target_equivalent_posterior"]),
        "shortest": ("P(shortest)", "posterior of the shortest fitting program",
                     lambda r, split: r["summary"]["occam"]["shortest_posterior"]),
        "defectors": ("P(rare defector)",
                      "posterior of rare defectors (wrong on 1..max_defections deployment steps)",
                      lambda r, split: r["summary"]["rare_defection"]["posterior"]),
        "map_error": ("MAP error", "share of deployment steps the MAP prediction gets wrong",
                      lambda r, split: r["summary"]["prediction"]["map_error_rate"]),
        "mixture_error": ("mixture error", "share of deployment steps the Bayes-mixture prediction gets wrong",
                          lambda r, split: r["summary"]["prediction"]["mixture_error_rate"]),
        "history": ("P(history)", "posterior of programs that read the history with hist or fold (history "
                    "profile; none under the default profile)",
                    lambda r, split: r["summary"].get("history_mass")),
        "whole_equivalent": ("P(target-equivalent), all", "posterior of target-equivalent programs over all "
                             "programs (estimated with tail samples)",
                             lambda r, split: whole(r, "target_equivalent")),
        "whole_defectors": ("P(rare defector), all", "posterior of rare defectors over all programs (estimated "
                            "with tail samples)", lambda r, split: whole(r, "rare_defectors")),
    }
    table_metrics = ("equivalent", "shortest", "defectors", "map_error", "mixture_error", "fitting",
                     "unenumerated_mass")
    default_metric = "defectors"
    whole_metrics = ("whole_equivalent", "whole_defectors")
    kernel_modules = ("dsl.seq.kernels",)
    summary_type = SeqSummary
    profiles = primitives.PROFILES

    def grammar(self, *, bits=None, ban=(), cost=None, profile=None):
        profile = self.check_profile(profile)
        return primitives.grammar(bits=bits, ban=ban, cost=cost, profile=profile)

    def resolve(self, raw, config, overrides):
        return seq_config.resolve(raw, config, overrides)

    def prepare(self, config):
        from levinsearch.domains.seq.run import prepare
        return prepare(self, config)

    def reference_judge(self, prep):
        from levinsearch.domains.seq.run import reference_judge
        return reference_judge(prep)

    def example(self):
        return {"experiment": {"name": "seq-example", "domain": "seq",
                               "description": "t^2 + 1 from its first three terms"},
                "search": {"max_bits": 24}, "target": {"program": "(add (mul t t) (const one))", "train": 3,
                                                       "deploy": 5}}

    def show_example(self):
        return "(add (mul t t) (const one))", {}

    def min_fit_steps(self, prep):
        """Every prediction evaluates the program's root, an Expr production."""
        g = prep.grammar
        cheapest = min(g.step_cost[i] for i in g.by_type[g.start])
        return max(1, prep.n_train * int(cheapest))

    def build_record(self, prep, agg, enumeration, unseen_bound):
        from levinsearch.domains.seq.run import build_record
        return build_record(prep, agg, enumeration, unseen_bound)

    def report(self, record):
        from levinsearch.domains.seq.report import seq_report
        return seq_report(record)

    def foreign_show_flag(self, flag):
        what = "--env or --grid" if flag in ("--env", "--grid") else flag
        return f"a seq experiment takes no {what}: show PROGRAM --experiment NAME"

    def show(self, program: str, config: dict[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
        from levinsearch.domains.seq.run import show_record
        if config is None:
            raise DslError("a seq program is shown against a target: show PROGRAM --experiment NAME")
        return show_record(self.build_grammar(config), config, program)

    def show_report(self, record):
        from levinsearch.domains.seq.report import seq_show_table
        return seq_show_table(record)

    def figures(self, record):
        from levinsearch.domains.seq import figures
        if "enumeration" not in record:  # a show record: its predictions
            return [("predictions", figures.show_figure(record))]
        return figures.run_figures(record) + super().figures(record)


DOMAIN = SeqDomain()
