"""Hand-drawn grids with outcomes worked out by hand, on the reference and on the kernel.

Cost model (dsl/grid/reference.py): every node evaluated costs c(node) (default 1);
(if B X Y) = c(if) + cost(B) + cost(branch taken); (sense D P) = c(sense) + c(D) + pcost(P);
(see P) = c(see) + cells scanned (row-major, to the first match) x pcost(P);
(plan P) = c(plan) + cells tested by the BFS x pcost(P); (greedy P) = c(greedy) + H*W x pcost(P).
Coordinates are (row, column); N E S W = up right down left.
"""
from __future__ import annotations

import pytest

from conftest import cell_index, ops_of, run_kernel
from dsl.grid import primitives as gp
from dsl.grid.world import parse_ascii
from dsl.grid.reference import GridReference

PLAIN = gp.grammar()


def check(grid: str, program: str, *, reached, moves, steps, path, grammar=PLAIN):
    env = parse_ascii(grid)
    ops = ops_of(program, grammar)
    ep = GridReference(grammar).episode(ops, env)
    assert (ep.reached, ep.moves, ep.steps) == (reached, moves, steps), "reference"
    assert ep.path == path, "reference path"
    got, m, s = run_kernel(grammar, [ops], [env])
    assert (int(got[0, 0]), int(m[0, 0]), int(s[0, 0])) == (cell_index(env, reached), moves, steps), "kernel"


CORRIDOR = "@..D\n\nD = red door\n"          # 1x4, agent (0,0), red door (0,3), horizon 20
CORRIDOR_BLUE = "@..D\n\nD = blue door\n"


def test_move_east_reaches_door():
    # Three evaluations of E at cost 1 each.
    check(CORRIDOR, "E", reached=(0, 3), moves=3, steps=3, path=[(0, 0), (0, 1), (0, 2), (0, 3)])


def test_plan_door_corridor():
    # At (0,0): BFS tests (0,1), (0,2), (0,3)=door -> 3 tested, cost 1 + 3 = 4, step E.
    # At (0,1): tests E (0,2), W (0,0), then (0,3)=door -> 3 tested, cost 4.
    # At (0,2): tests E (0,3)=door at once -> cost 2. Total 4 + 4 + 2 = 10.
    check(CORRIDOR, "(plan door)", reached=(0, 3), moves=3, steps=10,
          path=[(0, 0), (0, 1), (0, 2), (0, 3)])
    check(CORRIDOR, "(plan red)", reached=(0, 3), moves=3, steps=10,
          path=[(0, 0), (0, 1), (0, 2), (0, 3)])


def test_plan_with_cost_overrides():
    # c(plan) = 3, c(red) = 2: evaluations test 3, 3, 1 cells -> (3+6) + (3+6) + (3+2) = 23.
    g = gp.grammar(cost={"plan": 3, "red": 2})
    check(CORRIDOR, "(plan red)", reached=(0, 3), moves=3, steps=23,
          path=[(0, 0), (0, 1), (0, 2), (0, 3)], grammar=g)
    # E costs its default 1 under the same grammar
    check(CORRIDOR, "E", reached=(0, 3), moves=3, steps=3, path=[(0, 0), (0, 1), (0, 2), (0, 3)], grammar=g)


def test_plan_compound_predicate_cost():
    # pcost((and red door)) = 3: evaluations test 3, 3, 1 cells -> (1+9) + (1+9) + (1+3) = 24.
    check(CORRIDOR, "(plan (and red door))", reached=(0, 3), moves=3, steps=24,
          path=[(0, 0), (0, 1), (0, 2), (0, 3)])


def test_bumping_the_edge_forever():
    # N from (0,0) is outside the grid (wall): never moves; 20 evaluations at cost 1.
    check(CORRIDOR, "N", reached=None, moves=20, steps=20, path=[(0, 0)])


def test_plan_finds_no_target():
    # No blue: the BFS tests (0,1), (0,2), (0,3) (the red door is tested but not expanded),
    # returns no move; cost 1 + 3 = 4 per step for 20 steps.
    check(CORRIDOR, "(plan blue)", reached=None, moves=20, steps=80, path=[(0, 0)])
    # Walls are never tested, so (plan wall) never finds one either.
    check(CORRIDOR, "(plan wall)", reached=None, moves=20, steps=80, path=[(0, 0)])


