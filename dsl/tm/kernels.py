"""Numba simulator for TM programs: a batch of machines, each from the blank tape.

The specification is `dsl.tm.reference` (plain Python); this module must agree with it
on every machine and cap (tests/test_tm_dsl.py): same halting verdict, simulated steps,
output (visited segment) and count of ones. All callees of the public kernels live here
because Numba's cache does not see edits to another file's callee.

Tables passed in (from `dsl.grammar.kernel_tables`): op_kind, op_arg, op_arity (int32
[P]) and step_cost (int64 [P]). Programs: ops int32 [n, width] padded with -1, sizes
int32 [n] (a program is `tm<k>` then its 2k transitions). Caps: step_caps int64 [n],
each between 0 and MAX_CAP.

Transition costs must be >= 1 (dsl.tm.primitives.check_costs), so a run executes at
most `cap` transitions and its head stays within `cap` cells of the start: the tape is
an array of 2 * cap + 1 cells (the largest cap of the chunk), the start cell in the
middle, and the run loop makes at most cap + 1 passes.

Packed outputs (`run_batch`'s `packed`, int32 [n, W]): bit k of the output (k = 0 the
leftmost visited cell) is bit k % 32 of word k // 32, bit 0 the least significant (the
word's sign bit is bit 31); bit `out_len` is a 1 (an end marker) and every higher bit is
0. So two rows are equal iff the outputs are equal (length included) and rows can be
hashed as they are. W = (max cap + 2 + 31) // 32 words: a run of cap c visits at most
c + 1 cells.

Programs are run in chunks of CHUNK, one tape per chunk; results depend on neither the
chunking nor the thread count.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from dsl.grammar import kernel_tables  # noqa: F401 (the tables these kernels take)
from dsl.jit import jit

# Opcode kinds repeated as module constants so Numba freezes them (see primitives.py).
K_MACHINE, K_MOVE, K_HALT = 0, 1, 2
CHUNK = 256  # programs per chunk (one tape each)
#: Largest step cap accepted (the tape of a chunk has 2 * cap + 1 cells).
MAX_CAP = 1 << 26


def words_for(max_cap: int) -> int:
    """W: int32 words per packed output under caps up to max_cap."""
    return (int(max_cap) + 2 + 31) // 32


@jit
def _n_chunks(n):
    return (n + CHUNK - 1) // CHUNK


@jit
def _chunk_cap(step_caps, lo, hi):
    m = np.int64(0)
    for i in range(lo, hi):
        if step_caps[i] > m:
            m = step_caps[i]
    return m


@jit
def _simulate(prog, cap, op_kind, op_arg, step_cost, tape, centre):
    """Run one machine from the blank tape (tape[centre] is the start cell; the tape
    must be blank). Returns (halted, steps, lo, hi): the visited segment is
    tape[lo .. hi]; the caller reads it and blanks it again."""
    steps = step_cost[prog[0]]
    pos = centre
    lo = centre
    hi = centre
    state = 0
    halted = False
    for _ in range(cap + 1):  # at most cap transitions run (each costs >= 1)
        p = prog[1 + 2 * state + np.int64(tape[pos])]
        c = step_cost[p]
        if steps + c > cap:
            break
        steps += c
        arg = op_arg[p]
        if op_kind[p] == K_HALT:
            tape[pos] = arg
            halted = True
            break
        tape[pos] = arg & 1
        if (arg >> 1) & 1:
            pos += 1
            if pos > hi:
                hi = pos
        else:
            pos -= 1
            if pos < lo:
                lo = pos
        state = arg >> 2
    return halted, steps, lo, hi


@jit
def _bit(k):
    """Bit k (0 .. 31) of an int32 word (bit 31 is the sign bit)."""
    if k == 31:
        return np.int32(-2147483648)
    return np.int32(1 << k)


@jit
def _ones_and_clear(tape, lo, hi):
    """The 1s on tape[lo .. hi], which is blanked again."""
    ones = 0
    for j in range(lo, hi + 1):
        ones += tape[j]
        tape[j] = 0
    return ones


@jit(parallel=True)
def run_batch(ops, sizes, step_caps, n_words, op_kind, op_arg, op_arity, step_cost):
    """Every machine from the blank tape, up to its step cap.

    Returns halted (bool [n]), steps (int64 [n]), ones (int32 [n]), out_len (int32 [n])
    and packed (int32 [n, n_words]: the outputs, see the module docstring; n_words must
    be at least words_for(max cap))."""
    n = ops.shape[0]
    halted = np.zeros(n, dtype=np.bool_)
    steps = np.zeros(n, dtype=np.int64)
    ones = np.zeros(n, dtype=np.int32)
    out_len = np.zeros(n, dtype=np.int32)
    packed = np.zeros((n, n_words), dtype=np.int32)
    for i in range(n):
        if step_caps[i] < 0 or step_caps[i] > MAX_CAP:
            raise ValueError("run_batch: step caps must be in 0 .. MAX_CAP")
        if (step_caps[i] + 2 + 31) // 32 > n_words:
            raise ValueError("run_batch: n_words too small for the step caps")
    for chunk in prange(_n_chunks(n)):
        lo_i = chunk * CHUNK
        hi_i = min(n, lo_i + CHUNK)
        centre = _chunk_cap(step_caps, lo_i, hi_i)
        tape = np.zeros(2 * centre + 1, dtype=np.uint8)
        for i in range(lo_i, hi_i):
            h, s, lo, hi = _simulate(ops[i], step_caps[i], op_kind, op_arg, step_cost, tape, centre)
            halted[i] = h
            steps[i] = s
            length = hi - lo + 1
            out_len[i] = length
            for j in range(lo, hi + 1):
                if tape[j]:
                    k = j - lo
                    packed[i, k // 32] |= _bit(k % 32)
            packed[i, length // 32] |= _bit(length % 32)  # the end marker
            ones[i] = _ones_and_clear(tape, lo, hi)
    return halted, steps, ones, out_len, packed


@jit(parallel=True)
def fit_batch(ops, sizes, step_caps, prefix, exact, op_kind, op_arg, op_arity, step_cost):
    """Which machines halt within their cap with an output that starts with `prefix`
    (int8 [m] of 0/1), or, when `exact`, equals it.

    Returns fits (bool [n]) and steps (int64 [n]: the simulated steps until the machine
    halted or was cut off)."""
    n = ops.shape[0]
    m = prefix.shape[0]
    fits = np.zeros(n, dtype=np.bool_)
    steps = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if step_caps[i] < 0 or step_caps[i] > MAX_CAP:
            raise ValueError("fit_batch: step caps must be in 0 .. MAX_CAP")
    for chunk in prange(_n_chunks(n)):
        lo_i = chunk * CHUNK
        hi_i = min(n, lo_i + CHUNK)
        centre = _chunk_cap(step_caps, lo_i, hi_i)
        tape = np.zeros(2 * centre + 1, dtype=np.uint8)
        for i in range(lo_i, hi_i):
            h, s, lo, hi = _simulate(ops[i], step_caps[i], op_kind, op_arg, step_cost, tape, centre)
            steps[i] = s
            length = hi - lo + 1
            ok = h and length >= m and (length == m or not exact)
            if ok:
                for j in range(m):
                    if tape[lo + j] != prefix[j]:
                        ok = False
                        break
            fits[i] = ok
            _ones_and_clear(tape, lo, hi)
    return fits, steps


# ------------------------------------------------------------------ census
# Machines of n states are numbered 0 .. (4n+2)^(2n) - 1 in the grammar's enumeration
# order: the 2n transitions are the digits, base R = 4n + 2, of the index, the (A,0)
# transition the most significant; digit t is the t-th production of T<n> (see
# dsl.tm.primitives). The census kernel works on the default cost model (every
# transition costs 1 step, tm<n> 0).

#: Outputs up to this length are returned as integer keys; longer ones as LONG_OUTPUT.
MAX_KEY_LEN = 62
NOT_HALTED, LONG_OUTPUT = -1, -2


@jit
def _set_digit(j, d, n, tw, td, ts):
    """Decode transition digit d into slot j: write tw, head delta td (0 when halting),
    next state ts (-1 when halting)."""
    w = d // (2 * n + 1)
    r = d % (2 * n + 1)
    tw[j] = w
    if r == 0:
        td[j] = 0
        ts[j] = -1
    else:
        r -= 1
        td[j] = 1 if r // n == 1 else -1
        ts[j] = r % n


@jit
def _may_halt(ts, n):
    """False when no halting transition belongs to a state reachable from A in the
    transition graph (then the machine never halts, see docs/tm.md)."""
    reach = np.int64(1)
    for _ in range(n):
        new = reach
        for s in range(n):
            if (reach >> s) & 1:
                for b in range(2):
                    t = ts[2 * s + b]
                    if t >= 0:
                        new |= np.int64(1) << t
        if new == reach:
            break
        reach = new
    for s in range(n):
        if (reach >> s) & 1 and (ts[2 * s] < 0 or ts[2 * s + 1] < 0):
            return True
    return False


@jit(parallel=True)
def census_batch(n, first, count, step_cap, prune, chunk):
    """Machines number first .. first+count-1 of n states, each run from the blank tape
    for at most step_cap steps (halting transition included).

    Returns key (int64 [count]: NOT_HALTED; LONG_OUTPUT for a halting machine whose
    output is longer than MAX_KEY_LEN; else (1 << len) | bits with bit k the output's
    k-th symbol, k = 0 the leftmost), steps (int32: halting step, 0 when not halted)
    and ones (int32: 1s on the tape at halting, 0 when not halted). With `prune`,
    machines that can be seen never to halt are not run to the cap (key NOT_HALTED,
    as for any machine that does not halt within it): those that cannot reach a
    halting transition are not run at all, and a run stops when the head enters a
    new cell (all blank beyond it) in a state whose 0-transition moves on in the same
    direction and stays in that state (docs/tm.md has the proofs).
    Work is cut into runs of `chunk` machines, independent of the thread count."""
    R = 4 * n + 2
    T = 2 * n
    key = np.empty(count, dtype=np.int64)
    steps = np.zeros(count, dtype=np.int32)
    ones = np.zeros(count, dtype=np.int32)
    n_chunks = (count + chunk - 1) // chunk
    for c in prange(n_chunks):
        tape = np.zeros(2 * step_cap + 1, dtype=np.uint8)
        digits = np.empty(T, dtype=np.int64)
        tw = np.empty(T, dtype=np.uint8)
        td = np.empty(T, dtype=np.int64)
        ts = np.empty(T, dtype=np.int64)
        lo_i = c * chunk
        hi_i = min(count, lo_i + chunk)
        x = first + lo_i
        for j in range(T - 1, -1, -1):
            digits[j] = x % R
            x //= R
            _set_digit(j, digits[j], n, tw, td, ts)
        for i in range(lo_i, hi_i):
            if i > lo_i:  # the next machine: add one to the last digit, with carries
                j = T - 1
                while j >= 0:
                    digits[j] += 1
                    if digits[j] == R:
                        digits[j] = 0
                        _set_digit(j, 0, n, tw, td, ts)
                        j -= 1
                    else:
                        _set_digit(j, digits[j], n, tw, td, ts)
                        break
            key[i] = NOT_HALTED
            if prune and not _may_halt(ts, n):
                continue
            pos = step_cap
            lo = pos
            hi = pos
            state = 0
            halted = False
            t = 0
            while t < step_cap:
                k = 2 * state + tape[pos]
                t += 1
                tape[pos] = tw[k]
                nxt = ts[k]
                if nxt < 0:
                    halted = True
                    break
                pos += td[k]
                state = nxt
                if pos < lo or pos > hi:  # a new cell, beyond it only blanks
                    if pos < lo:
                        lo = pos
                    else:
                        hi = pos
                    k0 = 2 * state
                    if prune and ts[k0] == state and td[k0] == td[k]:
                        break  # runs away on the blank tape: never halts
            length = hi - lo + 1
            if halted:
                steps[i] = t
                if length <= MAX_KEY_LEN:
                    kk = np.int64(1) << length
                    for j in range(lo, hi + 1):
                        if tape[j]:
                            kk |= np.int64(1) << (j - lo)
                    key[i] = kk
                else:
                    key[i] = LONG_OUTPUT
                ones[i] = _ones_and_clear(tape, lo, hi)
            else:
                _ones_and_clear(tape, lo, hi)
    return key, steps, ones
