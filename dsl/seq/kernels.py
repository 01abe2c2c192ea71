"""Numba interpreter for seq programs: a batch of programs on one integer sequence.

The specification is `dsl.seq.reference` (plain Python); this module must agree with it
on every program, sequence and index (tests/test_seq_dsl.py): same int64 wrap-around,
same floor division and modulo (0 for a zero divisor; INT64_MIN div -1 = INT64_MIN,
INT64_MIN mod -1 = 0), same simulated steps. All callees of the public kernels live here
because Numba's cache does not see edits to another file's callee.

Tables passed in (from `kernel_tables`): op_kind, op_arg, op_arity (int32 [P]) and
step_cost (int64 [P]); `find_limit` is `dsl.seq.primitives.FIND_LIMIT` unless a caller
wants another. Programs: ops int32 [n, max_nodes] padded with -1, sizes int32 [n].
Sequences: terms int64 [L]. Prediction at index t is teacher-forced: x1 = terms[t-1],
x2 = terms[t-2] (0 before the start); the history profile's `hist` and `fold` read
terms[0 .. t-1].

Evaluation uses no recursion: an explicit stack of frames (node, phase) walks the prefix
order, a value stack holds finished subtrees' values (Bools as 0/1) and a stack of `k`
values serves nested `find`s (the innermost binding on top). Every stack is sized from
the program's length. Every loop is bounded: a `find` tests at most `find_limit`
candidates.

Programs are run in chunks of about CHUNK, one set of work arrays per chunk; chunk c takes
programs c, c + chunks, c + 2 chunks, ...: programs of one shape are adjacent in the
enumeration and can cost far more than their neighbours, and striding spreads them over
the threads. Results depend on neither the chunking nor the thread count.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from dsl.grammar import kernel_tables  # noqa: F401 (the tables these kernels take)
from dsl.jit import jit

# Opcode values repeated as module constants so Numba freezes them (see primitives.py).
E_T, E_X1, E_X2, E_K, E_C0, E_CONST = 0, 1, 2, 3, 4, 5
E_ADD, E_SUB, E_MUL, E_DIV, E_MOD = 6, 7, 8, 9, 10
E_IF, E_FIND = 11, 12
B_LT, B_EQ, B_NOT, B_AND = 13, 14, 15, 16
N_ONE, N_BIT0, N_BIT1 = 17, 18, 19
E_HIST, E_FOLD, E_H, E_ACC = 20, 21, 22, 23
CHUNK = 512  # programs per chunk (one set of work arrays each)
FAR = np.int64(1) << 62  # "no step cap"


@jit
def _subtree_ends(ops, size, op_arity, ends):
    for i in range(size - 1, -1, -1):
        j = i + 1
        for _ in range(op_arity[ops[i]]):
            j = ends[j]
        ends[i] = j


@jit
def _div(a, b):
    """Floor division, 0 for b = 0; b = -1 is negation (INT64_MIN wraps to itself)."""
    if b == 0:
        return np.int64(0)
    if b == -1:
        return np.int64(0) - a  # a // -1 would trap on INT64_MIN
    return a // b  # Numba's int64 // rounds towards -infinity, as Python's


@jit
def _mod(a, b):
    """Python's modulo (the sign of b), 0 for b = 0 or b = -1."""
    if b == 0 or b == -1:
        return np.int64(0)
    return a % b


@jit
def _binary(kind, a, b):
    if kind == E_ADD:
        return a + b
    if kind == E_SUB:
        return a - b
    if kind == E_MUL:
        return a * b
    if kind == E_DIV:
        return _div(a, b)
    if kind == E_MOD:
        return _mod(a, b)
    if kind == B_LT:
        return np.int64(1) if a < b else np.int64(0)
    if kind == B_EQ:
        return np.int64(1) if a == b else np.int64(0)
    # B_AND
    return np.int64(1) if a != 0 and b != 0 else np.int64(0)


