"""The grid `heuristics` profile: its grammar, and hand-drawn grids with outcomes, step
counts and lookahead worked out by hand, on the reference and on the kernel (with and
without its caches).

Semantics and costs: dsl/grid/reference.py and docs/grid-heuristics.md. Coordinates are
(row, column); N E S W = up right down left; the heading starts at N, memory at m0.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import cell_index, ops_of, pad_ops
from dsl.errors import DslError
from dsl.grid import primitives as gp
from dsl.grid.interpreter import GridInterpreter
from dsl.grid.reference import GridReference
from dsl.grid.world import pack, parse_ascii
from dsl.syntax import parse, unparse
from levinsearch import domains
from levinsearch.enumerate import Enumerator, reference_programs

H = gp.grammar(profile="heuristics")
PLAIN = gp.grammar()


# ------------------------------------------------------------------ the grammar
def test_default_profile_is_a_prefix_of_heuristics():
    default = gp.productions()
    heuristic = gp.productions("heuristics")
    assert heuristic[: len(default)] == default
    assert len(default) == 28 and len(heuristic) == 46
    assert gp.grammar(profile="default").productions == PLAIN.productions
    assert PLAIN.mbits == gp.grammar(profile=None).mbits
    new = [p.qualified for p in heuristic[len(default):]]
    assert new == ["Action.toward", "Action.wallright", "Action.wallleft", "Action.remember", "Bool.recall",
                   "Mem.m0", "Mem.m1", "Mem.m2", "Mem.m3", "Dir.NE", "Dir.SE", "Dir.SW", "Dir.NW",
                   "Dir.ahead", "Dir.right", "Dir.behind", "Dir.left", "Dir.dirto"]
    assert H.types == ("Action", "Bool", "Pred", "Dir", "Mem")
    # uniform bits within each type: 11 Actions, 5 Bools, 13 Preds, 13 Dirs, 4 Mems
    expected = {"Action": 3460, "Bool": 2322, "Pred": 3701, "Dir": 3701, "Mem": 2000}
    assert all(H.mbits[i] == expected[p.type] for i, p in enumerate(H.productions))
    with pytest.raises(DslError, match="unknown grammar profile 'fancy'"):
        gp.grammar(profile="fancy")


def test_domain_builds_the_profile():
    grid = domains.get("grid")
    assert grid.profiles == ("default", "heuristics", "derived", "derived-pair", "derived-two-cell", "cued",
                             "heuristics-cued", "history", "defs", "heuristics-defs", "predict", "heuristics-predict",
                             "predict-act", "heuristics-predict-act")
    assert grid.grammar(profile="heuristics").productions == H.productions
    assert grid.grammar().productions == PLAIN.productions
    with pytest.raises(DslError, match="unknown grammar profile"):
        grid.grammar(profile="fancy")


def test_program_sizes_in_bits():
    assert H.program_mbits(parse("(toward red)", H)) == 7161
    bug = parse("(if (sense (dirto red) wall) wallright (toward red))", H)
    assert H.program_mbits(bug) == 3460 * 3 + 2322 + 3701 * 4 == 27506
    assert H.program_mbits(parse("(plan door)", H)) == 7161  # plan costs what toward costs
    assert unparse(bug, H) == "(if (sense (dirto red) wall) wallright (toward red))"


def test_heuristics_counts_hand_derived():
    # 3460: N E S W wallright wallleft. 7161: plan, greedy, toward over 10 leaf Preds.
    # 8920: (remember M leaf-action), 4 x 6. 10862: plan/greedy/toward (not leaf), 3 x 10.
    # 12621: (remember M (plan|greedy|toward leaf)), 4 x 30. 14380: (remember M (remember M leaf)),
    # 4 x 24. 14563: plan/greedy/toward over (not (not leaf)) 10 and (and|or leaf leaf) 200: 3 x 210.
    # 14702: (if (recall M) leaf leaf), 4 x 6 x 6.
    assert H.counts_by_length(15) == [(3460, 6), (7161, 30), (8920, 24), (10862, 30), (12621, 120),
                                      (14380, 96), (14563, 630), (14702, 144)]


@pytest.mark.parametrize("max_bits,total", [(16, 1080), (20, 6342)])
def test_heuristics_counts_equal_the_reference_enumerator(max_bits, total):
    want = reference_programs(H, max_bits)
    assert len(want) == total
    per_length: dict[int, int] = {}
    for m, _ in want:
        per_length[m] = per_length.get(m, 0) + 1
    assert sorted(per_length.items()) == H.counts_by_length(max_bits)
    en = Enumerator(H, max_bits)
    got = [(b.mbits, tuple(int(x) for x in b.ops[i, : b.sizes[i]])) for b in en.batches(997) for i in range(len(b))]
    assert got == want


def test_bans_of_the_dumb_classifier():
    g = gp.grammar(profile="heuristics", ban=["plan", "greedy", "toward", "dirto"])
    assert [H.productions[i].name for i in g.by_type["Action"]] == ["N", "E", "S", "W", "if", "wallright",
                                                                    "wallleft", "remember"]
    assert len(g.by_type["Dir"]) == 12
    assert g.mbits[g.resolve("wallright")[0]] == 3000  # 8 Actions left: 3 bits each


# ------------------------------------------------------------------ hand-drawn grids
def check(grid: str, program: str, *, reached, moves, steps, path, lookahead=0, used=0, horizon=None):
    """Reference, kernel with caches and kernel without: reached, moves, steps and
    lookahead (states examined, decisions using them, decisions)."""
    env = parse_ascii(grid, horizon=horizon)
    ops = ops_of(program, H)
    ep = GridReference(H).episode(ops, env)
    assert (ep.reached, ep.moves, ep.steps) == (reached, moves, steps), "reference"
    assert ep.path == path, "reference path"
    assert (ep.lookahead, ep.lookahead_decisions, ep.decisions) == (lookahead, used, moves), "reference lookahead"
    want = (cell_index(env, reached), moves, steps, lookahead, used, moves)
    for use_cache in (True, False):
        o, s = pad_ops([ops])
        t = GridInterpreter(H, use_cache).run_traced(o, s, pack([env]))
        got = tuple(int(a[0, 0]) for a in (t.reached, t.moves, t.steps, t.lookahead, t.lookahead_decisions,
                                             t.decisions))
        assert got == want, f"kernel (use_cache={use_cache})"
        plain = GridInterpreter(H, use_cache).run(o, s, pack([env]))
        assert tuple(int(a[0, 0]) for a in plain) == want[:3]


OPEN = """\
.....
.@...
.....
....D

