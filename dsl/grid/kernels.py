"""Numba interpreter for grid programs: a batch of programs x a batch of environments.

The specification is `dsl.grid.reference` (plain Python); this module must agree with it on
every program and environment (tests/test_grid_parity.py). All callees of the public
kernels live here because Numba's cache does not see edits to another file's callee.

Tables passed in (from `kernel_tables`): op_kind, op_arg, op_arity (int32 [P]) and
step_cost (int64 [P]). Programs: ops int32 [n, max_nodes] padded with -1, sizes int32 [n].
Environments: see `dsl.grid.world.EnvBatch`.

Caches (`use_cache=True`, the default; tests/test_kernel_caches.py compares both ways).
They change wall time only: every result, simulated steps included, is the same as
without them, because each one stores exactly what the plain interpreter would compute
(and charge) for its key.

- Cell classes: the distinct feature values of the batch's cells are numbered (at most
  MAX_CLASSES; with more, the batch runs without caches). A Pred depends only on a cell's
  features, so each Pred node of a program is evaluated once, over all classes at once,
  into a bit set of the classes that satisfy it; testing a cell is then one shift. Its
  step cost pcost is summed once per program too.
- `see`: per environment, the row-major index of each class's first cell, so the scan's
  result and length (cells scanned, which is what it charges) come without scanning.
- `greedy`: per environment and class, the squared distance from every cell to the
  nearest cell of that class; a neighbour's distance to the nearest target is the
  minimum over the Pred's classes. It charges h * w cells, as before. Environments of
  more than GREEDY_TABLE_CELLS cells scan (through the class bit sets) instead.
- `plan`: the breadth-first search's (first step, cells tested) depends only on the
  environment, the start cell and which of the environment's non-wall classes satisfy
  the Pred (walls are never tested). Each search's result is remembered under that key,
  in a memo per chunk of programs (so threads never share one), and reused by later
  steps and later programs of the chunk. The charge is the remembered count of cells
  the search tested: exactly the reference's. Environments whose key space would exceed
  PLAN_MEMO_CELLS entries are searched every time.

- `toward` and `dirto` (heuristics profile) find their target with `see`'s table; they
  charge the scan's length exactly as the uncached scan does.
- Neighbour reads (derived-two-cell: `(near D K)` and the frame mark): such a Pred is
  not a function of a cell's features, so a program with one runs without the caches.
  Uncached, every Pred is tested on a position's packed code words (`_words`: its own
  and its four neighbours'), so it is still one value per position.
- `visited` (history profile) is never cached: it scans the trajectory and charges the
  entries scanned, as the reference does.
- Definitions (defs profiles): a `ref` node's class bit set and pcost are its
  definition's (plus c(ref)), so each definition is evaluated over all classes once per
  program (_pred_tables). Without caches, a Pred holding `ref` evaluates the definition
  on the cell first.

Agent state: position, heading and memory (dsl/grid/reference.py). A step that
leaves the state unchanged repeats forever, so the rest of the episode is charged at
once (steps, lookahead and lookahead decisions times the remaining steps); the heading
and memory count as state only for programs that read them (relative directions and
wall-following read the heading, `recall` the memory), so default-profile programs take
the shortcut exactly as before. The trajectory `visited` reads (the history profile)
grows only when the agent moves, so a step without a move leaves it, and every
decision that reads it, unchanged: the shortcut stays exact for history readers. The
trajectory lives at the end of the chunk's `queue` (after the cells the breadth-first
search and greedy use), its length k in the bits of mind above heading and memory.

Programs are run in a few chunks per thread (at most MAX_CHUNKS); each chunk reuses one set
of work arrays. Results do not depend on the chunking or the thread count: every cached
value is a pure function of its key.

Wall time, not caching: the per-step helpers are inlined (`inline="always"`) into the one
parallel loop (`_batch`, behind both public kernels). As separate functions, every call
increfs and decrefs each array argument (atomic operations), which cost more than the
interpretation itself. `_batch` takes its mode as a run-time bool, so it compiles once.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from dsl.grammar import kernel_tables  # noqa: F401 (the tables these kernels take)
from dsl.jit import jit

# Opcode values repeated as module constants so Numba freezes them (see primitives.py).
A_MOVE, A_IF, A_PLAN, A_GREEDY = 0, 1, 2, 3
B_SENSE, B_SEE, B_NOT, B_AND = 4, 5, 6, 7
P_FEATURE, P_AND, P_OR, P_NOT = 8, 9, 10, 11
D_DIR = 12
A_TOWARD, A_WALLRIGHT, A_WALLLEFT, A_REMEMBER = 13, 14, 15, 16
B_RECALL = 17
M_MEM = 18
D_RELATIVE, D_DIRTO = 19, 20
P_BIT, K_CODE = 21, 22
P_NEAR = 23
B_VISITED = 40
LET, P_REF = 30, 31  # defs profiles: (let D B); a ref in the body B stands for the Pred D
WALL_BIT = 1
MARK_BIT = 1 << 12  # the frame mark of a code word (primitives.MARK_BIT)
FRAMED_MASK = (1 << 6) | (1 << 8)  # door, key: the cells whose north neighbour's word has the mark
# The packed value of a position (_words): its own code word in the low OWN_BITS bits,
# then one NEAR_BITS-bit field per neighbour N E S W holding that neighbour's word
# narrowed to what a Code leaf can test: feature bits 0..10 and the mark at NEAR_MARK.
OWN_BITS = 13
NEAR_BITS = 12
NEAR_LOW = (1 << 11) - 1
NEAR_MARK = 1 << 11
OBJECT_BIT_MASK = 1 << 10
NO_MOVE = -1
NO_OBJECT = -1
MAX_CLASSES = 64  # distinct cell feature values a class bit set (int64) can hold
PLAN_MEMO_CELLS = 1 << 14  # per environment: 2^(non-wall classes) * cells at most, else no plan memo
GREEDY_TABLE_CELLS = 1024  # greedy distance tables only for environments of at most this many cells
MIN_CHUNK = 64  # programs per chunk at least (each chunk has one set of work arrays and one plan memo)
MAX_CHUNKS = 64  # enough to spread a batch over many threads; results do not depend on it
CHUNKS_PER_THREAD = 4
FAR = np.int64(1) << 62


@jit(inline="always")
def _delta(d):
    if d == 0:
        return -1, 0
    if d == 1:
        return 0, 1
    if d == 2:
        return 1, 0
    return 0, -1


@jit(inline="always")
def _delta8(d):
    """Offsets of the directions `sense` reads: 0..3 as _delta, then NE SE SW NW."""
    if d < 4:
        return _delta(d)
    if d == 4:
        return -1, 1
    if d == 5:
        return 1, 1
    if d == 6:
        return 1, -1
    return -1, -1


@jit(inline="always")
def _word_at(features, e, r, c, h, w):
    """The code word of position (r, c) (dsl/grid/reference.py): its features (a wall's
    off the grid) and MARK_BIT when the cell south of it is on the grid and framed."""
    word = np.int64(WALL_BIT)
    if 0 <= r < h and 0 <= c < w:
        word = np.int64(features[e, r, c])
    if 0 <= r + 1 < h and 0 <= c < w and features[e, r + 1, c] & FRAMED_MASK:
        word |= MARK_BIT
    return word


@jit(inline="always")
def _narrow(word):
    """A code word as a neighbour field of the packed value (see OWN_BITS): feature bits
    0..10 and the mark moved to NEAR_MARK. Code leaves test only these."""
    out = word & NEAR_LOW
    if word & MARK_BIT:
        out |= NEAR_MARK
    return out


@jit
def _words(features, dims):
    """int64 [E, Hmax + 2, Wmax + 2]: at [e, r + 1, c + 1], for every position of the grid
    and the ring around it, the code word of (r, c) and, narrowed, those of its N E S W
    neighbours (fields: see OWN_BITS). A Pred is a function of this one value, so the
    kernels test it per position; the low field holds the cell's features, which is what
    walls and objects are read from. Beyond the ring: unused (see _cell)."""
    n_env = features.shape[0]
    out = np.full((n_env, features.shape[1] + 2, features.shape[2] + 2), WALL_BIT, dtype=np.int64)
    for e in range(n_env):
        h = dims[e, 0]
        w = dims[e, 1]
        for r in range(-1, h + 1):
            for c in range(-1, w + 1):
                v = _word_at(features, e, r, c, h, w)
                for d in range(4):
                    dr, dc = _delta(d)
                    v |= _narrow(_word_at(features, e, r + dr, c + dc, h, w)) << (OWN_BITS + NEAR_BITS * d)
                out[e, r + 1, c + 1] = v
    return out


@jit(inline="always")
def _cell(words, e, r, c, h, w):
    """The packed words (see _words) of position (r, c): the grid and the ring around it
    (every position a step from the agent); further out, a bare wall."""
    if r < -1 or r > h or c < -1 or c > w:
        return np.int64(WALL_BIT)
    return words[e, r + 1, c + 1]


@jit
def _subtree_ends(ops, size, op_arity, ends):
    for i in range(size - 1, -1, -1):
        j = i + 1
        for _ in range(op_arity[ops[i]]):
            j = ends[j]
        ends[i] = j


@jit
def _pred_cost(ops, start, stop, step_cost, op_kind, ends):
    """pcost of the Pred at ops[start:stop]: the sum of c over its nodes, a `ref` adding
    its definition's (which holds no ref)."""
    total = 0
    for i in range(start, stop):
        total += step_cost[ops[i]]
        if op_kind[ops[i]] == P_REF:
            d = _definition_at(ops, i, op_kind)
            for j in range(d, ends[d]):
                total += step_cost[ops[j]]
    return total


