"""The grid DSL's productions, in grammar order (which is also the enumeration tie order).

Types: Action (what to do this step), Bool (a test of the current state),
Pred (a property of one cell) and Dir (a direction to sense in); the `heuristics`
profile adds Mem (one of four memory values).

Profiles (`grammar(profile=...)`):
- `default`: moves, `if`, the search constructs `plan` and `greedy`, `sense`, `see`,
  Bool and Pred connectives, and the compass directions N E S W.
- `heuristics`: everything in `default` (same productions, same ids, same order) and,
  after them, competent policies without search: reactive heading `(toward P)`,
  wall-following `wallright` / `wallleft`, memory `(remember M A)` / `(recall M)`, and
  more directions to sense in: diagonals, heading-relative directions and `(dirto P)`.
  The semantics and costs are specified in `dsl.grid.reference` and
  docs/grid-heuristics.md.
- `derived`: `default` with its Pred leaves replaced by bit tests of a cell code:
  `(bit K)` for a Code leaf K, with `and`, `or`, `not` (docs/grid.md, "Derived
  encodings"). `door` and `red` become derived detectors whose price follows from the
  code (CODES).
- `derived-pair`: as `derived` with a second code, in which a door is the pair of code
  bits `panel` (door or box) and `frame` (door or key), so it costs two bit tests.
- `derived-two-cell`: as `derived-pair`, but the frame is drawn on the cell north of
  each door and key (a mark, not an object), and Pred gains `(near Dir K)`, bit K of the
  neighbouring cell in direction Dir: a door is `panel` here and `frame` one cell north.
- `cued` and `heuristics-cued`: `default` and `heuristics` (same productions, same ids)
  with one Pred appended, `cued`: the cell holds an object of the colour the grid's cue
  names (a feature the environment sets, world.CUED_BIT; false everywhere in a grid
  without a cue). Priced as any feature leaf: one Pred production more, so every Pred
  costs log2(14/13) bits more than in the profile it extends (docs/grid.md).
- `history`: everything in `heuristics` (same productions, same ids, same order) and,
  after them, one Bool that reads the episode's trajectory so far: `(visited D)`, the
  neighbouring cell in direction D is one the agent has been on earlier this episode.
  Reading costs one simulated step per trajectory entry scanned, so a program that
  reads its past pays time that grows with the episode (dsl.grid.reference;
  docs/grid-heuristics.md, "The history profile"). A program containing it is a
  history reader (HISTORY_NAMES, the `history` flag).
- `defs` and `heuristics-defs`: `default` and `heuristics` (same productions, same ids)
  with one optional Pred definition per program (`dsl.grammar.with_definition`):
  `(let D B)` defines the Pred D once and the body B (typed in the copies Action',
  Bool', Pred', Dir') uses it through the Pred' leaf `ref`, so D's bits are counted once
  (docs/grid.md, "Definitions").
- `predict` and `heuristics-predict`: a program is a pair `(pair P A)` (start type
  Pair): P predicts another character's next move (run from the character's cell, its
  first move is the prediction) and A is the learner's own policy, both Actions of
  `default` (`heuristics`), same ids, with `pair` appended; with one optional Pred
  definition shared by both (`dsl.grammar.with_definition`, start
  Pair), written `(let D P A)`: D's bits are counted once however many of the two
  parts use it (docs/grid.md,
  "Predict and act"; dsl.grid.pair splits a pair into its two Action programs).
- `predict-act` and `heuristics-predict-act`: as `predict` and `heuristics-predict`, but
  the shared definition is an Action (DEFINED): `(let (plan red) ref ref)` shares the
  planner itself, machinery and goal, between predictor and policy; the body types are
  Action' (with the Action' leaf `ref`); Pred, Bool and Dir are not copied.
"""
from __future__ import annotations

from dataclasses import replace

from dsl.errors import DslError
from dsl.grammar import Grammar, Production, with_definition
from dsl.grid.world import COLOURS, CUED_BIT, DIRECTIONS, FEATURES, KINDS

# Semantic opcodes understood by both interpreters.
A_MOVE, A_IF, A_PLAN, A_GREEDY = 0, 1, 2, 3
B_SENSE, B_SEE, B_NOT, B_AND = 4, 5, 6, 7
P_FEATURE, P_AND, P_OR, P_NOT = 8, 9, 10, 11
D_DIR = 12
# heuristics profile
A_TOWARD, A_WALLRIGHT, A_WALLLEFT, A_REMEMBER = 13, 14, 15, 16
B_RECALL = 17
M_MEM = 18
D_RELATIVE, D_DIRTO = 19, 20
# derived profiles: (bit K) tests code bit K of a cell; a Code leaf's operand is the
# feature mask whose cells have that bit set.
P_BIT, K_CODE = 21, 22
# derived-two-cell: (near Dir K) tests code bit K of the cell next to the one tested.
P_NEAR = 23
#: A cell's code word: its feature bits, and MARK_BIT (the frame mark) when the cell
#: south of it holds one of FRAMED. Every position has one: off the grid it is a wall's,
#: with the mark when the cell south of it is a framed object on the grid's top row.
#: Bit 12 lies above every bit a cell's features use (world.py; bit 11 is left free for
#: an environment-set feature).
MARK_BIT = 1 << 12
FRAMED = ("door", "key")