D = red door
"""


def test_toward_walls_free_is_a_shortest_path():
    # The door is the 20th cell scanned: 1 + 20 = 21 per step. Offsets: (2,3) E; (2,2) tie
    # -> S; (1,2) E; (1,1) tie -> S; (0,1) E: the door. 5 moves, the shortest distance.
    check(OPEN, "(toward door)", reached=(3, 4), moves=5, steps=105,
          path=[(1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 4)])


def test_toward_takes_the_other_axis_round_a_wall():
    # Door at (1,2), scanned 6th: 7 per step. (0,0): offset (1,2) primary E is a wall ->
    # the other axis, S, is open. (1,0): E. (1,1): E, the door.
    check("@#.\n..D\n\nD = red door\n", "(toward door)", reached=(1, 2), moves=3, steps=21,
          path=[(0, 0), (1, 0), (1, 1), (1, 2)])


def test_toward_steps_round_objects_other_than_its_target():
    # Door (1,2) scanned 6th: 7 per step. (0,0): primary E holds a blue box (entering it
    # would end the episode): blocked -> secondary S. (1,0): E. (1,1): E into the door.
    check("@B.\n..D\n\nB = blue box\nD = red door\n", "(toward door)", reached=(1, 2), moves=3, steps=21,
          path=[(0, 0), (1, 0), (1, 1), (1, 2)])
    # Primary E holds the box and there is no secondary: no direction (no bump into it): 5 x 20.
    check("@B.D\n....\n\nB = blue box\nD = red door\n", "(toward door)", reached=None, moves=20, steps=100,
          path=[(0, 0)])
    # (toward box) goes into the box: it is the target. 1 + 2 per step.
    check("@B.D\n....\n\nB = blue box\nD = red door\n", "(toward box)", reached=(0, 1), moves=1, steps=3,
          path=[(0, 0), (0, 1)])


def test_toward_bumps_when_both_axes_blocked_or_no_target():
    # Offset (0,2): E is a wall and the vertical offset is 0: bump E forever, 1 + 3 per step.
    check("@#D\n\nD = red door\n", "(toward door)", reached=None, moves=20, steps=80, path=[(0, 0)])
    # No gem: the scan reads all 4 cells, no move: 1 + 4 per step.
    check("@..D\n\nD = red door\n", "(toward gem)", reached=None, moves=20, steps=100, path=[(0, 0)])
    # The first empty cell is the agent's own: no direction. 1 + 1 per step.
    check("@..D\n\nD = red door\n", "(toward empty)", reached=None, moves=20, steps=40, path=[(0, 0)])


MAZE = """\
#####
#@..#
###.#
#D..#
#####