@jit(inline="always")
def _definition_at(ops, i, op_kind):
    """Where the definition D of the (let D B) whose body holds position i starts: bodies
    hold no let, so it is the last let before i (+ 1 for its first argument)."""
    j = i - 1
    while op_kind[ops[j]] != LET:
        j -= 1
    return j + 1


@jit
def _pred_holds(ops, start, stop, cell, op_kind, op_arg, stack, ends):
    """Whether `cell` satisfies the Pred at ops[start:stop]. A Pred in the body of a
    (let D B) may hold `ref`: then D's value on the cell is computed first."""
    defined = False
    for i in range(start, stop):
        if op_kind[ops[i]] == P_REF:
            d = _definition_at(ops, i, op_kind)
            defined = _pred_value(ops, d, ends[d], cell, op_kind, op_arg, stack, False)
            break
    return _pred_value(ops, start, stop, cell, op_kind, op_arg, stack, defined)


@jit
def _pred_value(ops, start, stop, cell, op_kind, op_arg, stack, defined):
    # Reverse prefix order is postfix order: a value stack evaluates it without recursion.
    # `ref` pushes `defined`, the definition's value on this cell.
    sp = 0
    for i in range(stop - 1, start - 1, -1):
        k = op_kind[ops[i]]
        if k == P_REF:
            stack[sp] = defined
            sp += 1
        elif k == P_FEATURE:
            stack[sp] = (cell >> op_arg[ops[i]]) & 1 == 1
            sp += 1
        elif k == K_CODE or k == D_DIR:
            continue  # read by its parent (bit K), (near D K)
        elif k == P_BIT:
            stack[sp] = (cell & op_arg[ops[i + 1]]) != 0
            sp += 1
        elif k == P_NEAR:  # the neighbour's narrowed word, in field D of the packed value
            field = (cell >> (OWN_BITS + NEAR_BITS * op_arg[ops[i + 1]])) & (NEAR_LOW | NEAR_MARK)
            stack[sp] = (field & _narrow(op_arg[ops[i + 2]])) != 0
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


