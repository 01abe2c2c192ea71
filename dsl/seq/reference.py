"""The seq reference interpreter: plain Python, written for clarity. It is the specification.

Seq semantics: a program is an Expr that predicts term a(t) of a sequence (t = 0, 1, ...)
from the index and the previous terms. Predictions are teacher-forced: the prediction at
index t sees the true terms a(t-1) and a(t-2), never the program's own predictions.

Values are int64 with two's-complement wrap-around: every arithmetic result (and every
Nat constant) is reduced to [-2^63, 2^63) modulo 2^64.

Expr:
- `t`: the index t; `x1`: a(t-1) (0 when t < 1); `x2`: a(t-2) (0 when t < 2);
- `k`: the candidate of the innermost enclosing `find` (0 outside any `find`);
- `c0`: 0; `(const N)`: the value of the Nat N;
- `(add A B)`, `(sub A B)`, `(mul A B)`: wrapped A+B, A-B, A*B;
- `(div A B)`: floor(A / B), 0 when B = 0 (so INT64_MIN // -1 wraps to INT64_MIN);
- `(mod A B)`: A - B * floor(A / B) (Python's %, the sign of B), 0 when B = 0
  (INT64_MIN mod -1 = 0);
- `(if C A B)`: A when C holds, else B;
- `(find U C)`: with n = min(max(U, 0), FIND_LIMIT), the smallest k in 0 .. n-1 for
  which C holds with `k` bound to that candidate; when none does, U clipped to
  [0, FIND_LIMIT]. U is evaluated outside the new binding (its `k` is the enclosing one).
History profile (Expr), with a(0) .. a(t-1) the history of the prediction at index t:
- `(hist E)`: with d the value of E, a(t - d) when 1 <= d <= t, else 0;
- `(fold E)`: acc = 0, then for j = 0 .. t-1 in order acc = E evaluated with `h` bound
  to a(j) and `acc` to the accumulator so far; the value is the final acc (0 when t = 0);
- `h`, `acc`: the term being read and the accumulator of the innermost enclosing `fold`
  (0 outside any `fold`). `t`, `x1`, `x2` and `k` keep their meaning inside a fold.
Bool: `(lt A B)`: A < B; `(eq A B)`: A = B; `(not C)`; `(and C D)` (both evaluated).
Nat: `one` = 1; `(bit0 M)` = 2M; `(bit1 M)` = 2M + 1 (wrapped).

Cost model (simulated steps), with c(x) the step cost of production x (default 1):
- every node evaluated costs c(node);
- leaves (`t`, `x1`, `x2`, `k`, `c0`, `one`): c(leaf);
- `(const N)`: c(const) + the sum of c over N's nodes;
- `add`, `sub`, `mul`, `div`, `mod`, `lt`, `eq`: c(node) + the costs of both arguments
  (both are always evaluated, even when the divisor is 0);
- `(if C A B)`: c(if) + cost(C) + cost of the branch taken (the other is not evaluated);
- `(find U C)`: c(find) + cost(U) + cost(C) for each candidate tested (with k bound to
  that candidate; testing stops at the first candidate for which C holds, so n
  candidates are tested when none does, and none when n = 0);
- `not` and `and` (Bool) evaluate all their arguments: c(node) + their costs;
- `(hist E)`: c(hist) + cost(E) + d * c(h) when 1 <= d <= t (walking back d terms, each
  read at the price of one `h`), else c(hist) + cost(E);
- `(fold E)`: c(fold) + the cost of E at each of the t terms read (so a fold re-reads
  the whole history at every prediction: t(p) grows with the square of the number of
  terms, and a fold nested in a fold's body with the cube);
- `h`, `acc`: c(leaf);
- a program's steps on a sequence prefix are the sum over the predicted indices.
"""
from __future__ import annotations

from typing import Sequence

from dsl.grammar import Grammar
from dsl.tree import Node, tree
from dsl.seq import primitives as sp

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def wrap(x: int) -> int:
    """x reduced to a signed 64-bit integer (two's complement)."""
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >= 1 << 63 else x


