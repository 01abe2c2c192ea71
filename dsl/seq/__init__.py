"""The integer-sequence domain: primitives, the reference interpreter and kernels."""
from dsl.seq.primitives import FIND_LIMIT, grammar, productions

__all__ = ["FIND_LIMIT", "grammar", "productions"]