# ------------------------------------------------------------------ caches
@jit
def _cell_classes(features, dims, cls, featmask, first_at):
    """Number the distinct feature values of the environments' cells ("classes").

    Class 0 is a wall (the value of every cell outside the grid). Fills cls [E, H, W] with
    each cell's class, featmask [64] with the bit set of classes that have feature bit b,
    and first_at [E, MAX_CLASSES] with the row-major index of each class's first cell in
    environment e (h * w if none). Returns the number of classes, or -1 if there are more
    than MAX_CLASSES (the caller then evaluates Pred trees per cell).
    """
    values = np.empty(MAX_CLASSES, dtype=np.int64)
    values[0] = WALL_BIT
    n = 1
    for e in range(features.shape[0]):
        h = dims[e, 0]
        w = dims[e, 1]
        for r in range(h):
            for c in range(w):
                f = np.int64(features[e, r, c])
                k = 0
                while k < n and values[k] != f:
                    k += 1
                if k == n:
                    if n == MAX_CLASSES:
                        return -1
                    values[n] = f
                    n += 1
                cls[e, r, c] = k
        for k in range(MAX_CLASSES):
            first_at[e, k] = h * w
        for idx in range(h * w - 1, -1, -1):
            first_at[e, cls[e, idx // w, idx % w]] = idx
    for b in range(64):
        m = np.int64(0)
        for k in range(n):
            if (values[k] >> b) & 1 == 1:
                m |= np.int64(1) << k
        featmask[b] = m
    return n


@jit
def _env_tables(features, dims, use_cache):
    """Per-environment caches (read-only once built; see the module docstring).

    Returns (cached, cls, featmask, first_at, ecls, en, gdist, pcls, pn, memo_off, memo_size).
    cached is False when use_cache is off or there are too many classes (then the rest is
    unused). cls, featmask and first_at: see _cell_classes. ecls[e, :en[e]] lists the
    classes present in environment e, and gdist[e, j, v] is the squared distance from cell
    v (row-major) to the nearest cell of class ecls[e, j]; en[e] is -1 where e has more than
    GREEDY_TABLE_CELLS cells (no table). pcls[e, :pn[e]] lists e's non-wall classes, which
    key e's part of the plan memo, at memo_off[e] (-1: not memoised) in a memo of memo_size.
    """
    n_env = features.shape[0]
    cls = np.zeros(features.shape, dtype=np.int32)
    featmask = np.zeros(64, dtype=np.int64)
    first_at = np.zeros((n_env, MAX_CLASSES), dtype=np.int64)
    n_cls = _cell_classes(features, dims, cls, featmask, first_at) if use_cache else -1
    cached = n_cls > 0
    ecls = np.zeros((n_env, MAX_CLASSES), dtype=np.int32)
    en = np.zeros(n_env, dtype=np.int32)
    pcls = np.zeros((n_env, MAX_CLASSES), dtype=np.int32)
    pn = np.zeros(n_env, dtype=np.int32)
    memo_off = np.full(n_env, -1, dtype=np.int64)
    memo_size = np.int64(0)
    n_tab = 1
    tab_cells = 1
    if not cached:
        return (cached, cls, featmask, first_at, ecls, en, np.zeros((n_env, 1, 1), dtype=np.int64),
                pcls, pn, memo_off, memo_size)
    for e in range(n_env):
        w = dims[e, 1]
        hw = dims[e, 0] * w
        for k in range(n_cls):
            if first_at[e, k] < hw:
                ecls[e, en[e]] = k
                en[e] += 1
                if not features[e, first_at[e, k] // w, first_at[e, k] % w] & WALL_BIT:
                    pcls[e, pn[e]] = k
                    pn[e] += 1
        if pn[e] < 31 and (np.int64(1) << pn[e]) * hw <= PLAN_MEMO_CELLS:
            memo_off[e] = memo_size
            memo_size += (np.int64(1) << pn[e]) * hw
        if hw <= GREEDY_TABLE_CELLS:
            n_tab = max(n_tab, en[e])
            tab_cells = max(tab_cells, hw)
        else:
            en[e] = -1
    gdist = np.full((n_env, n_tab, tab_cells), FAR, dtype=np.int64)
    for e in range(n_env):
        w = dims[e, 1]
        hw = dims[e, 0] * w
        for j in range(en[e]):
            for t in range(hw):
                tr = t // w
                tc = t - tr * w
                if cls[e, tr, tc] != ecls[e, j]:
                    continue
                for v in range(hw):
                    vr = v // w
                    vc = v - vr * w
                    dist = np.int64((vr - tr) * (vr - tr) + (vc - tc) * (vc - tc))
                    if dist < gdist[e, j, v]:
                        gdist[e, j, v] = dist
    return cached, cls, featmask, first_at, ecls, en, gdist, pcls, pn, memo_off, memo_size


@jit
def _pred_tables(ops, size, ends, op_kind, op_arg, step_cost, featmask, pmask, pcost):
    """For every Pred node i: pmask[i], the bit set of classes satisfying its subtree, and
    pcost[i], the subtree's step cost (the sum of c over its nodes). Every (let D B) is
    evaluated over all classes once per program: a first pass gets every entry but those
    in let bodies that depend on a `ref`; a second pass redoes each body, whose `ref`
    entries copy D's (D holds no ref, so the first pass got it right)."""
    for i in range(size - 1, -1, -1):
        _pred_node(ops, i, ends, op_kind, op_arg, step_cost, featmask, pmask, pcost, 0)
    for at in range(size):
        if op_kind[ops[at]] == LET:
            for i in range(ends[at] - 1, ends[at + 1] - 1, -1):
                _pred_node(ops, i, ends, op_kind, op_arg, step_cost, featmask, pmask, pcost, at + 1)


@jit(inline="always")
def _pred_node(ops, i, ends, op_kind, op_arg, step_cost, featmask, pmask, pcost, d):
    op = ops[i]
    k = op_kind[op]
    if k == P_FEATURE:
        pmask[i] = featmask[op_arg[op]]
        pcost[i] = step_cost[op]
    elif k == P_REF:  # a use of the definition at d: its classes, at c(ref) + pcost(D)
        pmask[i] = pmask[d]
        pcost[i] = step_cost[op] + pcost[d]
    elif k == K_CODE:
        pcost[i] = step_cost[op]
    elif k == P_BIT:
        code = op_arg[ops[i + 1]]
        m = np.int64(0)
        for b in range(31):
            if (code >> b) & 1 == 1:
                m |= featmask[b]
        pmask[i] = m
        pcost[i] = step_cost[op] + pcost[i + 1]
    elif k == P_NOT:
        pmask[i] = ~pmask[i + 1]
        pcost[i] = step_cost[op] + pcost[i + 1]
    elif k == P_AND:
        j = ends[i + 1]
        pmask[i] = pmask[i + 1] & pmask[j]
        pcost[i] = step_cost[op] + pcost[i + 1] + pcost[j]
    elif k == P_OR:
        j = ends[i + 1]
        pmask[i] = pmask[i + 1] | pmask[j]
        pcost[i] = step_cost[op] + pcost[i + 1] + pcost[j]


@jit(inline="always")
def _class_at(cls, e, r, c, h, w):
    if r < 0 or r >= h or c < 0 or c >= w:
        return 0
    return cls[e, r, c]


# ------------------------------------------------------------------ evaluation
@jit(inline="always")
def _scan_first(ops, pstart, pstop, words, e, h, w, op_kind, op_arg, pstack, cached, m, first_at, ends):
    """Row-major index of the first cell satisfying the Pred at ops[pstart:pstop] (h * w
    if none): the scan of `see`, `toward` and `dirto`. With the caches, the first cell of
    any class in the Pred's class set m."""
    if cached:
        first = h * w
        for q in range(MAX_CLASSES):
            if (m >> q) & 1 == 1 and first_at[e, q] < first:
                first = first_at[e, q]
        return first
    for idx in range(h * w):
        rr = idx // w
        if _pred_holds(ops, pstart, pstop, words[e, rr + 1, idx - rr * w + 1], op_kind, op_arg, pstack, ends):
            return idx
    return h * w


@jit(inline="always")
def _heading_toward(first, r, c, w):
    """(primary, secondary) direction from (r, c) toward the cell with row-major index
    `first`: the primary along the axis of larger |offset| (ties: vertical), the
    secondary along the other axis (NO_MOVE if its offset is 0); both NO_MOVE when the
    target is the agent's own cell."""
    tr = first // w
    dr = tr - r
    dc = first - tr * w - c
    if dr == 0 and dc == 0:
        return NO_MOVE, NO_MOVE
    vertical = 0 if dr < 0 else 2
    horizontal = 1 if dc > 0 else 3
    if abs(dr) >= abs(dc):
        return vertical, (horizontal if dc != 0 else NO_MOVE)
    return horizontal, (vertical if dr != 0 else NO_MOVE)


@jit(inline="always")
def _direction(ops, i, ends, words, e, r, c, h, w, hh, op_kind, op_arg, step_cost, pstack, cached, pmask, pcost,
               first_at):
    """The direction read by the Bool node ops[i] (`sense` or `visited`) from its Dir
    argument ops[i + 1], and the steps charged for the node and its Dir: a compass or
    diagonal direction, one relative to the heading hh, or `(dirto P)`'s primary
    direction toward P's first cell (NO_MOVE when none), which pays its scan."""
    dop = ops[i + 1]
    dk = op_kind[dop]
    cost = step_cost[ops[i]] + step_cost[dop]
    if dk == D_DIR:
        return op_arg[dop], cost
    if dk == D_RELATIVE:
        return (hh + op_arg[dop]) % 4, cost
    first = _scan_first(ops, i + 2, ends[i + 2], words, e, h, w, op_kind, op_arg, pstack, cached,
                        pmask[i + 2], first_at, ends)
    found = first < h * w
    scanned = first + 1 if found else h * w
    cost += scanned * (pcost[i + 2] if cached else _pred_cost(ops, i + 2, ends[i + 2], step_cost, op_kind, ends))
    dd = NO_MOVE
    if found:
        dd, _ = _heading_toward(first, r, c, w)
    return dd, cost


@jit(inline="always")
def _bool_value(ops, start, stop, ends, words, e, r, c, h, w, hh, mem, op_kind, op_arg, step_cost, stack, pstack,
                cached, cls, pmask, pcost, first_at, queue, tk):
    # Postfix walk over the Bool nodes; Pred, Dir and Mem nodes are read by their parent.
    sp = 0
    cost = 0
    for i in range(stop - 1, start - 1, -1):
        op = ops[i]
        k = op_kind[op]
        if k == B_SENSE:
            dd, dcost = _direction(ops, i, ends, words, e, r, c, h, w, hh, op_kind, op_arg, step_cost, pstack,
                                   cached, pmask, pcost, first_at)
            cost += dcost
            ps = np.int64(ends[i + 1])  # the Pred sensed (int64 like i: one signature per callee)
            if dd == NO_MOVE:
                stack[sp] = False
            else:
                dr, dc = _delta8(dd)
                if cached:
                    stack[sp] = (pmask[ps] >> _class_at(cls, e, r + dr, c + dc, h, w)) & 1 == 1
                    cost += pcost[ps]
                else:
                    cell = _cell(words, e, r + dr, c + dc, h, w)
                    stack[sp] = _pred_holds(ops, ps, ends[ps], cell, op_kind, op_arg, pstack, ends)
                    cost += _pred_cost(ops, ps, ends[ps], step_cost, op_kind, ends)
            sp += 1
        elif k == B_SEE:
            first = _scan_first(ops, i + 1, ends[i + 1], words, e, h, w, op_kind, op_arg, pstack, cached,
                                pmask[i + 1], first_at, ends)
            found = first < h * w
            scanned = first + 1 if found else h * w
            cost += step_cost[op] + scanned * (pcost[i + 1] if cached else _pred_cost(ops, i + 1, ends[i + 1], step_cost, op_kind, ends))
            stack[sp] = found
            sp += 1
        elif k == B_VISITED:
            # the trajectory p_0 .. p_tk sits at queue[cells:]; read p_(tk-1) .. p_0, newest first
            dd, dcost = _direction(ops, i, ends, words, e, r, c, h, w, hh, op_kind, op_arg, step_cost, pstack,
                                   cached, pmask, pcost, first_at)
            cost += dcost
            value = False
            if dd != NO_MOVE:
                dr, dc = _delta8(dd)
                v = (r + dr) * w + (c + dc)
                inside = r + dr >= 0 and r + dr < h and c + dc >= 0 and c + dc < w
                off = (words.shape[1] - 2) * (words.shape[2] - 2)  # the grid cells of _scratch (words has a ring)
                j = tk - 1
                while j >= 0:
                    cost += 1
                    if inside and queue[off + j] == v:
                        value = True
                        break
                    j -= 1
            stack[sp] = value
            sp += 1
        elif k == B_RECALL:
            stack[sp] = mem == op_arg[ops[i + 1]]
            cost += step_cost[op] + step_cost[ops[i + 1]]
            sp += 1
        elif k == B_NOT:
            stack[sp - 1] = not stack[sp - 1]
            cost += step_cost[op]
        elif k == B_AND:
            stack[sp - 2] = stack[sp - 1] and stack[sp - 2]
            sp -= 1
            cost += step_cost[op]
    return stack[0], cost


@jit
def _plan(ops, pstart, pstop, words, e, r0, c0, h, w, op_kind, op_arg, pstack, queue, seen, first, stamp,
          cached, cls, m, ends):
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
            f = words[e, vr + 1, vc + 1]
            if f & WALL_BIT:
                continue
            seen[v] = stamp
            tested += 1
            step = d if u == origin else first[u]
            if cached:
                holds = (m >> cls[e, vr, vc]) & 1 == 1
            else:
                holds = _pred_holds(ops, pstart, pstop, f, op_kind, op_arg, pstack, ends)
            if holds:
                return step, tested
            if f & OBJECT_BIT_MASK:
                continue
            first[v] = step
            queue[tail] = v
            tail += 1
    return NO_MOVE, tested


@jit(inline="always")
def _plan_slot(e, r0, c0, h, w, m, pcls, pn, memo_off):
    """The plan memo entry for (environment, non-wall classes satisfying the Pred, start
    cell), or -1 when the environment is not memoised."""
    if memo_off[e] < 0:
        return np.int64(-1)
    key = np.int64(0)
    for j in range(pn[e]):
        if (m >> pcls[e, j]) & 1 == 1:
            key |= np.int64(1) << j
    return memo_off[e] + key * (h * w) + r0 * w + c0


@jit
def _greedy(ops, pstart, pstop, words, e, r0, c0, h, w, op_kind, op_arg, pstack, targets, cached, cls, m, ends):
    """(direction, open neighbours compared: 0 without a target)."""
    n = 0
    for rr in range(h):
        for cc in range(w):
            if cached:
                holds = (m >> cls[e, rr, cc]) & 1 == 1
            else:
                holds = _pred_holds(ops, pstart, pstop, words[e, rr + 1, cc + 1], op_kind, op_arg, pstack, ends)
            if holds:
                targets[n] = rr * w + cc
                n += 1
    if n == 0:
        return NO_MOVE, 0
    best_d = NO_MOVE
    best = FAR
    compared = 0
    for d in range(4):
        dr, dc = _delta(d)
        vr = r0 + dr
        vc = c0 + dc
        if _cell(words, e, vr, vc, h, w) & WALL_BIT:
            continue
        compared += 1
        nearest = FAR
        for t in range(n):
            tr = targets[t] // w
            tc = targets[t] - tr * w
            dist = (vr - tr) * (vr - tr) + (vc - tc) * (vc - tc)
            if dist < nearest:
                nearest = dist
        if nearest < best:
            best = nearest
            best_d = d
    return best_d, compared


@jit(inline="always")
def _greedy_table(words, e, r0, c0, h, w, m, ecls, en, gdist):
    """_greedy's result from the per-class distance tables: a neighbour's distance to
    the nearest target is the minimum over the Pred's classes present in the environment."""
    any_target = False
    for j in range(en[e]):
        if (m >> ecls[e, j]) & 1 == 1:
            any_target = True
    if not any_target:
        return NO_MOVE, 0
    best_d = NO_MOVE
    best = FAR
    compared = 0
    for d in range(4):
        dr, dc = _delta(d)
        vr = r0 + dr
        vc = c0 + dc
        if _cell(words, e, vr, vc, h, w) & WALL_BIT:
            continue
        compared += 1
        v = vr * w + vc
        nearest = FAR
        for j in range(en[e]):
            if (m >> ecls[e, j]) & 1 == 1 and gdist[e, j, v] < nearest:
                nearest = gdist[e, j, v]
        if nearest < best:
            best = nearest
            best_d = d
    return best_d, compared


@jit(inline="always")
def _action(ops, ends, words, e, r, c, h, w, mind, op_kind, op_arg, step_cost, stack, pstack, queue, seen,
            first, pmask, pcost, stamp, cached, cls, first_at, ecls, en, gdist, pcls, pn, memo_off, memo):
    """One evaluation at (r, c) with internal state `mind` = heading + 4 * memory + 16 * k:
    (direction or NO_MOVE, simulated steps, hypothetical states examined by the deciding
    construct, internal state after it; `remember` changes the memory).

    (Heading and memory travel as one integer, and greedy's target list reuses `queue`,
    so that no call passes more than 30 arguments: CPython compiles a longer call as
    f(*args), which Numba cannot inline.)"""
    hh = mind & 3
    mem = (mind >> 2) & 3
    hi = mind & ~15  # the trajectory's length k, 16 * k (read by visited, kept as it is)
    i = 0
    cost = 0
    while True:
        op = ops[i]
        k = op_kind[op]
        cost += step_cost[op]
        if k == A_MOVE:
            return op_arg[op], cost, 0, hh + 4 * mem + hi
        if k == A_IF:
            value, bcost = _bool_value(ops, i + 1, ends[i + 1], ends, words, e, r, c, h, w, hh, mem,
                                       op_kind, op_arg, step_cost, stack, pstack,
                                       cached, cls, pmask, pcost, first_at, queue, mind >> 4)
            cost += bcost
            i = ends[i + 1] if value else ends[ends[i + 1]]
        elif k == LET:  # (let D B): evaluate the body B (D is read through its refs)
            i = ends[i + 1]
        elif k == A_REMEMBER:
            mem = op_arg[ops[i + 1]]
            cost += step_cost[ops[i + 1]]
            i = ends[i + 1]
        elif k == A_WALLRIGHT or k == A_WALLLEFT:
            # right-hand rule: right, ahead, left, back; left-hand: left, ahead, right, back
            for s in range(4):
                turn = (5 - s) % 4 if k == A_WALLRIGHT else (s + 3) % 4
                d = (hh + turn) % 4
                dr, dc = _delta(d)
                if not _cell(words, e, r + dr, c + dc, h, w) & WALL_BIT:
                    return d, cost + s + 1, 0, hh + 4 * mem + hi
            return NO_MOVE, cost + 4, 0, hh + 4 * mem + hi
        else:
            pc = pcost[i + 1] if cached else _pred_cost(ops, i + 1, ends[i + 1], step_cost, op_kind, ends)
            m = pmask[i + 1]
            if k == A_TOWARD:
                hw = h * w
                target = _scan_first(ops, i + 1, ends[i + 1], words, e, h, w, op_kind, op_arg, pstack, cached,
                                     m, first_at, ends)
                cost += (target + 1 if target < hw else hw) * pc
                if target >= hw:
                    return NO_MOVE, cost, 0, hh + 4 * mem + hi
                primary, secondary = _heading_toward(target, r, c, w)
                if primary == NO_MOVE:
                    return NO_MOVE, cost, 0, hh + 4 * mem + hi
                # blocked: a wall, or an object other than the target
                dr, dc = _delta(primary)
                f = _cell(words, e, r + dr, c + dc, h, w)
                if not (f & WALL_BIT or (f & OBJECT_BIT_MASK and (r + dr) * w + c + dc != target)):
                    return primary, cost, 0, hh + 4 * mem + hi
                if secondary != NO_MOVE:
                    sr, sc = _delta(secondary)
                    g = _cell(words, e, r + sr, c + sc, h, w)
                    if not (g & WALL_BIT or (g & OBJECT_BIT_MASK and (r + sr) * w + c + sc != target)):
                        return secondary, cost, 0, hh + 4 * mem + hi
                if f & WALL_BIT:
                    return primary, cost, 0, hh + 4 * mem + hi  # a bump: sets the heading
                return NO_MOVE, cost, 0, hh + 4 * mem + hi
            if k == A_PLAN:
                slot = _plan_slot(e, r, c, h, w, m, pcls, pn, memo_off) if cached else np.int64(-1)
                if slot >= 0 and memo[slot] != 0:
                    x = np.int64(memo[slot]) - 1
                    d = (x & 7) - 1
                    tested = x >> 3
                else:
                    d, tested = _plan(ops, i + 1, ends[i + 1], words, e, r, c, h, w, op_kind, op_arg,
                                      pstack, queue, seen, first, stamp, cached, cls, m, ends)
                    if slot >= 0:
                        memo[slot] = 1 + (d + 1) + 8 * tested
                return d, cost + tested * pc, tested, hh + 4 * mem + hi
            # A_GREEDY: it charges every cell of the grid
            if cached and en[e] >= 0:
                d, compared = _greedy_table(words, e, r, c, h, w, m, ecls, en, gdist)
            else:
                d, compared = _greedy(ops, i + 1, ends[i + 1], words, e, r, c, h, w, op_kind, op_arg, pstack,
                                      queue, cached, cls, m, ends)
            return d, cost + h * w * pc, compared, hh + 4 * mem + hi


@jit(inline="always")
def _episode(ops, ends, words, dims, starts, horizons, e, op_kind, op_arg, step_cost,
             stacks, queue, seen, first, pmask, pcost, stamp, step_cap, reads, cached, cls, first_at, ecls, en,
             gdist, pcls, pn, memo_off, memo, path):
    """One episode: (cell reached or -1, moves, simulated steps, next stamp, lookahead,
    lookahead decisions). State: position, heading (N) and memory (0), the latter two as
    mind = heading + 4 * memory; `reads` (from _reads_state) masks the parts of mind the
    program reads. When `paths` is not empty, paths[i, e, t] gets the agent's cell
    (row * width + column) after each step simulated (the caller fills in the steps the
    no-move shortcut charges without simulating: the agent stays where it is).

    At most 30 parameters: CPython passes a call with more as a tuple (CALL_FUNCTION_EX),
    which Numba cannot inline. So the two value stacks come as the rows of `stacks`, and
    `path` is this episode's row of the paths array (empty when not recording)."""
    record = path.shape[0] > 0
    stack = stacks[0]
    pstack = stacks[1]
    h = dims[e, 0]
    w = dims[e, 1]
    r = starts[e, 0]
    c = starts[e, 1]
    horizon = horizons[e]
    moves = 0
    steps = np.int64(0)
    mind = 0
    lookahead = np.int64(0)
    decided = np.int64(0)
    off = (words.shape[1] - 2) * (words.shape[2] - 2)  # the grid cells of _scratch (words has a ring)
    queue[off] = r * w + c  # the trajectory's p_0 (see the module docstring)
    while moves < horizon:
        stamp += 1
        d, cost, examined, new_mind = _action(ops, ends, words, e, r, c, h, w, mind, op_kind, op_arg, step_cost,
                                              stack, pstack, queue, seen, first, pmask, pcost, stamp, cached, cls,
                                              first_at, ecls, en, gdist, pcls, pn, memo_off, memo)
        steps += cost
        moves += 1
        lookahead += examined
        if record:
            path[moves - 1] = r * w + c
        if examined > 0:
            decided += 1
        moved = False
        if d != NO_MOVE:
            new_mind = (new_mind & ~3) | d
            dr, dc = _delta(d)
            if not _cell(words, e, r + dr, c + dc, h, w) & WALL_BIT:
                r += dr
                c += dc
                moved = True
                new_mind += 16  # one trajectory entry more: p_k, the cell entered
                queue[off + (new_mind >> 4)] = r * w + c
                if record:
                    path[moves - 1] = r * w + c
                if words[e, r + 1, c + 1] & OBJECT_BIT_MASK:
                    return r * w + c, moves, steps, stamp, lookahead, decided
        if not moved and ((new_mind ^ mind) & reads) == 0:
            # The policy sees only the state (position, and the heading and memory if it
            # reads them), and the state did not change: every remaining step repeats
            # this one. Same result, far less wall time.
            rest = horizon - moves
            steps += rest * cost
            lookahead += rest * examined
            if examined > 0:
                decided += rest
            return NO_OBJECT, horizon, steps, stamp, lookahead, decided
        mind = new_mind
        if steps > step_cap:
            return NO_OBJECT, moves, steps, stamp, lookahead, decided
    return NO_OBJECT, moves, steps, stamp, lookahead, decided


@jit
def _scratch(width, cells, longest):
    """Work arrays for one chunk of programs: subtree ends, two value stacks (rows of one
    array), BFS buffers (the queue doubles as greedy's target list, and its last
    longest + 1 entries hold the trajectory), and per-Pred-node class bit sets and step
    costs."""
    return (np.empty(width + 1, dtype=np.int32), np.empty((2, width + 1), dtype=np.bool_),
            np.empty(cells + longest + 1, dtype=np.int32),
            np.zeros(cells, dtype=np.int64), np.empty(cells, dtype=np.int32),
            np.zeros(width + 1, dtype=np.int64), np.zeros(width + 1, dtype=np.int64))


@jit
def _n_chunks(n, threads):
    """CHUNKS_PER_THREAD chunks per thread (at most MAX_CHUNKS), of at least MIN_CHUNK
    programs each (but one at least). Every chunk zeroes its own plan memo (up to a few
    megabytes over the training grids), so more chunks than the threads need cost
    memory bandwidth and memo reuse; fewer leave threads idle at the end of a batch."""
    return max(1, min((n + MIN_CHUNK - 1) // MIN_CHUNK, CHUNKS_PER_THREAD * max(threads, 1), MAX_CHUNKS))


@jit
def _reads_state(prog, size, op_kind):
    """The bits of mind = heading + 4 * memory that the program reads: 3 if it reads the
    heading (relative directions, wall-following), | 12 if the memory (`recall`). The
    no-move shortcut needs these unchanged."""
    reads = 0
    for j in range(size):
        k = op_kind[prog[j]]
        if k == D_RELATIVE or k == A_WALLRIGHT or k == A_WALLLEFT:
            reads |= 3
        elif k == B_RECALL:
            reads |= 12
    return reads


@jit
def _reads_one_cell(prog, size, op_kind, op_arg):
    """Whether every Pred of the program is a function of the tested cell's features
    alone: no `near`, no Code leaf with the frame mark."""
    for j in range(size):
        k = op_kind[prog[j]]
        if k == P_NEAR or (k == K_CODE and op_arg[prog[j]] & MARK_BIT):
            return False
    return True


@jit(parallel=True)
def _batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, use_cache,
           fit, base_cells, max_failures, step_caps, reached, moves, steps, fits, successes, verdict_steps,
           trace, lookahead, lookahead_decisions, paths, threads):
    """The one parallel kernel behind run_batch and trace_batch (fit False: fills reached,
    moves and steps, and with trace True lookahead and lookahead_decisions too) and
    fit_batch (fit True: fills fits, successes and verdict_steps).

    With `paths` not empty (path_batch) it also records every episode's cells.
    Programs are split into chunks, chunk c taking programs c, c + chunks, ...: programs
    of one shape are adjacent in the enumeration and can cost far more than their
    neighbours, and striding spreads them over the threads. Each chunk has one set of
    work arrays and one plan memo.
    """
    n = ops.shape[0]
    n_env = features.shape[0]
    cached, cls, featmask, first_at, ecls, en, gdist, pcls, pn, memo_off, memo_size = _env_tables(
        features, dims, use_cache)
    words = _words(features, dims)
    chunks = _n_chunks(n, threads)
    no_path = np.zeros(0, dtype=np.int32)
    longest = 1
    for e in range(n_env):
        longest = max(longest, horizons[e])
    for chunk in prange(chunks):
        ends, stacks, queue, seen, first, pmask, pcost = _scratch(
            ops.shape[1], features.shape[1] * features.shape[2], longest)
        memo = np.zeros(memo_size, dtype=np.int32)
        stamp = np.int64(0)
        for i in range(chunk, n, chunks):
            prog = ops[i]
            _subtree_ends(prog, sizes[i], op_arity, ends)
            reads = _reads_state(prog, sizes[i], op_kind)
            # The caches' classes are cell feature values: a program whose Preds read a
            # neighbour or the frame mark runs without them (exact either way).
            use = cached and _reads_one_cell(prog, sizes[i], op_kind, op_arg)
            if use:
                _pred_tables(prog, sizes[i], ends, op_kind, op_arg, step_cost, featmask, pmask, pcost)
            failures = 0
            total = np.int64(0)
            ok = True
            for e in range(n_env):
                cap = step_caps[i] - total if fit else FAR
                got, m, s, stamp, la, la_dec = _episode(
                    prog, ends, words, dims, starts, horizons, e, op_kind, op_arg, step_cost, stacks,
                    queue, seen, first, pmask, pcost, stamp, cap, reads, use, cls, first_at, ecls, en, gdist, pcls, pn,
                    memo_off, memo, paths[i, e] if paths.shape[0] > 0 else no_path)
                if not fit:
                    if paths.shape[0] > 0:
                        for t in range(1, m):
                            if paths[i, e, t] < 0:
                                paths[i, e, t] = paths[i, e, t - 1]
                    reached[i, e] = got
                    moves[i, e] = m
                    steps[i, e] = s
                    if trace:
                        lookahead[i, e] = la
                        lookahead_decisions[i, e] = la_dec
                    continue
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
            if fit:
                fits[i] = ok
                verdict_steps[i] = total


@jit
def run_batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, threads,
              use_cache=True):
    """Every program on every environment: reached cell (-1 none), moves, simulated steps.

    `use_cache=False` runs without the caches of the module docstring; results are the
    same either way.
    """
    n = ops.shape[0]
    n_env = features.shape[0]
    reached = np.empty((n, n_env), dtype=np.int32)
    moves = np.empty((n, n_env), dtype=np.int32)
    steps = np.empty((n, n_env), dtype=np.int64)
    no_caps = np.zeros(0, dtype=np.int64)
    _batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, bool(use_cache),
           np.bool_(False), np.zeros((1, 1, 1), dtype=np.bool_), np.int64(0), no_caps, reached, moves, steps,
           np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int32), no_caps,
           np.bool_(False), np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.int32),
           np.zeros((0, 0, 0), dtype=np.int32), threads)
    return reached, moves, steps