def test_plan_target_behind_wall():
    # '@.#D': BFS tests only (0,1); the door is unreachable. Cost 1 + 1 = 2, 20 steps.
    check("@.#D\n\nD = red door\n", "(plan door)", reached=None, moves=20, steps=40, path=[(0, 0)])


def test_plan_empty_oscillates():
    # At (0,0): E (0,1) is empty at once -> cost 2, move E.
    # At (0,1): E (0,2) empty at once -> cost 2, move E.
    # At (0,2): E (0,3) is the door (tested, not empty, not expanded), W (0,1) empty -> cost 3, W.
    # Then (0,1) and (0,2) alternate: evaluations 2,4,..,20 at (0,1) cost 2 (10 of them),
    # evaluations 3,5,..,19 at (0,2) cost 3 (9 of them): 2 + 20 + 27 = 49.
    path = [(0, 0)] + [(0, 1), (0, 2)] * 10
    check(CORRIDOR, "(plan empty)", reached=None, moves=20, steps=49, path=path)


def test_plan_prefers_nearer_red_box_over_blue_door():
    # 'R.@..D': red box at (0,0) (distance 2), blue door at (0,5) (distance 3).
    grid = "R.@..D\n\nR = red box\nD = blue door\n"
    # (plan red) at (0,2): tests E (0,3), W (0,1); from (0,3): E (0,4); from (0,1): W (0,0)=red
    #   -> 4 tested, cost 5, first step W. At (0,1): E (0,2), W (0,0)=red -> cost 3. Total 8.
    check(grid, "(plan red)", reached=(0, 0), moves=2, steps=8, path=[(0, 2), (0, 1), (0, 0)])
    # (plan door) at (0,2): (0,3), (0,1), (0,4), (0,0)=red box (tested, not expanded), (0,5)=door
    #   -> 5 tested, cost 6, step E. At (0,3): (0,4), (0,2), (0,5) -> cost 4. At (0,4): cost 2.
    check(grid, "(plan door)", reached=(0, 5), moves=3, steps=12,
          path=[(0, 2), (0, 3), (0, 4), (0, 5)])
    # entering any object ends the episode: W twice walks into the red box
    check(grid, "W", reached=(0, 0), moves=2, steps=2, path=[(0, 2), (0, 1), (0, 0)])


def test_plan_tie_breaks_north_first():
    # Doors directly N and S: the BFS tests N first and finds it: cost 2, one move.
    grid = ".D.\n.@.\n.D.\n\nD = red door\n"
    check(grid, "(plan door)", reached=(0, 1), moves=1, steps=2, path=[(1, 1), (0, 1)])


MAZE = """\
#####
#@#D#
#...#
#####

D = red door
"""


def test_plan_through_maze():
    # At (1,1): only S (2,1) is open: tested 1; then (2,2) 2; (2,3) 3; (1,3)=door 4 -> cost 5, S.
    # At (2,1): N (1,1) 1, E (2,2) 2; (1,1) expands nothing new; (2,2): E (2,3) 3;
    #   (2,3): N (1,3)=door 4 -> cost 5, E.
    # At (2,2): E (2,3) 1, W (2,1) 2; (2,3): N (1,3)=door 3 -> cost 4, E.
    # At (2,3): N (1,3)=door 1 -> cost 2, N. Total 5 + 5 + 4 + 2 = 16.
    check(MAZE, "(plan door)", reached=(1, 3), moves=4, steps=16,
          path=[(1, 1), (2, 1), (2, 2), (2, 3), (1, 3)])


def test_if_sense_wall_gets_stuck_in_maze():
    # (if (sense E wall) S E): cost 1 + (1 + 1 + 1) + 1 = 5 per evaluation.
    # (1,1): E wall -> S to (2,1); (2,1): E empty -> E (2,2); (2,2): E -> (2,3);
    # (2,3): E is wall -> S, but S is wall too: stuck for the rest of the 20 steps.
    check(MAZE, "(if (sense E wall) S E)", reached=None, moves=20, steps=100,
          path=[(1, 1), (2, 1), (2, 2), (2, 3)])


