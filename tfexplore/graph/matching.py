"""Pairing the ops of two graphs: by name, by structure, by scope rewrite.

What :func:`tfexplore.graph.diff.diff` compares is decided here:

1. **By name.** An op whose name is in both graphs is the same op (changed or not).
2. **By structure**, for the ops left over: two ops pair when they have the same op type,
   device and attributes (``_class`` aside) and the same inputs, inputs that are already
   paired. This runs to a fixed point from the sources (constants, variables, placeholders)
   outwards, so a renamed scope is paired op by op. Ops whose keys tie (the ``Adam`` and
   ``Adam_1`` slots of one variable) are told apart by the longest common end of their names;
   a ``Const`` without inputs pairs only with one of the same last name part.
3. **By scope rewrite.** Each pair found by structure says which scope was renamed
   (``bert/encoder/x`` -> ``encoder/encoder/x``: ``bert`` -> ``encoder``). A rewrite that two
   or more pairs agree on is applied to the ops still left, so an op renamed *and* edited
   pairs too. When structure finds no rewrite (a small scope renamed and edited all over), the
   leftover names themselves may agree on one: two or more ops of one type whose names differ
   by the same rewrite, whose old scope is gone from ``b`` and whose new scope was not in
   ``a``. Steps 2 and 3 repeat until nothing new pairs.

Example::

    >>> matcher = Matcher(Side(graph_a), Side(graph_b))     # doctest: +SKIP
    >>> matcher.run(); matcher.a2b["bert/pooler/dense/MatMul"]  # doctest: +SKIP
    'encoder/pooler/dense/MatMul'
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

from .model import Graph
from .protos import gc_paused

__all__ = ["Side", "Matcher", "rewrite_of"]

_HASHED_BYTES = 256  # attribute values longer than this enter structural keys as a digest
_TRAILING_NUMBER = re.compile(r"_\d+$")
_MAX_NAME_OPTIONS = 16  # a leftover op's name is compared with at most this many of b's


class Side:
    """One graph's lists, as the matcher and the comparison read them."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.names, self.ops, self.inputs, self.controls = graph.structure()
        self.protos = graph._protos
        self.index = graph._index
        self.devices = graph._devices

    def __len__(self) -> int:
        return len(self.names)


