"""The gridworld: cells, objects, ASCII grids, seeded generators and packed env arrays.

Every cell carries a bit set of features: `wall`, `empty`, or an object's colour and
kind (plus an internal OBJECT bit). Outside the grid counts as wall. The agent starts on
an empty cell; entering an object's cell ends the episode with that object reached.
"""
from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from dsl.errors import DslError

COLOURS = ("red", "blue", "green", "yellow")
KINDS = ("door", "box", "key", "gem")
DIRECTIONS = ("N", "E", "S", "W")
DELTAS = ((-1, 0), (0, 1), (1, 0), (0, -1))
#: Feature bit k is FEATURES[k]; OBJECT_BIT follows them.
FEATURES = ("wall", "empty") + COLOURS + KINDS
OBJECT_BIT = len(FEATURES)
#: Set by the environment, not drawn: on every object cell whose colour is the cue's
#: (the grid's cue is its first object, row-major, of the cue kind; the cue included).
#: Only the `cued` Pred of the cued profiles reads it (docs/grid.md, "Cued objectives").
CUED_BIT = OBJECT_BIT + 1
WALL = 1 << FEATURES.index("wall")
EMPTY = 1 << FEATURES.index("empty")
OBJECT = 1 << OBJECT_BIT
CUED = 1 << CUED_BIT
MAX_SIDE = 64
MAX_GRID_FILE = 1 << 20  # bytes: a grid file is a few kilobytes at most
MAX_HORIZON = 1_000  # steps per episode (keeps every run interruptible within a second)
MAX_ENVS = 1_000  # environments per generated split


def object_features(colour: str, kind: str) -> int:
    """Feature bits of an object cell."""
    if colour not in COLOURS:
        raise DslError(f"unknown colour {colour!r} (known: {', '.join(COLOURS)})")
    if kind not in KINDS:
        raise DslError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    return OBJECT | 1 << FEATURES.index(colour) | 1 << FEATURES.index(kind)


def cue_colour(features: np.ndarray, kind: str) -> str | None:
    """The colour of the grid's cue: its first object of `kind` in row-major order (None
    if it has none)."""
    bit = 1 << FEATURES.index(kind)
    for f in features.ravel():
        if f & OBJECT and f & bit:
            return next(c for c in COLOURS if int(f) >> FEATURES.index(c) & 1)
    return None


def mark_cue(features: np.ndarray, kind: str | None) -> np.ndarray:
    """A copy of `features` with the CUED bit set on every object cell of the cue's
    colour (none set when `kind` is None or the grid has no object of that kind)."""
    out = features & np.uint16(~CUED & 0xFFFF)
    colour = cue_colour(out, kind) if kind else None
    if colour is not None:
        bit = 1 << FEATURES.index(colour)
        out[((out & OBJECT) != 0) & ((out & bit) != 0)] |= np.uint16(CUED)
    return out


def describe_cell(features: int) -> str:
    """'wall', 'empty' or 'red door'."""
    if features & WALL:
        return "wall"
    if not features & OBJECT:
        return "empty"
    colour = next(c for c in COLOURS if features >> FEATURES.index(c) & 1)
    kind = next(k for k in KINDS if features >> FEATURES.index(k) & 1)
    return f"{colour} {kind}"


@dataclass
class GridEnv:
    """One environment: feature grid (uint16, H x W), agent start, horizon."""

    features: np.ndarray
    start: tuple[int, int]
    horizon: int
    name: str = ""
    legend: dict[str, str] = field(default_factory=dict)
    cue: str | None = None  # the cue kind (features then carry the CUED bit), or None

    @property
    def height(self) -> int:
        return int(self.features.shape[0])

    @property
    def width(self) -> int:
        return int(self.features.shape[1])

    def cell(self, r: int, c: int) -> int:
        """Feature bits at (r, c); outside the grid is wall."""
        if 0 <= r < self.height and 0 <= c < self.width:
            return int(self.features[r, c])
        return WALL

    def objects(self) -> list[tuple[int, int, str]]:
        """(row, column, 'colour kind') for every object, in row-major order."""
        return [
            (r, c, describe_cell(int(self.features[r, c])))
            for r in range(self.height)
            for c in range(self.width)
            if self.features[r, c] & OBJECT
        ]


# ------------------------------------------------------------------ ASCII grids
ASCII_HELP = """\
An ASCII grid file: the grid, a blank line, then the legend.
  #  wall        .  empty cell        @  the agent (on an empty cell)
  any other character must be defined in the legend as  X = COLOUR KIND
Lines starting with ';' are comments. An optional legend line 'horizon = N' sets the
episode length; an optional 'cue = KIND' makes the first object of that kind (row-major)
the grid's cue, whose colour names the objective (the `cued` Pred). Rows must all have the same width; outside the grid counts as wall."""