class SeqReference:
    """Runs seq programs one node at a time, exactly as the spec above says."""

    def __init__(self, grammar: Grammar, find_limit: int = sp.FIND_LIMIT):
        self.grammar = grammar
        self.find_limit = find_limit
        # the price of reading one history term (hist's walk): c(h); 0 without the profile
        h = [i for i, p in enumerate(grammar.productions) if p.op == sp.E_H]
        self.read_cost = grammar.step_cost[h[0]] if h else 0

    def _op(self, node: Node) -> int:
        return self.grammar.productions[node.production].op

    def _c(self, node: Node) -> int:
        return self.grammar.step_cost[node.production]

    # -- Nat
    def nat(self, node: Node) -> tuple[int, int]:
        op = self._op(node)
        if op == sp.N_ONE:
            return 1, self._c(node)
        m, cost = self.nat(node.children[0])
        value = 2 * m if op == sp.N_BIT0 else 2 * m + 1
        return wrap(value), self._c(node) + cost

    # -- Bool
    def boolean(self, node: Node, env: dict) -> tuple[bool, int]:
        op = self._op(node)
        if op == sp.B_NOT:
            value, cost = self.boolean(node.children[0], env)
            return not value, self._c(node) + cost
        if op == sp.B_AND:
            a, ca = self.boolean(node.children[0], env)
            b, cb = self.boolean(node.children[1], env)
            return a and b, self._c(node) + ca + cb
        a, ca = self.expr(node.children[0], env)
        b, cb = self.expr(node.children[1], env)
        value = a < b if op == sp.B_LT else a == b
        return value, self._c(node) + ca + cb

    # -- Expr
    def expr(self, node: Node, env: dict) -> tuple[int, int]:
        """(value, simulated steps) of one evaluation; env holds t, x1, x2, k, the
        history (`past`: a(0) .. a(t-1)) and the innermost fold's h and acc."""
        op = self._op(node)
        c = self._c(node)
        if op == sp.E_T:
            return env["t"], c
        if op == sp.E_X1:
            return env["x1"], c
        if op == sp.E_X2:
            return env["x2"], c
        if op == sp.E_K:
            return env["k"], c
        if op == sp.E_C0:
            return 0, c
        if op == sp.E_H:
            return env["h"], c
        if op == sp.E_ACC:
            return env["acc"], c
        if op == sp.E_HIST:
            d, cost = self.expr(node.children[0], env)
            t = env["t"]
            if 1 <= d <= t:
                return env["past"][t - d], c + cost + d * self.read_cost
            return 0, c + cost
        if op == sp.E_FOLD:
            acc, cost = 0, c
            for term in env["past"]:
                acc, body_cost = self.expr(node.children[0], dict(env, h=term, acc=acc))
                cost += body_cost
            return acc, cost
        if op == sp.E_CONST:
            value, cost = self.nat(node.children[0])
            return value, c + cost
        if op == sp.E_IF:
            cond, then, other = node.children
            value, cost = self.boolean(cond, env)
            result, branch_cost = self.expr(then if value else other, env)
            return result, c + cost + branch_cost
        if op == sp.E_FIND:
            bound_node, test = node.children
            bound, cost = self.expr(bound_node, env)
            n = min(max(bound, 0), self.find_limit)
            for k in range(n):
                holds, test_cost = self.boolean(test, dict(env, k=k))
                cost += test_cost
                if holds:
                    return k, c + cost
            return min(max(bound, 0), self.find_limit), c + cost
        a, ca = self.expr(node.children[0], env)
        b, cb = self.expr(node.children[1], env)
        cost = c + ca + cb
        if op == sp.E_ADD:
            return wrap(a + b), cost
        if op == sp.E_SUB:
            return wrap(a - b), cost
        if op == sp.E_MUL:
            return wrap(a * b), cost
        if op == sp.E_DIV:
            return (wrap(a // b) if b != 0 else 0), cost
        # E_MOD: never overflows (|a % b| < |b|)
        return (a % b if b != 0 else 0), cost

    # -- sequences
    def predict(self, program: Node | Sequence[int], terms: Sequence[int], t: int) -> tuple[int, int]:
        """(prediction of a(t), simulated steps), given the true terms before index t."""
        root = program if isinstance(program, Node) else tree(program, self.grammar)
        x1 = int(terms[t - 1]) if t >= 1 else 0
        x2 = int(terms[t - 2]) if t >= 2 else 0
        past = [int(x) for x in terms[:t]]
        return self.expr(root, {"t": t, "x1": x1, "x2": x2, "k": 0, "past": past, "h": 0, "acc": 0})

    def run(self, program: Node | Sequence[int], terms: Sequence[int], n: int) -> tuple[list[int], list[int]]:
        """Predictions of a(0) .. a(n-1) and the steps of each (n <= len(terms) + 1)."""
        if n > len(terms) + 1:
            raise ValueError(f"predicting {n} terms needs at least {n - 1} terms, got {len(terms)}")
        root = program if isinstance(program, Node) else tree(program, self.grammar)
        values, steps = [], []
        for t in range(n):
            v, s = self.predict(root, terms, t)
            values.append(v)
            steps.append(s)
        return values, steps
