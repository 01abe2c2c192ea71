"""Numba interpreter for grid programs: a batch of programs x a batch of environments.

The specification is `dsl.reference` (plain Python); this module must agree with it on
every program and environment (tests/test_grid_parity.py). All callees of the public
kernels live here because Numba's cache does not see edits to another file's callee.

Tables passed in (from `kernel_tables`): op_kind, op_arg, op_arity (int32 [P]) and
step_cost (int64 [P]). Programs: ops int32 [n, max_nodes] padded with -1, sizes int32 [n].
Environments: see `dsl.grid.world.EnvBatch`.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from dsl.jit import jit

# Opcode values repeated as module constants so Numba freezes them (see primitives.py).
A_MOVE, A_IF, A_PLAN, A_GREEDY = 0, 1, 2, 3
B_SENSE, B_SEE, B_NOT, B_AND = 4, 5, 6, 7
P_FEATURE, P_AND, P_OR, P_NOT = 8, 9, 10, 11
WALL_BIT = 1
OBJECT_BIT_MASK = 1 << 10
NO_MOVE = -1
NO_OBJECT = -1


@jit
def _delta(d):
    if d == 0:
        return -1, 0
    if d == 1:
        return 0, 1
    if d == 2:
        return 1, 0
    return 0, -1


@jit
def _cell(features, e, r, c, h, w):
    if r < 0 or r >= h or c < 0 or c >= w:
        return WALL_BIT
    return np.int64(features[e, r, c])


@jit
def _subtree_ends(ops, size, op_arity, ends):
    for i in range(size - 1, -1, -1):
        j = i + 1
        for _ in range(op_arity[ops[i]]):
            j = ends[j]
        ends[i] = j


@jit
def _pred_cost(ops, start, stop, step_cost):
    total = 0
    for i in range(start, stop):
        total += step_cost[ops[i]]
    return total


@jit
def _pred_holds(ops, start, stop, cell, op_kind, op_arg, stack):
    # Reverse prefix order is postfix order: a value stack evaluates it without recursion.
    sp = 0
    for i in range(stop - 1, start - 1, -1):
        k = op_kind[ops[i]]
        if k == P_FEATURE:
            stack[sp] = (cell >> op_arg[ops[i]]) & 1 == 1
            sp += 1
        elif k == P_NOT:
            stack[sp - 1] = not stack[sp - 1]
        elif k == P_AND:
            stack[sp - 2] = stack[sp - 1] and stack[sp - 2]
            sp -= 1
        else:  # P_OR
            stack[sp - 2] = stack[sp - 1] or stack[sp - 2]
            sp -= 1
    return stack[0]


@jit
def _bool_value(ops, start, stop, ends, features, e, r, c, h, w, op_kind, op_arg, step_cost, stack, pstack):
    # Postfix walk over the Bool nodes; Pred and Dir nodes are read by their sense/see parent.
    sp = 0
    cost = 0
    for i in range(stop - 1, start - 1, -1):
        op = ops[i]
        k = op_kind[op]
        if k == B_SENSE:
            dr, dc = _delta(op_arg[ops[i + 1]])
            cell = _cell(features, e, r + dr, c + dc, h, w)
            stack[sp] = _pred_holds(ops, i + 2, ends[i + 2], cell, op_kind, op_arg, pstack)
            sp += 1
            cost += step_cost[op] + step_cost[ops[i + 1]] + _pred_cost(ops, i + 2, ends[i + 2], step_cost)
        elif k == B_SEE:
            found = False
            scanned = 0
            for rr in range(h):
                for cc in range(w):
                    scanned += 1
                    if _pred_holds(ops, i + 1, ends[i + 1], np.int64(features[e, rr, cc]), op_kind, op_arg, pstack):
                        found = True
                        break
                if found:
                    break
            stack[sp] = found
            sp += 1
            cost += step_cost[op] + scanned * _pred_cost(ops, i + 1, ends[i + 1], step_cost)
        elif k == B_NOT:
            stack[sp - 1] = not stack[sp - 1]
            cost += step_cost[op]
        elif k == B_AND:
            stack[sp - 2] = stack[sp - 1] and stack[sp - 2]
            sp -= 1
            cost += step_cost[op]
    return stack[0], cost


@jit
def _plan(ops, pstart, pstop, features, e, r0, c0, h, w, op_kind, op_arg, pstack, queue, seen, first, stamp):
    # Breadth-first search, neighbours in N E S W order; objects are terminal (never expanded).
    origin = r0 * w + c0
    seen[origin] = stamp
    head = 0
    tail = 1
    queue[0] = origin
    tested = 0
    while head < tail:
        u = queue[head]
        head += 1
        ur = u // w
        uc = u - ur * w
        for d in range(4):
            dr, dc = _delta(d)
            vr = ur + dr
            vc = uc + dc
            if vr < 0 or vr >= h or vc < 0 or vc >= w:
                continue
            v = vr * w + vc
            if seen[v] == stamp:
                continue
            f = np.int64(features[e, vr, vc])
            if f & WALL_BIT:
                continue
            seen[v] = stamp
            tested += 1
            step = d if u == origin else first[u]
            if _pred_holds(ops, pstart, pstop, f, op_kind, op_arg, pstack):
                return step, tested
            if f & OBJECT_BIT_MASK:
                continue
            first[v] = step
            queue[tail] = v
            tail += 1
    return NO_MOVE, tested


@jit
def _greedy(ops, pstart, pstop, features, e, r0, c0, h, w, op_kind, op_arg, pstack, targets):
    n = 0
    for rr in range(h):
        for cc in range(w):
            if _pred_holds(ops, pstart, pstop, np.int64(features[e, rr, cc]), op_kind, op_arg, pstack):
                targets[n] = rr * w + cc
                n += 1
    if n == 0:
        return NO_MOVE, h * w
    best_d = NO_MOVE
    best = np.int64(1) << 62
    for d in range(4):
        dr, dc = _delta(d)
        vr = r0 + dr
        vc = c0 + dc
        if _cell(features, e, vr, vc, h, w) & WALL_BIT:
            continue
        nearest = np.int64(1) << 62
        for t in range(n):
            tr = targets[t] // w
            tc = targets[t] - tr * w
            dist = (vr - tr) * (vr - tr) + (vc - tc) * (vc - tc)
            if dist < nearest:
                nearest = dist
        if nearest < best:
            best = nearest
            best_d = d
    return best_d, h * w


@jit
def _action(ops, ends, features, e, r, c, h, w, op_kind, op_arg, step_cost, stack, pstack, queue, seen, first, targets, stamp):
    i = 0
    cost = 0
    while True:
        op = ops[i]
        k = op_kind[op]
        cost += step_cost[op]
        if k == A_MOVE:
            return op_arg[op], cost
        if k == A_IF:
            value, bcost = _bool_value(ops, i + 1, ends[i + 1], ends, features, e, r, c, h, w,
                                       op_kind, op_arg, step_cost, stack, pstack)
            cost += bcost
            i = ends[i + 1] if value else ends[ends[i + 1]]
        elif k == A_PLAN:
            d, tested = _plan(ops, i + 1, ends[i + 1], features, e, r, c, h, w, op_kind, op_arg,
                              pstack, queue, seen, first, stamp)
            return d, cost + tested * _pred_cost(ops, i + 1, ends[i + 1], step_cost)
        else:  # A_GREEDY
            d, scanned = _greedy(ops, i + 1, ends[i + 1], features, e, r, c, h, w, op_kind, op_arg,
                                 pstack, targets)
            return d, cost + scanned * _pred_cost(ops, i + 1, ends[i + 1], step_cost)


@jit
def _episode(ops, ends, features, dims, starts, horizons, e, op_kind, op_arg, step_cost,
             stack, pstack, queue, seen, first, targets, stamp, step_cap):
    """One episode: (cell reached or -1, moves, simulated steps, next stamp)."""
    h = dims[e, 0]
    w = dims[e, 1]
    r = starts[e, 0]
    c = starts[e, 1]
    horizon = horizons[e]
    moves = 0
    steps = np.int64(0)
    while moves < horizon:
        stamp += 1
        d, cost = _action(ops, ends, features, e, r, c, h, w, op_kind, op_arg, step_cost,
                          stack, pstack, queue, seen, first, targets, stamp)
        steps += cost
        moves += 1
        moved = False
        if d != NO_MOVE:
            dr, dc = _delta(d)
            if not _cell(features, e, r + dr, c + dc, h, w) & WALL_BIT:
                r += dr
                c += dc
                moved = True
                if np.int64(features[e, r, c]) & OBJECT_BIT_MASK:
                    return r * w + c, moves, steps, stamp
        if not moved:
            # The policy sees only the state, and the state did not change: every
            # remaining step repeats this one. Same result, far less wall time.
            steps += (horizon - moves) * cost
            return NO_OBJECT, horizon, steps, stamp
        if steps > step_cap:
            return NO_OBJECT, moves, steps, stamp
    return NO_OBJECT, moves, steps, stamp


@jit
def _scratch(width, cells):
    """Per-program work arrays: subtree ends, two value stacks, and BFS/greedy buffers."""
    return (np.empty(width + 1, dtype=np.int32), np.empty(width + 1, dtype=np.bool_),
            np.empty(width + 1, dtype=np.bool_), np.empty(cells, dtype=np.int32),
            np.zeros(cells, dtype=np.int64), np.empty(cells, dtype=np.int32),
            np.empty(cells, dtype=np.int32))


@jit(parallel=True)
def run_batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost):
    """Every program on every environment: reached cell (-1 none), moves, simulated steps."""
    n = ops.shape[0]
    n_env = features.shape[0]
    cells = features.shape[1] * features.shape[2]
    width = ops.shape[1]
    reached = np.empty((n, n_env), dtype=np.int32)
    moves = np.empty((n, n_env), dtype=np.int32)
    steps = np.empty((n, n_env), dtype=np.int64)
    cap = np.int64(1) << 62
    for i in prange(n):
        ends, stack, pstack, queue, seen, first, targets = _scratch(width, cells)
        stamp = np.int64(0)
        prog = ops[i]
        _subtree_ends(prog, sizes[i], op_arity, ends)
        for e in range(n_env):
            got, m, s, stamp = _episode(prog, ends, features, dims, starts, horizons, e, op_kind, op_arg,
                                        step_cost, stack, pstack, queue, seen, first, targets, stamp, cap)
            reached[i, e] = got
            moves[i, e] = m
            steps[i, e] = s
    return reached, moves, steps


@jit(parallel=True)
def fit_batch(ops, sizes, features, dims, starts, horizons, base_cells, max_failures, step_caps,
              op_kind, op_arg, op_arity, step_cost):
    """Which programs fit the training environments, stopping at the verdict.

    Environments run in order; a program is rejected as soon as its failures exceed
    `max_failures`, or its simulated steps exceed its `step_caps` entry (Levin budgets).
    Returns fits (bool [n]), successes (int32 [n]) and verdict_steps (int64 [n]): the
    simulated steps run until the verdict, which for a fitting program is its total t(p).
    """
    n = ops.shape[0]
    n_env = features.shape[0]
    cells = features.shape[1] * features.shape[2]
    width = ops.shape[1]
    fits = np.zeros(n, dtype=np.bool_)
    successes = np.zeros(n, dtype=np.int32)
    verdict_steps = np.zeros(n, dtype=np.int64)
    for i in prange(n):
        ends, stack, pstack, queue, seen, first, targets = _scratch(width, cells)
        stamp = np.int64(0)
        prog = ops[i]
        _subtree_ends(prog, sizes[i], op_arity, ends)
        failures = 0
        total = np.int64(0)
        ok = True
        for e in range(n_env):
            got, m, s, stamp = _episode(prog, ends, features, dims, starts, horizons, e, op_kind, op_arg,
                                        step_cost, stack, pstack, queue, seen, first, targets, stamp,
                                        step_caps[i] - total)
            total += s
            if total > step_caps[i]:
                ok = False
                break
            if got >= 0:
                wd = dims[e, 1]
                hit = base_cells[e, got // wd, got % wd]
            else:
                hit = False
            if hit:
                successes[i] += 1
            else:
                failures += 1
                if failures > max_failures:
                    ok = False
                    break
        fits[i] = ok
        verdict_steps[i] = total
    return fits, successes, verdict_steps


def kernel_tables(grammar) -> dict[str, np.ndarray]:
    """The per-production arrays both kernels take."""
    return dict(
        op_kind=np.array([p.op for p in grammar.productions], dtype=np.int32),
        op_arg=np.array([p.operand for p in grammar.productions], dtype=np.int32),
        op_arity=np.array([p.arity for p in grammar.productions], dtype=np.int32),
        step_cost=np.array(grammar.step_cost, dtype=np.int64),
    )