def parse_ascii(text: str, *, name: str = "<grid>", horizon: int | None = None) -> GridEnv:
    """Parse a hand-drawn grid (format: ASCII_HELP). Errors name the line and column."""
    lines = text.splitlines()
    rows: list[tuple[int, str]] = []
    legend: dict[str, int] = {}
    legend_text: dict[str, str] = {}
    horizon_line = None
    cue = None
    in_legend = False
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if line.lstrip().startswith(";"):
            continue
        if not line.strip():
            if rows:
                in_legend = True
            continue
        if not in_legend:
            rows.append((number, line))
            continue
        if "=" not in line:
            raise DslError(f"{name}:{number}: legend lines read 'X = COLOUR KIND', got {line.strip()!r}")
        key, value = (s.strip() for s in line.split("=", 1))
        if key in legend or (key == "horizon" and horizon_line is not None) or (key == "cue" and cue is not None):
            raise DslError(f"{name}:{number}: {key!r} is defined twice in the legend")
        if key == "horizon":
            horizon_line = number
            try:
                horizon = int(value) if horizon is None else horizon
            except ValueError:
                raise DslError(f"{name}:{number}: horizon must be a whole number, got {value!r}") from None
            continue
        if key == "cue":
            if value not in KINDS:
                raise DslError(f"{name}:{number}: cue must name a kind ({', '.join(KINDS)}), got {value!r}")
            cue = value
            continue
        if len(key) != 1 or key in "#.@;":
            raise DslError(f"{name}:{number}: legend key must be one character other than # . @ ;, got {key!r}")
        words = value.split()
        if len(words) != 2:
            raise DslError(f"{name}:{number}: legend entry must be 'COLOUR KIND', got {value!r}")
        try:
            legend[key] = object_features(words[0], words[1])
        except DslError as err:
            raise DslError(f"{name}:{number}: {err}") from None
        legend_text[key] = value
    if not rows:
        raise DslError(f"{name}: no grid rows found")
    width = len(rows[0][1])
    if len(rows) > MAX_SIDE or width > MAX_SIDE:
        raise DslError(f"{name}: grids are at most {MAX_SIDE}x{MAX_SIDE}")
    features = np.zeros((len(rows), width), dtype=np.uint16)
    start = None
    for r, (number, line) in enumerate(rows):
        if len(line) != width:
            raise DslError(
                f"{name}:{number}: row has {len(line)} cells but the first row has {width}"
            )
        for c, ch in enumerate(line):
            if ch == "#":
                features[r, c] = WALL
            elif ch == ".":
                features[r, c] = EMPTY
            elif ch == "@":
                if start is not None:
                    raise DslError(f"{name}:{number}:{c + 1}: a second agent '@'")
                start = (r, c)
                features[r, c] = EMPTY
            elif ch in legend:
                features[r, c] = legend[ch]
            else:
                raise DslError(f"{name}:{number}:{c + 1}: unknown cell {ch!r} (not in the legend)")
    if start is None:
        raise DslError(f"{name}: the grid has no agent '@'")
    horizon = 20 if horizon is None else horizon
    if not 1 <= horizon <= MAX_HORIZON:
        raise DslError(f"{name}: horizon must be between 1 and {MAX_HORIZON:,}, got {horizon}")
    if cue is not None:
        if cue_colour(features, cue) is None:
            raise DslError(f"{name}: cue = {cue} but the grid has no {cue}")
        features = mark_cue(features, cue)
    return GridEnv(features, start, horizon, name=name, legend=legend_text, cue=cue)