PROFILES = ("default", "heuristics", "derived", "derived-pair", "derived-two-cell", "cued", "heuristics-cued", "history",
            "defs", "heuristics-defs", "predict", "heuristics-predict", "predict-act", "heuristics-predict-act")

# predict profiles: (pair P A), the start type Pair. Never run by an interpreter: a pair
# is split into its two Action programs first (dsl.grid.pair).
PAIR = 32
#: Profiles whose programs are pairs (start type Pair) and the profile of their parts.
PAIR_PROFILES = {"predict": "default", "heuristics-predict": "heuristics",
                 "predict-act": "default", "heuristics-predict-act": "heuristics"}
#: The type of a pair program's shared definition, per predict profile.
DEFINED = {"predict": "Pred", "heuristics-predict": "Pred", "predict-act": "Action", "heuristics-predict-act": "Action"}

# history profile (opcodes 40-49 are reserved for it)
B_VISITED = 40

#: Productions that read the episode's trajectory (a program containing one is a history
#: reader: the `history` flag and fields).
HISTORY_NAMES = ("visited",)

# defs profiles (23-29 are left to other profiles): (let D B) and the leaf ref (D's value).
LET, P_REF = 30, 31

#: The cell codes of the derived profiles: code bit name -> the features of the cells
#: that have it set (a cell's bit is set when it has any of them). Empty cells have no
#: bit set. `r`, `g`, `b` are colour channels: red is r, green g, blue b, yellow r + g.
#: `frame` (derived-two-cell) is the frame mark (MARK_BIT), set on the cell north of each
#: door and key: on a door's or key's own cell it is not set (unless another one is south).
CODES = {
    "derived": {"wall": ("wall",), "door": ("door",), "box": ("box",), "key": ("key",), "gem": ("gem",),
                "r": ("red", "yellow"), "g": ("green", "yellow"), "b": ("blue",)},
    "derived-pair": {"wall": ("wall",), "panel": ("door", "box"), "frame": ("door", "key"), "gem": ("gem",),
                     "r": ("red", "yellow"), "g": ("green", "yellow"), "b": ("blue",)},
    "derived-two-cell": {"wall": ("wall",), "panel": ("door", "box"), "frame": ("frame",), "gem": ("gem",),
                         "r": ("red", "yellow"), "g": ("green", "yellow"), "b": ("blue",)},
}


def code_mask(features: tuple[str, ...]) -> int:
    """The code-word mask of a code bit: its cells have any of `features` (`frame`: the
    frame mark)."""
    return sum(MARK_BIT if f == "frame" else 1 << FEATURES.index(f) for f in features)


#: Directions `sense` can read: the compass (operands 0..3, also the moves) and the
#: diagonals (operands 4..7) of the 3x3 local view.
SENSE_DIRECTIONS = DIRECTIONS + ("NE", "SE", "SW", "NW")
#: Heading-relative directions: operand k is the heading turned k quarter turns clockwise.
RELATIVE_DIRECTIONS = ("ahead", "right", "behind", "left")
MEMORY_VALUES = ("m0", "m1", "m2", "m3")