def test_if_sense_wall_reaches_door():
    grid = "@..#\n##.D\n\nD = red door\n"
    # (0,0) E empty -> E; (0,1) -> E; (0,2): E (0,3) wall -> S to (1,2);
    # (1,2): E is the door (not wall) -> E: reached. 4 evaluations x 5.
    check(grid, "(if (sense E wall) S E)", reached=(1, 3), moves=4, steps=20,
          path=[(0, 0), (0, 1), (0, 2), (1, 2), (1, 3)])
    # Same walk with the test negated and the branches swapped; (not ...) adds 1 per step.
    check(grid, "(if (not (sense E wall)) E S)", reached=(1, 3), moves=4, steps=24,
          path=[(0, 0), (0, 1), (0, 2), (1, 2), (1, 3)])
    # Sense through a compound predicate: (or wall door) costs 3, so each step 1 + 5 + 1 = 7.
    # (1,2): E is the door -> S (1,2)->(2,2) is outside: stuck after 3 moves.
    check(grid, "(if (sense E (or wall door)) S E)", reached=None, moves=20, steps=140,
          path=[(0, 0), (0, 1), (0, 2), (1, 2)])


def test_see_scanning_cost():
    # (if (see red) E W) on the corridor: the red door is the 4th cell scanned:
    # see = 1 + 4*1 = 5; if = 1 + 5 + 1 = 7 per step; E three times.
    check(CORRIDOR, "(if (see red) E W)", reached=(0, 3), moves=3, steps=21,
          path=[(0, 0), (0, 1), (0, 2), (0, 3)])
    # Nothing red: all 4 cells scanned, false -> W into the edge, forever: 7 x 20.
    check(CORRIDOR_BLUE, "(if (see red) E W)", reached=None, moves=20, steps=140, path=[(0, 0)])


GRID2D = """\
....
.@.R
.D..

R = red box
D = blue door
"""


def test_see_row_major_scan():
    # Row-major scan: row 0 (4 cells), then (1,0), (1,1), (1,2), (1,3)=red: 8 cells scanned.
    # see = 1 + 8 = 9; if = 1 + 9 + 1 = 11; S enters the blue door at (2,1).
    check(GRID2D, "(if (see red) S N)", reached=(2, 1), moves=1, steps=11, path=[(1, 1), (2, 1)])
    # pcost((and red box)) = 3: see = 1 + 8*3 = 25; if = 27.
    check(GRID2D, "(if (see (and red box)) S N)", reached=(2, 1), moves=1, steps=27, path=[(1, 1), (2, 1)])
    # (not empty) first holds at the red box too (the agent's cell is empty): 1 + 8*2 = 17; if = 19.
    check(GRID2D, "(if (see (not empty)) S N)", reached=(2, 1), moves=1, steps=19, path=[(1, 1), (2, 1)])
    # No gem: all 12 cells scanned, false -> N: (0,1); again N into the edge: stuck.
    # if = 1 + (1 + 12) + 1 = 15 per step, 20 steps.
    check(GRID2D, "(if (see gem) S N)", reached=None, moves=20, steps=300, path=[(1, 1), (0, 1)])


def test_bool_and_evaluates_both_sides():
    # (and (sense N wall) (see blue)): sense = 3; see blue = 1 + 10 (blue door is the 10th cell);
    # and = 1 + 3 + 11 = 15; if = 1 + 15 + 1 = 17. At (1,1) N is empty: false -> S: the door.
    check(GRID2D, "(if (and (sense N wall) (see blue)) N S)", reached=(2, 1), moves=1, steps=17,
          path=[(1, 1), (2, 1)])


GREEDY_OPEN = """\
.....
.@...
.....
....D

D = red door
"""


def test_greedy_moves_toward_target():
    # 4x5 grid: each evaluation costs 1 + 20 cells x 1 = 21. Door at (3,4). Squared distances:
    # (1,1): N 18, E 8, S 10, W 20 -> E.      (1,2): N 13, E 5, S 5, W 13 -> E (tie, E first).
    # (1,3): N 10, E 4, S 2, W 8 -> S.        (2,3): N 5, E 1, S 1, W 5 -> E (tie).
    # (2,4): N 4, E outside, S 0, W 2 -> S: the door. 5 moves x 21 = 105.
    check(GREEDY_OPEN, "(greedy door)", reached=(3, 4), moves=5, steps=105,
          path=[(1, 1), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)])
    # pcost((and red door)) = 3: 1 + 20*3 = 61 per step.
    check(GREEDY_OPEN, "(greedy (and red door))", reached=(3, 4), moves=5, steps=305,
          path=[(1, 1), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)])


