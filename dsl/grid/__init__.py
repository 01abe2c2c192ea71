"""The gridworld domain: world arrays, ASCII grids, generators, primitives, kernels."""
from dsl.grid.primitives import grammar, productions
from dsl.grid.world import GridEnv, SplitSpec, generate, load_ascii, pack, parse_ascii

__all__ = ["grammar", "productions", "GridEnv", "SplitSpec", "generate", "load_ascii", "pack", "parse_ascii"]