@jit
def path_batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, threads,
               use_cache=True):
    """run_batch's results and every episode's path: paths int32 [n, E, max horizon], the
    agent's cell (row * width + column) after each step, -1 after the episode ended."""
    n = ops.shape[0]
    n_env = features.shape[0]
    reached = np.empty((n, n_env), dtype=np.int32)
    moves = np.empty((n, n_env), dtype=np.int32)
    steps = np.empty((n, n_env), dtype=np.int64)
    longest = 1
    for e in range(n_env):
        longest = max(longest, horizons[e])
    paths = np.full((n, n_env, longest), -1, dtype=np.int32)
    no_caps = np.zeros(0, dtype=np.int64)
    _batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, bool(use_cache),
           np.bool_(False), np.zeros((1, 1, 1), dtype=np.bool_), np.int64(0), no_caps, reached, moves, steps,
           np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int32), no_caps,
           np.bool_(False), np.zeros((0, 0), dtype=np.int64), np.zeros((0, 0), dtype=np.int32), paths, threads)
    return reached, moves, steps, paths


@jit
def trace_batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, threads,
                use_cache=True):
    """run_batch's results and, per episode, the search measured from execution
    (dsl/grid/reference.py, "Lookahead"): reached (int32), moves (int32; also the
    number of decisions), simulated steps (int64), lookahead (int64: hypothetical
    states examined) and lookahead decisions (int32), each [n, E]."""
    n = ops.shape[0]
    n_env = features.shape[0]
    reached = np.empty((n, n_env), dtype=np.int32)
    moves = np.empty((n, n_env), dtype=np.int32)
    steps = np.empty((n, n_env), dtype=np.int64)
    lookahead = np.empty((n, n_env), dtype=np.int64)
    lookahead_decisions = np.empty((n, n_env), dtype=np.int32)
    no_caps = np.zeros(0, dtype=np.int64)
    _batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, bool(use_cache),
           np.bool_(False), np.zeros((1, 1, 1), dtype=np.bool_), np.int64(0), no_caps, reached, moves, steps,
           np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int32), no_caps,
           np.bool_(True), lookahead, lookahead_decisions, np.zeros((0, 0, 0), dtype=np.int32), threads)
    return reached, moves, steps, lookahead, lookahead_decisions