# ---------------------------------------------------------------------------------------------
# Pairing ops: by name, by structure, by scope rewrite
# ---------------------------------------------------------------------------------------------
class Matcher:
    """Pairs the ops of ``a`` with those of ``b`` (:meth:`run`).

    Attributes:
        a2b, b2a: op name in one graph -> the name of its partner in the other.
        by_structure: names (in ``b``) of the ops paired by structure: all but their
            ``_class`` attribute is known to be the same as their partner's.
    """

    def __init__(self, a: Side, b: Side) -> None:
        self.a, self.b = a, b
        self.a2b: dict[str, str] = {}
        self.b2a: dict[str, str] = {}
        self.by_structure: set[str] = set()  # b names of the ops paired by structure
        self.support: Counter = Counter()  # scope rewrite -> pairs found by structure
        self.applied_rewrites: set[tuple[str, str]] = set()
        self._scratch = None
        self._rewrites: dict[str, tuple[str, str]] = {}  # b name -> rewrite of its pair

    def run(self) -> None:
        """Pair by name, then by structure and scope rewrites until nothing new pairs."""
        a, b = self.a, self.b
        b_index = b.index
        with gc_paused():
            for name in a.names:
                if name in b_index:
                    self.a2b[name] = name
                    self.b2a[name] = name
            if len(self.a2b) == len(a.index) and len(self.b2a) == len(b_index):
                return
            self._prepare()
            ready = (self._initial_ready(self.a), self._initial_ready(self.b))
            while ready[0] or ready[1]:
                self._pair_by_structure(*ready)
                ready = self._pair_by_rewrite()

    # -- readiness: an op is ready for structural pairing when all its inputs are paired -----
    def _prepare(self) -> None:
        self.pending: dict[int, dict[int, int]] = {}
        self.waiting: dict[int, dict[str, list[int]]] = {}
        self.new_ready: dict[int, list[int]] = {id(self.a): [], id(self.b): []}
        for side, paired in ((self.a, self.a2b), (self.b, self.b2a)):
            pending: dict[int, int] = {}
            waiting: dict[str, list[int]] = {}
            index = side.index
            for i, name in enumerate(side.names):
                if name in paired:
                    continue
                count = 0
                for op, _ in side.inputs[i]:
                    if op in index and op not in paired:
                        count += 1
                        waiting.setdefault(op, []).append(i)
                for op in side.controls[i]:
                    if op in index and op not in paired:
                        count += 1
                        waiting.setdefault(op, []).append(i)
                pending[i] = count
            self.pending[id(side)] = pending
            self.waiting[id(side)] = waiting

    def _initial_ready(self, side: Side) -> list[int]:
        return [i for i, count in self.pending[id(side)].items() if count == 0]

    def _pair(self, i: int, j: int) -> None:
        name_a, name_b = self.a.names[i], self.b.names[j]
        self.a2b[name_a] = name_b
        self.b2a[name_b] = name_a
        for side, k, name in ((self.a, i, name_a), (self.b, j, name_b)):
            pending = self.pending[id(side)]
            pending.pop(k, None)
            for consumer in self.waiting[id(side)].pop(name, ()):
                if consumer in pending:
                    pending[consumer] -= 1
                    if pending[consumer] == 0:
                        self.new_ready[id(side)].append(consumer)

    # -- by structure ------------------------------------------------------------------------
    def _pair_by_structure(self, ready_a: list[int], ready_b: list[int]) -> None:
        while ready_a and ready_b:
            buckets: dict[tuple, tuple[list[int], list[int]]] = {}
            for i in ready_a:
                buckets.setdefault(self._key(self.a, i, self.a2b), ([], []))[0].append(i)
            for j in ready_b:
                buckets.setdefault(self._key(self.b, j, None), ([], []))[1].append(j)
            self.new_ready = {id(self.a): [], id(self.b): []}
            for group_a, group_b in buckets.values():
                if group_a and group_b:
                    for i, j in self._resolve(group_a, group_b):
                        self._pair(i, j)
                        name_a, name_b = self.a.names[i], self.b.names[j]
                        self.by_structure.add(name_b)
                        rewrite = self._rewrites[name_b] = rewrite_of(name_a, name_b)
                        self.support[rewrite] += 1
            ready_a = [i for i in self.new_ready[id(self.a)] if i in self.pending[id(self.a)]]
            ready_b = [j for j in self.new_ready[id(self.b)] if j in self.pending[id(self.b)]]

    def _key(self, side: Side, i: int, mapping: dict[str, str] | None) -> tuple:
        """Op type, device, attributes and inputs (as names of ``b``) of op ``i``."""
        index = side.index
        if mapping is None:  # b: its own names
            data = tuple((op if op in index else "?" + op, k) for op, k in side.inputs[i])
            control = tuple(sorted(op if op in index else "?" + op for op in side.controls[i]))
        else:  # a: the names of the partners of its inputs ("?" for an input it does not have)
            data = tuple((mapping[op] if op in index else "?" + op, k) for op, k in side.inputs[i])
            control = tuple(
                sorted(mapping[op] if op in index else "?" + op for op in side.controls[i])
            )
        return (side.ops[i], data, control, self._attr_key(side.protos[i]))

    def _attr_key(self, proto) -> bytes:
        """Op type, device and attributes (``_class`` aside: it names ops) as bytes, a digest
        when long (a ``Const``'s tensor)."""
        if proto is None:
            return b""
        scratch = self._scratch
        if scratch is None:
            scratch = self._scratch = type(proto)()
        scratch.CopyFrom(proto)
        scratch.ClearField("name")
        scratch.ClearField("input")
        if "_class" in scratch.attr:
            del scratch.attr["_class"]
        data = scratch.SerializeToString(deterministic=True)
        if len(data) > _HASHED_BYTES:
            data = hashlib.blake2b(data, digest_size=16).digest()
        return data

    def _resolve(self, group_a: list[int], group_b: list[int]) -> list[tuple[int, int]]:
        names_a, names_b = self.a.names, self.b.names
        if len(group_a) == 1 and len(group_b) == 1:
            i, j = group_a[0], group_b[0]
            if self._plausible(i, j):
                return [(i, j)]
            return []
        # ties: pair names that share the longest end, when that pairing is one to one
        pairs: list[tuple[int, int]] = []
        left_a, left_b = set(group_a), set(group_b)
        parts_a = {i: names_a[i].split("/") for i in group_a}
        parts_b = {j: names_b[j].split("/") for j in group_b}
        depth = max(len(p) for p in (*parts_a.values(), *parts_b.values()))
        for length in range(depth, 0, -1):
            ends: dict[tuple[str, ...], tuple[list[int], list[int]]] = {}
            for i in left_a:
                if len(parts_a[i]) >= length:
                    ends.setdefault(tuple(parts_a[i][-length:]), ([], []))[0].append(i)
            for j in left_b:
                if len(parts_b[j]) >= length:
                    ends.setdefault(tuple(parts_b[j][-length:]), ([], []))[1].append(j)
            for found_a, found_b in ends.values():
                if len(found_a) == 1 and len(found_b) == 1:
                    pairs.append((found_a[0], found_b[0]))
                    left_a.discard(found_a[0])
                    left_b.discard(found_b[0])
            if not left_a or not left_b:
                break
        return pairs

    def _plausible(self, i: int, j: int) -> bool:
        """A lone pair of ops without inputs is a rename unless it is a ``Const`` whose last
        name part differs (small constants repeat everywhere)."""
        a, b = self.a, self.b
        if a.inputs[i] or a.controls[i] or a.ops[i] != "Const":
            return True
        return _leaf(a.names[i]) == _leaf(b.names[j])

    # -- by scope rewrite --------------------------------------------------------------------
    def _pair_by_rewrite(self) -> tuple[list[int], list[int]]:
        """Apply the scope rewrites that two or more structural pairs agree on; when there is
        none left to apply, the rewrites the leftover names agree on (:meth:`_name_rewrites`)."""
        rewrites = _outermost(
            (rewrite, count)
            for rewrite, count in self.support.most_common()
            if count >= 2 and rewrite not in self.applied_rewrites
        )
        ready = self._apply(rewrites)
        if ready[0] or ready[1] or rewrites:
            return ready
        return self._apply(self._name_rewrites())

    def _apply(self, rewrites: dict[str, str]) -> tuple[list[int], list[int]]:
        self.new_ready = {id(self.a): [], id(self.b): []}
        if not rewrites:
            return [], []
        self.applied_rewrites.update(rewrites.items())
        a, b = self.a, self.b
        for i in list(self.pending[id(a)]):
            name = a.names[i]
            for old, new in _prefix_rewrites(name, rewrites):
                j = b.index.get(new + name[len(old) :])
                if j is not None and b.names[j] not in self.b2a:
                    self._pair(i, j)
                    break
        # ops ready before that found no partner cannot find one now: a partner of theirs
        # would have the same (paired) inputs, so it would have been ready with them
        ready_a = [i for i in self.new_ready[id(a)] if i in self.pending[id(a)]]
        ready_b = [j for j in self.new_ready[id(b)] if j in self.pending[id(b)]]
        return ready_a, ready_b

    def _name_rewrites(self) -> dict[str, str]:
        """Scope rewrites the names of the ops left agree on, when structure cannot tell (a
        small scope renamed and edited): two or more leftover ops of the same type whose
        names differ by the same rewrite, whose old scope no op of ``b`` is in any more and
        whose new scope no op of ``a`` was in."""
        a, b = self.a, self.b
        left_a, left_b = list(self.pending[id(a)]), list(self.pending[id(b)])
        if not left_a or not left_b:
            return {}
        by_leaf: dict[str, list[int]] = {}
        for j in left_b:
            by_leaf.setdefault(b.names[j].rpartition("/")[2], []).append(j)
        support: Counter = Counter()
        for i in left_a:
            name = a.names[i]
            options = by_leaf.get(name.rpartition("/")[2], ())
            if len(options) > _MAX_NAME_OPTIONS:
                continue
            for j in options:
                if a.ops[i] == b.ops[j]:
                    rewrite = rewrite_of(name, b.names[j])
                    if rewrite[0] != name:
                        support[rewrite] += 1
        scopes_a, scopes_b = _scopes(a.names), _scopes(b.names)
        return _outermost(
            ((old, new), count)
            for (old, new), count in support.most_common()
            if count >= 2
            and old not in scopes_b
            and new not in scopes_a
            and (old, new) not in self.applied_rewrites
        )

    def renames(self) -> list[tuple[str, str, int]]:
        """``(old_scope, new_scope, ops)`` for every rewrite that explains a renamed pair."""
        known = self._rewrites
        counts = Counter(
            known[b] if b in known else rewrite_of(a, b) for a, b in self.a2b.items() if a != b
        )
        return [(old, new, n) for (old, new), n in sorted(counts.items(), key=lambda x: -x[1])]


