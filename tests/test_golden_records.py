"""Every bundled experiment still gives the record stored in tests/golden/records
(see tests/golden/records.py): refactorings must not change results."""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import records as golden  # noqa: E402

from levinsearch import experiments, types  # noqa: E402


def test_every_bundled_experiment_has_a_stored_record():
    assert sorted(p.name[: -len(".json.gz")] for p in golden.STORE.glob("*.json.gz")) == sorted(experiments.bundled())


@pytest.mark.parametrize("name", sorted(experiments.bundled()))
def test_record_is_unchanged(name):
    old = golden.stored(name)
    b = json.loads(old)
    record = golden.run(name)
    types.validate(json.loads(json.dumps(record, default=lambda v: v.tolist())))  # the published JSON Schema
    a = golden.restrict(golden.normalise(record), b)
    if json.dumps(a, indent=1) + "\n" == old:
        return
    assert golden.close(a, b), f"{name}: record changed at {golden.first_difference(a, b)}"
    # Equal up to float rounding: numpy's SIMD reductions may round differently on another CPU.
    warnings.warn(f"{name}: record equal only up to float rounding ({golden.first_difference(a, b)})")