@jit
def fit_batch(ops, sizes, features, dims, starts, horizons, base_cells, max_failures, step_caps,
              op_kind, op_arg, op_arity, step_cost, threads, use_cache=True):
    """Which programs fit the training environments, stopping at the verdict.

    Environments run in order; a program is rejected as soon as its failures exceed
    `max_failures`, or its simulated steps exceed its `step_caps` entry (Levin budgets).
    Returns fits (bool [n]), successes (int32 [n]) and verdict_steps (int64 [n]): the
    simulated steps run until the verdict, which for a fitting program is its total t(p).
    `use_cache` as in run_batch.
    """
    n = ops.shape[0]
    fits = np.zeros(n, dtype=np.bool_)
    successes = np.zeros(n, dtype=np.int32)
    verdict_steps = np.zeros(n, dtype=np.int64)
    no_rows = np.zeros((0, 0), dtype=np.int32)
    _batch(ops, sizes, features, dims, starts, horizons, op_kind, op_arg, op_arity, step_cost, bool(use_cache),
           np.bool_(True), base_cells, np.int64(max_failures), step_caps, no_rows, no_rows, np.zeros((0, 0), dtype=np.int64),
           fits, successes, verdict_steps, np.bool_(False), np.zeros((0, 0), dtype=np.int64), no_rows,
           np.zeros((0, 0, 0), dtype=np.int32), threads)
    return fits, successes, verdict_steps