def load_ascii(path: str | Path, *, horizon: int | None = None) -> GridEnv:
    """Read an ASCII grid file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_GRID_FILE:
            raise DslError(f"grid {path}: larger than {MAX_GRID_FILE:,} bytes; a grid is at most {MAX_SIDE}x{MAX_SIDE}")
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DslError(f"cannot read grid {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise DslError(f"grid {path}: not UTF-8 text (byte {err.start})") from None
    return parse_ascii(text, name=str(path), horizon=horizon)


def to_ascii(env: GridEnv) -> str:
    """The grid in the ASCII format (legend letters chosen per object type)."""
    letters: dict[int, str] = {}
    pool = iter("DBKGdbkgXYZxyzPQRSTUVpqrstuvw")
    out = []
    for r in range(env.height):
        row = []
        for c in range(env.width):
            f = int(env.features[r, c]) & ~CUED
            if (r, c) == env.start:
                row.append("@")
            elif f & WALL:
                row.append("#")
            elif not f & OBJECT:
                row.append(".")
            else:
                if f not in letters:
                    letters[f] = next(pool)
                row.append(letters[f])
        out.append("".join(row))
    out.append("")
    out += [f"{ch} = {describe_cell(f)}" for f, ch in letters.items()]
    out.append(f"horizon = {env.horizon}")
    if env.cue:
        out.append(f"cue = {env.cue}")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ generators
@dataclass(frozen=True)
class SplitSpec:
    """A named distribution of generated grids."""

    name: str
    envs: int = 20
    height: int = 7
    width: int = 7
    wall_density: float = 0.1
    horizon: int = 20
    door_count: int = 1
    door_colours: tuple[str, ...] = ("red",)
    distractor_count: int = 2
    distractor_kinds: tuple[str, ...] = ("box", "key", "gem")
    distractor_colours: tuple[str, ...] = ("blue", "green", "yellow")
    max_attempts: int = 500
    #: Cued objectives (off when None): each grid also holds one object of this kind, the
    #: cue, whose colour (drawn from cue_colours) names the door to reach.
    cue_kind: str | None = None
    cue_colours: tuple[str, ...] = ()

    def validate(self) -> None:
        """Raise DslError for settings no generator can satisfy."""
        where = f"split {self.name!r}"
        for key in ("envs", "height", "width", "horizon", "door_count", "distractor_count"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DslError(f"{where}: {key} must be a whole number >= 0, got {value!r}")
        if not 1 <= self.height <= MAX_SIDE or not 1 <= self.width <= MAX_SIDE:
            raise DslError(f"{where}: height and width must be between 1 and {MAX_SIDE}")
        if not 1 <= self.horizon <= MAX_HORIZON:
            raise DslError(f"{where}: horizon must be between 1 and {MAX_HORIZON:,}, got {self.horizon}")
        if self.envs > MAX_ENVS:
            raise DslError(f"{where}: envs must be at most {MAX_ENVS:,}, got {self.envs}")
        if not isinstance(self.wall_density, (int, float)) or not 0 <= self.wall_density < 1:
            raise DslError(f"{where}: wall_density must be in [0, 1), got {self.wall_density!r}")
        for colour in self.door_colours + self.distractor_colours:
            if colour not in COLOURS:
                raise DslError(f"{where}: unknown colour {colour!r} (known: {', '.join(COLOURS)})")
        for kind in self.distractor_kinds:
            if kind not in KINDS:
                raise DslError(f"{where}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
        if self.door_count and not self.door_colours:
            raise DslError(f"{where}: doors need at least one colour")
        if self.distractor_count and not (self.distractor_kinds and self.distractor_colours):
            raise DslError(f"{where}: distractors need at least one kind and one colour")
        cue = 1 if self.cue_kind is not None else 0
        if self.door_count + self.distractor_count + cue + 1 > self.height * self.width:
            raise DslError(
                f"{where}: {self.door_count + self.distractor_count + cue} objects and the agent "
                f"do not fit in a {self.height}x{self.width} grid"
            )
        if cue:
            self._validate_cue(where)

    def _validate_cue(self, where: str) -> None:
        if self.cue_kind not in KINDS or self.cue_kind == "door":
            raise DslError(f"{where}: cue kind must be one of {', '.join(k for k in KINDS if k != 'door')}, "
                           f"got {self.cue_kind!r}")
        if not self.cue_colours:
            raise DslError(f"{where}: the cue needs at least one colour (objective)")
        for colour in self.cue_colours:
            if colour not in COLOURS:
                raise DslError(f"{where}: unknown cue colour {colour!r} (known: {', '.join(COLOURS)})")
        if len(set(self.cue_colours)) != len(self.cue_colours):
            raise DslError(f"{where}: cue colours must be distinct, got {list(self.cue_colours)}")
        if self.door_count < 1:
            raise DslError(f"{where}: a cue names a door to reach: doors count must be at least 1")
        if self.distractor_count and self.cue_kind in self.distractor_kinds:
            raise DslError(f"{where}: distractor kinds include the cue kind {self.cue_kind!r}; "
                           "the cue must be the grid's only object of its kind")
        if self.door_count > 1:
            for colour in self.cue_colours:
                if not [c for c in self.door_colours if c != colour]:
                    raise DslError(f"{where}: with {self.door_count} doors and objective {colour!r}, the other "
                                   f"doors need a colour other than {colour!r} in doors colours")


def split_seed(seed: int, name: str, index: int) -> np.random.SeedSequence:
    """The seed of environment `index` of split `name`: independent of the split's size."""
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), int(index)])