D = red door
"""


def test_wallright_follows_the_right_hand_wall():
    # heading N. (1,1): right E open, 1 sensed -> 2. (1,2) h=E: right S wall, ahead E -> 3.
    # (1,3) h=E: right S open -> 2. (2,3) h=S: right W wall, ahead S -> 3. (3,3) h=S: right W
    # open -> 2. (3,2) h=W: right N wall, ahead W is the door (objects are open) -> 3.
    check(MAZE, "wallright", reached=(3, 1), moves=6, steps=15,
          path=[(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1)])


def test_wallleft_follows_the_left_hand_wall():
    # (1,1) h=N: left W wall, ahead N wall, right E -> 4. (1,2) h=E: left N wall, ahead E -> 3.
    # (1,3) h=E: left N, ahead E walls, right S -> 4. (2,3) h=S: left E wall, ahead S -> 3.
    # (3,3) h=S: left E, ahead S walls, right W -> 4. (3,2) h=W: left S wall, ahead W door -> 3.
    check(MAZE, "wallleft", reached=(3, 1), moves=6, steps=21,
          path=[(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1)])


def test_wall_following_boxed_in_and_in_a_dead_end():
    # Four walls: no direction, 1 + 4 sensed per step.
    check("###\n#@#\n###\n", "wallright", reached=None, moves=20, steps=100, path=[(1, 1)])
    # Dead end: (1,1) h=N: right E wall, ahead N -> 3. (0,1) h=N: right, ahead, left walls, back S
    # -> 5. (1,1) h=S: right W, ahead S, left E walls, back N -> 5. And so on: 3 + 4 x 5.
    check("#.#\n#@#\n###\n", "wallright", reached=None, moves=5, steps=23, horizon=5,
          path=[(1, 1), (0, 1), (1, 1), (0, 1), (1, 1), (0, 1)])


def test_remember_and_recall_carry_a_phase():
    # 'D.@..': go E until the edge, then remember m1 and go W to the door.
    # (0,2),(0,3): recall m1 false (2), sense E empty (3) -> E: 1 + 2 + 1 + 3 + 1 = 8 each.
    # (0,4): sense E is the edge -> (remember m1 W): 1 + 2 + 1 + 3 + (1 + 1 + 1) = 10.
    # Then recall m1 is true: 1 + 2 + 1 = 4 per step for (0,3), (0,2), (0,1) -> the door.
    check("D.@..\n\nD = red door\n", "(if (recall m1) W (if (sense E wall) (remember m1 W) E))",
          reached=(0, 0), moves=6, steps=38, path=[(0, 2), (0, 3), (0, 4), (0, 3), (0, 2), (0, 1), (0, 0)])


def test_memory_that_alternates_is_not_a_fixed_point():
    # On a 1x1 grid every move bumps. m0: recall true -> (remember m1 N): 1 + 2 + 3 = 6.
    # m1: (remember m0 (if (see red) W W)): see scans the one cell, 2; 1 + 2 + (2 + 1 + 2 + 1) = 9.
    # The position never changes but the memory alternates: 10 x 6 + 10 x 9 (not 20 x 6).
    check("@\n", "(if (recall m0) (remember m1 N) (remember m0 (if (see red) W W)))",
          reached=None, moves=20, steps=150, path=[(0, 0)])


def test_relative_sense_and_a_heading_that_changes_without_moving():
    # Only N of (1,1) is open. h=N: ahead empty -> E (bump): 1 + 3 + 1 = 5, h=E.
    # h=E: ahead wall; right = S wall -> W (bump): 1 + 3 + 1 + 3 + 1 = 9, h=W.
    # h=W: ahead wall; right = N open -> (if (see red) S S): see scans 9 cells, 10; 1+3+1+3+12 = 20, h=S.
    # h=S: ahead wall; right = W wall -> W: 9, h=W. Then 20, 9, ...: 5 + 9 + 9 x 20 + 9 x 9 = 275.
    check("#.#\n#@#\n###\n", "(if (sense ahead empty) E (if (sense right wall) W (if (see red) S S)))",
          reached=None, moves=20, steps=275, path=[(1, 1)])
    # behind and left: h=N, so behind = S (wall), left = W (wall): N, into the open cell.
    # Then at (0,1) h=N: behind = S is empty -> the else branch E (a wall: bump), h=E;
    # h=E: behind = W (wall) and left = N (the edge) -> N (bump), h=N; and again.
    # Every step: if 1 + and 1 + two senses of 3 + a move 1 = 9.
    check("#.#\n#@#\n###\n", "(if (and (sense behind wall) (sense left wall)) N E)",
          reached=None, moves=6, steps=6 * 9, horizon=6, path=[(1, 1), (0, 1)])


DIAGONALS = """\
Y.R
.@.
G.B