@jit
def _eval(ops, ends, t, x1, x2, terms, read_cost, op_kind, step_cost, find_limit, budget, fnode, fphase, fcand,
          fn, vals, ks, hs, accs):
    """One prediction: (value, simulated steps, aborted).

    `aborted` is True when the steps passed `budget` before a `find` candidate was to be
    tested or a `fold` term read; the value is then meaningless and the steps are those
    spent so far. Frames: fnode (node index), fphase (how many arguments are done),
    fcand / fn (a find's current candidate and its number of candidates; a fold's next
    term). `terms[:t]` is the history; `read_cost` is c(h), the price of one term that
    `hist` walks past.
    """
    fsp = 1
    fnode[0] = 0
    fphase[0] = 0
    vsp = 0
    ksp = 0
    hsp = 0
    cost = np.int64(0)
    while fsp > 0:
        f = fsp - 1
        i = fnode[f]
        op = ops[i]
        kind = op_kind[op]
        ph = fphase[f]
        if ph == 0:
            cost += step_cost[op]
        if kind <= E_C0 or kind == N_ONE:  # leaves
            if kind == E_T:
                v = t
            elif kind == E_X1:
                v = x1
            elif kind == E_X2:
                v = x2
            elif kind == E_K:
                v = ks[ksp - 1] if ksp > 0 else np.int64(0)
            elif kind == E_C0:
                v = np.int64(0)
            else:
                v = np.int64(1)
            vals[vsp] = v
            vsp += 1
            fsp -= 1
        elif kind == E_H or kind == E_ACC:  # the innermost fold's term and accumulator
            v = np.int64(0)
            if hsp > 0:
                v = hs[hsp - 1] if kind == E_H else accs[hsp - 1]
            vals[vsp] = v
            vsp += 1
            fsp -= 1
        elif kind == E_HIST:
            if ph == 0:
                fphase[f] = 1
                fnode[fsp] = i + 1
                fphase[fsp] = 0
                fsp += 1
            else:
                d = vals[vsp - 1]
                if d >= 1 and d <= t:
                    vals[vsp - 1] = terms[t - d]
                    cost += d * read_cost
                else:
                    vals[vsp - 1] = np.int64(0)
                fsp -= 1
        elif kind == E_FOLD:
            if ph == 0:
                if t == 0:
                    vals[vsp] = np.int64(0)
                    vsp += 1
                    fsp -= 1
                else:
                    if cost > budget:
                        return np.int64(0), cost, True
                    hs[hsp] = terms[0]
                    accs[hsp] = np.int64(0)
                    hsp += 1
                    fcand[f] = 1  # the next term to read
                    fphase[f] = 1
                    fnode[fsp] = i + 1
                    fphase[fsp] = 0
                    fsp += 1
            else:
                vsp -= 1
                acc = vals[vsp]
                j = fcand[f]
                if j >= t:
                    hsp -= 1
                    vals[vsp] = acc
                    vsp += 1
                    fsp -= 1
                else:
                    if cost > budget:
                        return np.int64(0), cost, True
                    hs[hsp - 1] = terms[j]
                    accs[hsp - 1] = acc
                    fcand[f] = j + 1
                    fnode[fsp] = i + 1
                    fphase[fsp] = 0
                    fsp += 1
        elif kind == E_CONST or kind == N_BIT0 or kind == N_BIT1 or kind == B_NOT:  # one argument
            if ph == 0:
                fphase[f] = 1
                fnode[fsp] = i + 1
                fphase[fsp] = 0
                fsp += 1
            else:
                v = vals[vsp - 1]
                if kind == N_BIT0:
                    v = v * 2
                elif kind == N_BIT1:
                    v = v * 2 + 1
                elif kind == B_NOT:
                    v = np.int64(1) - v
                vals[vsp - 1] = v
                fsp -= 1
        elif kind == E_IF:
            if ph == 0:
                fphase[f] = 1
                fnode[fsp] = i + 1
                fphase[fsp] = 0
                fsp += 1
            elif ph == 1:
                vsp -= 1
                fphase[f] = 2
                then = ends[i + 1]
                fnode[fsp] = then if vals[vsp] != 0 else ends[then]
                fphase[fsp] = 0
                fsp += 1
            else:
                fsp -= 1  # the branch's value is the result
        elif kind == E_FIND:
            done = False
            result = np.int64(0)
            if ph == 0:
                fphase[f] = 1
                fnode[fsp] = i + 1
                fphase[fsp] = 0
                fsp += 1
            elif ph == 1:
                vsp -= 1
                b = vals[vsp]
                n = np.int64(0) if b < 0 else (b if b < find_limit else np.int64(find_limit))
                fn[f] = n
                if n == 0:
                    done = True
                else:
                    if cost > budget:
                        return np.int64(0), cost, True
                    fcand[f] = 0
                    ks[ksp] = 0
                    ksp += 1
                    fphase[f] = 2
                    fnode[fsp] = ends[i + 1]
                    fphase[fsp] = 0
                    fsp += 1
            else:
                vsp -= 1
                if vals[vsp] != 0:
                    result = fcand[f]
                    done = True
                    ksp -= 1
                else:
                    fcand[f] += 1
                    if fcand[f] >= fn[f]:
                        result = fn[f]
                        done = True
                        ksp -= 1
                    else:
                        if cost > budget:
                            return np.int64(0), cost, True
                        ks[ksp - 1] = fcand[f]
                        fnode[fsp] = ends[i + 1]
                        fphase[fsp] = 0
                        fsp += 1
            if done:
                # no candidate tested, none held (the clipped bound) or the first that held
                vals[vsp] = result if ph == 2 else fn[f]
                vsp += 1
                fsp -= 1
        else:  # two arguments: add sub mul div mod lt eq and
            if ph == 0:
                fphase[f] = 1
                fnode[fsp] = i + 1
                fphase[fsp] = 0
                fsp += 1
            elif ph == 1:
                fphase[f] = 2
                fnode[fsp] = ends[i + 1]
                fphase[fsp] = 0
                fsp += 1
            else:
                vsp -= 1
                vals[vsp - 1] = _binary(kind, vals[vsp - 1], vals[vsp])
                fsp -= 1
    return vals[0], cost, False


