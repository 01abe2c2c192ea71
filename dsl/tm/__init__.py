"""The Turing-machine domain (Busy Beaver formalism): grammar, reference interpreter,
compiled simulator, and exhaustive Busy Beaver / CTM censuses. See docs/tm.md."""
from dsl.tm.primitives import MAX_STATES, grammar, productions

__all__ = ["MAX_STATES", "grammar", "productions"]