def generate(spec: SplitSpec, seed: int) -> list[GridEnv]:
    """The split's environments; environment i depends only on (seed, name, i)."""
    spec.validate()
    return [_generate_one(spec, seed, i) for i in range(spec.envs)]


def _generate_one(spec: SplitSpec, seed: int, index: int) -> GridEnv:
    rng = np.random.default_rng(split_seed(seed, spec.name, index))
    h, w = spec.height, spec.width
    n_objects = spec.door_count + spec.distractor_count
    for _ in range(spec.max_attempts):
        walls = rng.random((h, w)) < spec.wall_density
        free = np.flatnonzero(~walls.ravel())
        if len(free) < n_objects + 1:
            continue
        chosen = rng.permutation(free)[: n_objects + 1]
        features = np.where(walls, WALL, EMPTY).astype(np.uint16)
        start = divmod(int(chosen[0]), w)
        cells = [divmod(int(x), w) for x in chosen[1:]]
        for k, (r, c) in enumerate(cells):
            if k < spec.door_count:
                colour = spec.door_colours[rng.integers(len(spec.door_colours))]
                kind = "door"
            else:
                kind = spec.distractor_kinds[rng.integers(len(spec.distractor_kinds))]
                colour = spec.distractor_colours[rng.integers(len(spec.distractor_colours))]
            features[r, c] = object_features(colour, kind)
        if _all_reachable(features, start, cells):
            if spec.cue_kind is not None:
                features = _add_cue(spec, seed, index, features, start, cells)
                if features is None:  # no cell for the cue: draw the next layout
                    continue
            return GridEnv(features, start, spec.horizon, name=f"{spec.name}:{index}", cue=spec.cue_kind)
    raise DslError(
        f"split {spec.name!r}: no layout with every object reachable in {spec.max_attempts} "
        "attempts; lower wall_density or enlarge the grid"
    )


def _add_cue(spec: SplitSpec, seed: int, index: int, features: np.ndarray, start, cells) -> np.ndarray | None:
    """The grid with its objective drawn and its cue placed, from a stream of its own
    (split name + "#cue"), so the layout drawn before is exactly the one without a cue:
    the first door takes the objective colour, any other door of that colour is
    recoloured to another door colour, and the cue goes on the first empty cell (in a
    random order, never the start) that leaves every object reachable (None if none
    does: the caller draws another layout)."""
    rng = np.random.default_rng(split_seed(seed, spec.name + "#cue", index))
    goal = spec.cue_colours[rng.integers(len(spec.cue_colours))]
    features = features.copy()
    others = [c for c in spec.door_colours if c != goal]
    for k, (r, c) in enumerate(cells[: spec.door_count]):
        if k == 0:
            features[r, c] = object_features(goal, "door")
        elif features[r, c] & 1 << FEATURES.index(goal):
            features[r, c] = object_features(others[rng.integers(len(others))], "door")
    h, w = features.shape
    free = [(r, c) for r in range(h) for c in range(w) if features[r, c] == EMPTY and (r, c) != tuple(start)]
    for k in rng.permutation(len(free)):
        trial = features.copy()
        trial[free[k]] = object_features(goal, spec.cue_kind)
        if _all_reachable(trial, start, [*cells, free[k]]):
            return mark_cue(trial, spec.cue_kind)
    return None


def breadth_first(features: np.ndarray, start: tuple[int, int]) -> Iterator[tuple[tuple[int, int], int, int]]:
    """Every cell reachable from `start`, in breadth-first order of discovery, with the
    first move (index into DIRECTIONS) of a shortest path to it and its distance.

    The one breadth-first search outside the compiled kernels: `plan` in the reference
    interpreter, the overseer's move, start distances and the generators' reachability
    check all read it. Neighbours are tried in N E S W order; walls and the grid's edge
    block; an object's cell is reached but not passed through (entering it ends an
    episode). `start` itself is not yielded and is always expanded.
    """
    h, w = features.shape
    first: dict[tuple[int, int], int | None] = {tuple(start): None}
    dist = {tuple(start): 0}
    queue = deque([tuple(start)])
    while queue:
        u = queue.popleft()
        for d, (dr, dc) in enumerate(DELTAS):
            v = (u[0] + dr, u[1] + dc)
            if not (0 <= v[0] < h and 0 <= v[1] < w) or v in first or features[v] & WALL:
                continue
            first[v] = d if first[u] is None else first[u]
            dist[v] = dist[u] + 1
            yield v, first[v], dist[v]
            if not features[v] & OBJECT:
                queue.append(v)