def _leaf(name: str) -> str:
    return _TRAILING_NUMBER.sub("", name.rpartition("/")[2])


def rewrite_of(old: str, new: str) -> tuple[str, str]:
    """The scope rewrite that turns name ``old`` into ``new``: both names without the path
    parts they end with in common (``a/b/x`` -> ``a/c/x`` gives ``('a/b', 'a/c')``)."""
    parts_old, parts_new = old.split("/"), new.split("/")
    limit = min(len(parts_old), len(parts_new)) - 1
    common = 0
    while common < limit and parts_old[-1 - common] == parts_new[-1 - common]:
        common += 1
    if common == 0:
        return old, new
    return "/".join(parts_old[:-common]), "/".join(parts_new[:-common])


def _outermost(candidates: Iterable[tuple[tuple[str, str], int]]) -> dict[str, str]:
    """``{old: new}`` from rewrites best supported first, leaving out a rewrite inside the
    old scope of one kept (``a/b -> a/c`` beats a later ``a/b/x -> a/c/y``: the first says
    where ``a/b/x`` went)."""
    kept: dict[str, str] = {}
    for (old, new), _ in candidates:
        if old in kept or any(parent in kept for parent in _parents(old)):
            continue
        kept[old] = new
    return kept


def _parents(name: str) -> Iterable[str]:
    while "/" in name:
        name = name.rpartition("/")[0]
        yield name


def _scopes(names: list[str]) -> set[str]:
    """Every op name and every scope of ``names``."""
    found: set[str] = set()
    for name in names:
        while name and name not in found:
            found.add(name)
            name = name.rpartition("/")[0]
    return found


def _prefix_rewrites(name: str, rewrites: dict[str, str]) -> Iterable[tuple[str, str]]:
    """The rewrites whose old scope ``name`` lies in, innermost first."""
    end = len(name)
    while end > 0:
        prefix = name[:end]
        if prefix in rewrites and (end == len(name) or name[end] == "/"):
            yield prefix, rewrites[prefix]
        end = name.rfind("/", 0, end)
