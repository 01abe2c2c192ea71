"""Domain conformance: every registered domain passes the same checks (in the spirit of
Gymnasium's check_env), from `levinsearch.conformance` (`levinsearch.check_domain` runs
them all). Parity of the judge with the reference interpreter, exact counts against the
reference enumerator, records independent of thread count and batch size, the record's
shared fields and schema, and `show`. Then: check_domain on domains that are wrong, and
the registry's plug-in loading (entry points faked here; tests/test_plugin.py installs one)."""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numba
import numpy as np
import pytest

import levinsearch
from levinsearch import conformance, domains
from levinsearch.conformance import CheckFailed, DomainCheckError

NAMES = domains.builtin_names()


def test_registry_lists_the_built_in_domains_first():
    assert domains.names()[:3] == ("grid", "seq", "tm") == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_interface(name):
    conformance.check_interface(domains.get(name))


@pytest.mark.parametrize("name", NAMES)
def test_compiled_judge_matches_the_reference(name):
    conformance.check_judge(domains.get(name))


@pytest.mark.parametrize("name", NAMES)
def test_counts_match_the_reference_enumerator(name):
    conformance.check_counts(domains.get(name))


@pytest.mark.parametrize("name", NAMES)
def test_record_does_not_depend_on_threads_or_batch_size(name):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has fewer than 2 threads")
    conformance.check_determinism(domains.get(name))


@pytest.mark.parametrize("name", NAMES)
def test_record_has_the_shared_fields_and_renders(name):
    conformance.check_record(domains.get(name))


@pytest.mark.parametrize("name", NAMES)
def test_show(name):
    conformance.check_show(domains.get(name))


# ------------------------------------------------------------------ check_domain on wrong domains
def test_check_domain_is_public_and_lists_interface_problems():
    assert levinsearch.check_domain is conformance.check_domain

    class Half(domains.base.Domain):
        name = "Half"
        profiles = ()

    with pytest.raises(DomainCheckError) as caught:
        levinsearch.check_domain(Half())
    assert str(caught.value) == (
        "domain 'Half' fails 4 conformance checks:\n"
        "- interface: name 'Half' is not a short lower-case name (a-z, 0-9, _)\n"
        "- interface: does not implement grammar, resolve, prepare, reference_judge, build_record, report, "
        "example, show_example, show, show_report\n"
        "- interface: default_metric '' is not one of its metrics (a domain has at least one sweep metric of its "
        "own: its default)\n"
        "- interface: profiles is empty (a domain has at least one grammar profile)")
    with pytest.raises(DomainCheckError, match=r"^domain 'int' fails 1 conformance check:\n- interface: DOMAIN is "
                                               r"an object of type int, not an instance of"):
        levinsearch.check_domain(3)


def test_check_domain_lists_every_failed_check_of_a_domain_that_runs():
    seq = domains.get("seq")

    class Liar(type(seq)):
        """seq whose reference judge says one step more, and whose show report is empty."""

        def reference_judge(self, prep):
            judge = super().reference_judge(prep)

            def fit(ops, sizes, caps):
                fits, successes, steps = judge.fit(ops, sizes, caps)
                return fits, successes, steps + 1
            return type(judge)(fit, judge.behaviour, judge.structure, judge.flags, judge.trials)

        def show_report(self, record):
            return ""

    with pytest.raises(DomainCheckError) as caught:
        conformance.check_domain(Liar())
    assert caught.value.problems == [
        "judge: the judge and the reference judge count different steps for (add (const one) (mul t t))",
        "show: the report does not show the program"]


def test_a_check_names_a_bug_in_the_domain_instead_of_crashing():
    seq = domains.get("seq")

    class Broken(type(seq)):
        def show(self, program, config, options):
            raise KeyError("rows")

    with pytest.raises(CheckFailed, match="^show: the report"):
        conformance.check_show(type("Quiet", (type(seq),), {"show_report": lambda self, r: ""})())
    problems = []
    try:
        conformance.check_domain(Broken())
    except DomainCheckError as exc:
        problems = exc.problems
    assert problems == ["show: KeyError: 'rows'"]


# ------------------------------------------------------------------ plug-in loading (entry points faked)
@dataclass
class FakeEntryPoint:
    name: str
    value: str
    load: object


@pytest.fixture
def plugins(monkeypatch):
    """Install fake entry points (name -> loader) for the registry, loaded afresh."""
    def install(found: dict):
        eps = [FakeEntryPoint(name, f"fake.{name}:DOMAIN", load) for name, load in found.items()]
        import importlib.metadata
        monkeypatch.setattr(importlib.metadata, "entry_points",
                            lambda group=None: eps if group == domains.ENTRY_POINT_GROUP else [])
        monkeypatch.setattr(domains, "_plugins", None)
        monkeypatch.setattr(domains, "_problems", {})
    yield install


def test_plugins_are_added_and_bad_ones_left_out_with_one_line(plugins):
    seq = domains.get("seq")
    good = type("Echo", (type(seq),), {"name": "echo"})()

    def fails():
        raise ImportError("No module named 'numpyy'\n(more)")

    plugins({"echo": lambda: good, "broken": fails, "seq": lambda: good, "misnamed": lambda: good,
             "junk": lambda: object()})
    assert domains.names() == ("grid", "seq", "tm", "echo")
    assert domains.get("echo") is good and domains.get("seq") is seq
    assert domains.problems() == [
        "plug-in domain 'broken' (fake.broken:DOMAIN) failed to load: ImportError: No module named 'numpyy' (more)",
        "plug-in domain 'junk' (fake.junk:DOMAIN) left out: DOMAIN is an object of type object, not an instance "
        "of levinsearch.domains.base.Domain",
        "plug-in domain 'misnamed' (fake.misnamed:DOMAIN) left out: its name is 'echo', but it is registered as "
        "'misnamed'",
        "plug-in domain 'seq' (fake.seq:DOMAIN) left out: 'seq' is a built-in domain; a plug-in cannot replace it"]
    with pytest.raises(domains.DslError, match=r"^plug-in domain 'broken' \(fake.broken:DOMAIN\) failed to load"):
        domains.get("broken")
    with pytest.raises(domains.DslError, match=r"^unknown domain 'nope' \(known: grid, seq, tm, echo\)$"):
        domains.get("nope")


def test_plugins_are_read_on_first_use_only(plugins):
    calls = []
    plugins({"late": lambda: calls.append(1)})
    domains.get("grid")  # a built-in domain needs no plug-in
    assert calls == [] and domains._plugins is None
    assert "late" not in domains.names() and calls == [1]
    domains.names()
    assert calls == [1]  # once per process
