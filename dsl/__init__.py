"""What programs are and how they run: grammars, text syntax, domains and interpreters.

This package knows nothing of search; `levinsearch` builds on it.
"""
from dsl.errors import DslError
from dsl.grammar import Grammar, Production, MBITS_PER_BIT

__all__ = ["DslError", "Grammar", "Production", "MBITS_PER_BIT"]