R = red box
B = blue box
G = green box
Y = yellow box
"""


def test_diagonal_sense_reads_the_3x3_view():
    # At (1,1): SE blue, SW green, NW yellow, NE red: four ifs of 1 + 3 and N: 17.
    # At (0,1): SE (1,2) is empty -> W: 5, into the yellow box at (0,0).
    check(DIAGONALS, "(if (sense SE blue) (if (sense SW green) (if (sense NW yellow) "
                     "(if (sense NE red) N W) W) W) W)",
          reached=(0, 0), moves=2, steps=22, path=[(1, 1), (0, 1), (0, 0)])
    # A wrong diagonal goes W from the centre instead: (1,0), then W again into the edge.
    check(DIAGONALS, "(if (sense NE blue) N W)", reached=None, moves=20, steps=100, path=[(1, 1), (1, 0)])


def test_dirto_and_a_bug_like_policy():
    # The door (1,4) is the 10th cell scanned, so dirto and toward cost 1 + 10 each.
    # (1,1): dirto door = E, a wall -> wallright (h=N: right E wall, ahead N open): 1 + 13 + 3 = 17.
    # (0,1): offset (1,3) -> E open -> toward E: 1 + 13 + 11 = 25. (0,2): E. (0,3): offset (1,1),
    # tie -> S, open: toward S. (1,3): E, the door. 17 + 4 x 25.
    grid = ".....\n.@#.D\n.....\n\nD = red door\n"
    check(grid, "(if (sense (dirto door) wall) wallright (toward door))", reached=(1, 4), moves=5, steps=117,
          path=[(1, 1), (0, 1), (0, 2), (0, 3), (1, 3), (1, 4)])


def test_dirto_without_a_direction_is_false():
    # No gem: dirto scans 4 cells (5) and names no direction; sense is false without testing
    # its Pred: 1 + 5 = 6; if = 8. S bumps the edge forever (reading the agent's own, empty,
    # cell would have said true and gone E).
    check("@..D\n\nD = red door\n", "(if (sense (dirto gem) empty) E S)", reached=None, moves=20, steps=160,
          path=[(0, 0)])
    # The first empty cell is (0,0). At (0,0) it is the agent's own cell: no direction, false
    # -> E: 1 + (1 + 2) + 1 = 5. At (0,1) dirto = W, (0,0) is not a wall: 1 + (1 + 2 + 2) + 1 = 7
    # -> W. Alternating: 10 x 5 + 10 x 7.
    check("@..D\n\nD = red door\n", "(if (sense (dirto empty) (not wall)) W E)", reached=None, moves=20,
          steps=120, path=[(0, 0)] + [(0, 1), (0, 0)] * 10)


# ------------------------------------------------------------------ lookahead counts
def test_lookahead_of_plan_greedy_and_the_rest():
    corridor = "@..D\n\nD = red door\n"
    # plan tests 3, 3, 1 cells: 7 states examined over 3 decisions, all of them used.
    check(corridor, "(plan door)", reached=(0, 3), moves=3, steps=10, path=[(0, 0), (0, 1), (0, 2), (0, 3)],
          lookahead=7, used=3)
    # No blue: each decision tests 3 cells and the (no-)move comes from them: 20 x 3.
    check(corridor, "(plan blue)", reached=None, moves=20, steps=80, path=[(0, 0)], lookahead=60, used=20)
    # Boxed in: plan tests nothing.
    check("###\n#@#\n###\n\nhorizon = 7\n", "(plan red)", reached=None, moves=7, steps=7, path=[(1, 1)])
    # greedy compares the open neighbours: 4, 4, 4, 4, then 3 (E is the edge) at (2,4).
    check(OPEN, "(greedy door)", reached=(3, 4), moves=5, steps=105,
          path=[(1, 1), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)], lookahead=19, used=5)
    # No target: nothing compared.
    check(OPEN, "(greedy gem)", reached=None, moves=20, steps=420, path=[(1, 1)])
    # toward and wall-following read the current observation only.
    check(OPEN, "(toward door)", reached=(3, 4), moves=5, steps=105,
          path=[(1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 4)])


def test_lookahead_counts_only_decisions_made_by_search():
    # (0,0): sense E empty -> E: 5. (0,1): E is a wall -> plan door tests (1,1), (0,0), then
    # (1,2), the door: 3 examined, first step S: 1 + 3 + 4 = 8. (1,1): E is the door -> E: 5.
    check("@.#\n..D\n\nD = red door\n", "(if (sense E wall) (plan door) E)", reached=(1, 2), moves=3,
          steps=18, path=[(0, 0), (0, 1), (1, 1), (1, 2)], lookahead=3, used=1)