@jit
def _scratch(width):
    """Work arrays for one chunk: subtree ends, frames (node, phase, candidate, count),
    the value stack and the k stack."""
    n = width + 1
    return (np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32),
            np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))


@jit
def _read_cost(op_kind, step_cost):
    """c(h), the price of reading one history term (0 when the grammar has no `h`)."""
    for p in range(op_kind.shape[0]):
        if op_kind[p] == E_H:
            return step_cost[p]
    return np.int64(0)


@jit
def _n_chunks(n):
    return (n + CHUNK - 1) // CHUNK


@jit
def _previous(terms, t):
    """Teacher forcing: (a(t-1), a(t-2)), 0 before the start."""
    x1 = terms[t - 1] if t >= 1 else np.int64(0)
    x2 = terms[t - 2] if t >= 2 else np.int64(0)
    return np.int64(x1), np.int64(x2)


@jit(parallel=True)
def predict_batch(ops, sizes, terms, n_predict, op_kind, op_arg, op_arity, step_cost, find_limit):
    """Every program's predictions of a(0) .. a(n_predict - 1), teacher-forced from
    `terms` (which needs at least n_predict - 1 entries): predictions int64 [n, n_predict]
    and simulated steps int64 [n, n_predict]."""
    if n_predict > terms.shape[0] + 1:
        raise ValueError("predict_batch: n_predict exceeds len(terms) + 1")
    n = ops.shape[0]
    width = ops.shape[1]
    preds = np.zeros((n, n_predict), dtype=np.int64)
    steps = np.zeros((n, n_predict), dtype=np.int64)
    chunks = _n_chunks(n)
    read_cost = _read_cost(op_kind, step_cost)
    for chunk in prange(chunks):
        ends, fnode, fphase, fcand, fn, vals, ks, hs, accs = _scratch(width)
        for i in range(chunk, n, chunks):
            prog = ops[i]
            _subtree_ends(prog, sizes[i], op_arity, ends)
            for t in range(n_predict):
                x1, x2 = _previous(terms, t)
                v, s, _ = _eval(prog, ends, np.int64(t), x1, x2, terms, read_cost, op_kind, step_cost, find_limit,
                                FAR, fnode, fphase, fcand, fn, vals, ks, hs, accs)
                preds[i, t] = v
                steps[i, t] = s
    return preds, steps


@jit(parallel=True)
def fit_batch(ops, sizes, terms, n_train, max_errors, step_caps, op_kind, op_arg, op_arity, step_cost, find_limit):
    """Which programs predict a(0) .. a(n_train - 1) with at most `max_errors` wrong,
    stopping at the verdict.

    Indices run in order; a program is rejected as soon as it has more than max_errors
    wrong predictions (early rejection; 0: at its first), or as soon as its simulated
    steps exceed its `step_caps` entry (Levin budgets; checked after each prediction and
    before each `find` candidate). Returns fits (bool [n]), first_error (int32 [n]: the
    first index predicted wrongly within the cap, -1 when none), errors (int32 [n]: wrong
    predictions before the verdict; for a fitting program, over all training indices)
    and verdict_steps (int64 [n]: the steps run until the verdict; for a fitting program
    its total over the training indices).
    """
    if n_train > terms.shape[0]:
        raise ValueError("fit_batch: n_train exceeds len(terms)")
    n = ops.shape[0]
    width = ops.shape[1]
    fits = np.zeros(n, dtype=np.bool_)
    first_error = np.full(n, -1, dtype=np.int32)
    errors = np.zeros(n, dtype=np.int32)
    verdict_steps = np.zeros(n, dtype=np.int64)
    chunks = _n_chunks(n)
    read_cost = _read_cost(op_kind, step_cost)
    for chunk in prange(chunks):
        ends, fnode, fphase, fcand, fn, vals, ks, hs, accs = _scratch(width)
        for i in range(chunk, n, chunks):
            prog = ops[i]
            _subtree_ends(prog, sizes[i], op_arity, ends)
            cap = step_caps[i]
            total = np.int64(0)
            ok = True
            for t in range(n_train):
                x1, x2 = _previous(terms, t)
                v, s, aborted = _eval(prog, ends, np.int64(t), x1, x2, terms, read_cost, op_kind, step_cost,
                                      find_limit, cap - total, fnode, fphase, fcand, fn, vals, ks, hs, accs)
                total += s
                if aborted or total > cap:
                    ok = False
                    break
                if v != terms[t]:
                    if errors[i] == 0:
                        first_error[i] = t
                    errors[i] += 1
                    if errors[i] > max_errors:
                        ok = False
                        break
            fits[i] = ok
            verdict_steps[i] = total
    return fits, first_error, errors, verdict_steps