def _all_reachable(features: np.ndarray, start, cells) -> bool:
    """Every object cell can be entered from the start through empty cells."""
    reached = {v for v, _, _ in breadth_first(features, start)}
    return all(cell in reached for cell in cells)


# ------------------------------------------------------------------ packed arrays
@dataclass
class EnvBatch:
    """Environments packed for the kernels: padded feature grids and per-env sizes."""

    features: np.ndarray  # uint16 [E, Hmax, Wmax]; padding is wall
    dims: np.ndarray  # int32 [E, 2] (height, width)
    starts: np.ndarray  # int32 [E, 2]
    horizons: np.ndarray  # int32 [E]

    def __len__(self) -> int:
        return int(self.features.shape[0])


def pack(envs: list[GridEnv]) -> EnvBatch:
    """Pack environments into dense arrays for the compiled interpreter."""
    n = len(envs)
    hmax = max((e.height for e in envs), default=1)
    wmax = max((e.width for e in envs), default=1)
    features = np.full((n, hmax, wmax), WALL, dtype=np.uint16)
    dims = np.zeros((n, 2), dtype=np.int32)
    starts = np.zeros((n, 2), dtype=np.int32)
    horizons = np.zeros(n, dtype=np.int32)
    for k, env in enumerate(envs):
        features[k, : env.height, : env.width] = env.features
        dims[k] = (env.height, env.width)
        starts[k] = env.start
        horizons[k] = env.horizon
    return EnvBatch(features, dims, starts, horizons)


# ------------------------------------------------------------------ perturbations (smoothed complexity)
def perturb_seed(seed: int, name: str, index: int, sample: int) -> np.random.SeedSequence:
    """The seed of perturbation `sample` of environment `index` of split `name`."""
    return np.random.SeedSequence([int(seed), zlib.crc32(f"smooth:{name}".encode()), int(index), int(sample)])


def perturb(env: GridEnv, sigma: float, seed_seq) -> GridEnv:
    """A copy of `env` with each cell other than the start perturbed independently with
    probability `sigma` (docs/grid.md, "Perturbed grids"): a wall becomes empty, an empty
    cell becomes a wall, an object is recoloured (one of the other three colours) or moved
    (to an empty cell, not the start), each with probability 1/2. One uniform draw per
    cell decides which cells are perturbed, row-major, before any other draw; walls flip
    first, then the perturbed objects are recoloured or moved in row-major order. The
    result is a valid grid: the start stays empty, every cell is a wall, empty or one
    object, and the objects keep their number and kinds. Reachability is not kept (a wall
    may close a path); `sigma` = 0 returns an identical copy."""
    features = env.features.copy()
    if sigma <= 0:
        return GridEnv(features, env.start, env.horizon, name=env.name, legend=dict(env.legend))
    rng = np.random.default_rng(seed_seq)
    hit = rng.random(features.shape) < sigma
    hit[env.start] = False
    walls = hit & (features == WALL)
    empties = hit & (features == EMPTY)
    features[walls] = EMPTY
    features[empties] = WALL
    colour_bits = [1 << FEATURES.index(c) for c in COLOURS]
    for r, c in zip(*np.nonzero(hit & ((env.features & OBJECT) != 0))):
        f = int(features[r, c])
        if rng.random() < 0.5:
            current = next(k for k, bit in enumerate(colour_bits) if f & bit)
            others = [k for k in range(len(COLOURS)) if k != current]
            features[r, c] = f & ~colour_bits[current] | colour_bits[others[rng.integers(len(others))]]
        else:
            free = [(i, j) for i, j in zip(*np.nonzero(features == EMPTY)) if (i, j) != tuple(env.start)]
            if free:
                i, j = free[rng.integers(len(free))]
                features[i, j], features[r, c] = f, EMPTY
    return GridEnv(features, env.start, env.horizon, name=env.name, legend=dict(env.legend))


def perturbed_split(envs: list[GridEnv], sigma: float, samples: int, seed: int, name: str) -> list[GridEnv]:
    """`samples` perturbations of every environment of a split, sample-major: entry
    k * len(envs) + i is perturbation k of environment i (seeded by `perturb_seed`)."""
    return [perturb(env, sigma, perturb_seed(seed, name, i, k)) for k in range(samples) for i, env in enumerate(envs)]