def productions(profile: str = "default") -> list[Production]:
    """Every production of the grid DSL under `profile`, in grammar order."""
    if profile not in PROFILES:
        raise DslError(f"unknown grammar profile {profile!r} for grid (known: {', '.join(PROFILES)})")
    if profile in CODES:
        return _derived(profile)
    if profile == "history":
        # after every heuristics production, so every heuristics id keeps its meaning
        return productions("heuristics") + [Production("visited", "Bool", ("Dir",), B_VISITED)]
    if profile in PAIR_PROFILES:
        # the parts' productions first (same ids), then pair, then the definition's copies
        parts = productions(PAIR_PROFILES[profile]) + [Production("pair", "Pair", ("Action", "Action"), PAIR, 0, 0)]
        defined = DEFINED[profile]
        # A ref never reaches an interpreter (a pair is written out before it is run), so
        # an Action ref shares the Pred ref's opcode.
        out = with_definition(parts, "Pair", defined, let_op=LET, ref_op=P_REF)
        # (let D P A), not (let D (pair P A)): a body type Pair' would hold one production
        # of 0 bits, which the enumerator's length tables cannot count.
        return [replace(p, args=(defined, "Action'", "Action'")) if p.role == "let" else p
                for p in out if p.type != "Pair'"]
    if profile.endswith("defs"):
        base = "heuristics" if profile.startswith("heuristics") else "default"
        return with_definition(productions(base), "Action", "Pred", let_op=LET, ref_op=P_REF)
    if profile.endswith("cued"):
        base = "heuristics" if profile.startswith("heuristics") else "default"
        return productions(base) + [Production("cued", "Pred", (), P_FEATURE, CUED_BIT)]
    out = [Production(d, "Action", (), A_MOVE, k) for k, d in enumerate(DIRECTIONS)]
    out += [
        Production("if", "Action", ("Bool", "Action", "Action"), A_IF),
        Production("plan", "Action", ("Pred",), A_PLAN),
        Production("greedy", "Action", ("Pred",), A_GREEDY),
        Production("sense", "Bool", ("Dir", "Pred"), B_SENSE),
        Production("see", "Bool", ("Pred",), B_SEE),
        Production("not", "Bool", ("Bool",), B_NOT),
        Production("and", "Bool", ("Bool", "Bool"), B_AND),
    ]
    for name in COLOURS + KINDS + ("wall", "empty"):
        out.append(Production(name, "Pred", (), P_FEATURE, FEATURES.index(name)))
    out += [
        Production("and", "Pred", ("Pred", "Pred"), P_AND),
        Production("or", "Pred", ("Pred", "Pred"), P_OR),
        Production("not", "Pred", ("Pred",), P_NOT),
    ]
    out += [Production(d, "Dir", (), D_DIR, k) for k, d in enumerate(DIRECTIONS)]
    if profile == "default":
        return out
    # heuristics: appended after every default production, so default opcode ids keep
    # their meaning; within a type, this order is the enumeration tie order.
    out += [
        Production("toward", "Action", ("Pred",), A_TOWARD),
        Production("wallright", "Action", (), A_WALLRIGHT),
        Production("wallleft", "Action", (), A_WALLLEFT),
        Production("remember", "Action", ("Mem", "Action"), A_REMEMBER),
        Production("recall", "Bool", ("Mem",), B_RECALL),
    ]
    out += [Production(name, "Mem", (), M_MEM, k) for k, name in enumerate(MEMORY_VALUES)]
    out += [Production(d, "Dir", (), D_DIR, k) for k, d in enumerate(SENSE_DIRECTIONS) if k >= 4]
    out += [Production(d, "Dir", (), D_RELATIVE, k) for k, d in enumerate(RELATIVE_DIRECTIONS)]
    out.append(Production("dirto", "Dir", ("Pred",), D_DIRTO))
    return out


def _derived(profile: str) -> list[Production]:
    """`default` with the Pred leaves replaced by `(bit K)` over the profile's code (and,
    in derived-two-cell, `(near Dir K)` after it)."""
    out = [p for p in productions("default") if p.op != P_FEATURE]
    at = next(i for i, p in enumerate(out) if p.type == "Pred")
    out.insert(at, Production("bit", "Pred", ("Code",), P_BIT))
    if profile == "derived-two-cell":
        out.insert(at + 1, Production("near", "Pred", ("Dir", "Code"), P_NEAR))
    out += [Production(name, "Code", (), K_CODE, code_mask(features)) for name, features in CODES[profile].items()]
    return out


def part_definitions(profile: str) -> list[Production]:
    """The productions a part of a `profile` pair is priced in when written alone
    (dsl.grid.measures): its part profile with one optional definition of the same type
    as the pair's (`defs` / `heuristics-defs` for a Pred; an Action otherwise)."""
    if profile not in PAIR_PROFILES:
        raise DslError(f"{profile!r} is not a predict profile (known: {', '.join(PAIR_PROFILES)})")
    return with_definition(productions(PAIR_PROFILES[profile]), "Action", DEFINED[profile], let_op=LET, ref_op=P_REF)


def start_type(profile: str | None) -> str:
    """The type of a whole program under `profile`: Pair for the predict profiles,
    Action otherwise."""
    return "Pair" if profile in PAIR_PROFILES else "Action"


def grammar(*, bits=None, ban=(), cost=None, profile: str | None = None) -> Grammar:
    """The grid grammar (start type Action; Pair under the predict profiles) of `profile`
    (default: "default") with overrides and bans applied."""
    return Grammar(productions(profile or "default"), start_type(profile), bits=bits, ban=ban, cost=cost)