def test_greedy_stuck_behind_wall():
    # The door is north of a wall cup; the agent at (2,2) can only go S.
    # (2,2): S (3,2) dist 9 -> S.  (3,2): N (2,2) 4, E 10, W 10 -> N. Oscillates for 6 steps.
    grid = "..D..\n.###.\n.#@#.\n.....\n\nD = red door\nhorizon = 6\n"
    check(grid, "(greedy door)", reached=None, moves=6, steps=6 * 21,
          path=[(2, 2), (3, 2), (2, 2), (3, 2), (2, 2), (3, 2), (2, 2)])
    # (plan door) gets there: it walks around the cup. Both ways round are 8 moves; the BFS
    # enqueues E before W at every layer, so it finds the door through (0,3) first: east.
    env = parse_ascii(grid, horizon=20)
    ep = GridReference(PLAIN).episode(ops_of("(plan door)"), env)
    assert ep.reached == (0, 2) and ep.moves == 8
    assert ep.path == [(2, 2), (3, 2), (3, 3), (3, 4), (2, 4), (1, 4), (0, 4), (0, 3), (0, 2)]
    got, m, s = run_kernel(PLAIN, [ops_of("(plan door)")], [env])
    assert (int(got[0, 0]), int(m[0, 0]), int(s[0, 0])) == (2, 8, ep.steps)


def test_greedy_without_target_never_moves():
    # No gem anywhere: greedy scans 20 cells and returns no move: 21 x 20.
    check(GREEDY_OPEN, "(greedy gem)", reached=None, moves=20, steps=420, path=[(1, 1)])


def test_horizon_cuts_episode():
    # horizon 2: E moves twice and stops one cell short of the door.
    check("@..D\n\nD = red door\nhorizon = 2\n", "E", reached=None, moves=2, steps=2,
          path=[(0, 0), (0, 1), (0, 2)])


@pytest.mark.parametrize("program,cells", [("E", 3), ("(plan door)", 3), ("N", -1)])
def test_kernel_batches_several_envs_with_padding(program, cells):
    # The corridor packed with a taller grid: padding must act as wall for the 1x4 corridor.
    corridor = parse_ascii(CORRIDOR)
    tall = parse_ascii("@\n.\n.\nD\n\nD = red door\n")
    got, m, s = run_kernel(PLAIN, [ops_of(program)], [corridor, tall])
    ref = GridReference(PLAIN)
    for e, env in enumerate((corridor, tall)):
        ep = ref.episode(ops_of(program), env)
        assert (int(got[0, e]), int(m[0, e]), int(s[0, e])) == (cell_index(env, ep.reached), ep.moves, ep.steps)
    assert int(got[0, 0]) == cells


def test_conftest_fixtures_and_padding(grid_grammar, pack_one, run_kernel, ops_of):
    from conftest import pad_ops

    ops, sizes = pad_ops([ops_of("(plan door)"), ops_of("N"), ops_of("(if (see red) E W)")])
    assert ops.dtype.name == "int32" and sizes.dtype.name == "int32"
    assert ops.shape == (3, 5)
    assert ops.tolist() == [[5, 15, -1, -1, -1], [0, -1, -1, -1, -1], [4, 8, 11, 1, 3]]
    assert sizes.tolist() == [2, 1, 5]
    batch = pack_one(parse_ascii(CORRIDOR))
    assert batch.features.shape == (1, 1, 4)
    got, m, s = run_kernel(grid_grammar, [ops_of("(plan door)"), ops_of("N"), ops_of("(if (see red) E W)")], batch)
    # the hand-derived values of the tests above
    assert got.tolist() == [[3], [-1], [3]]
    assert m.tolist() == [[3], [20], [3]]
    assert s.tolist() == [[10], [20], [21]]
