"""The one search syntax of tfexplore: ``Graph.find``, the graph view's search box
(``Hierarchy.search``), the tensor picker (``TensorIndex.search``) and the Variables tab's
filter (``filter_frame``) all read a query with :func:`parse_query`.

A query is terms separated by spaces; a name matches when it matches **every** term. Case
never matters.

========================  ======================================================================
term                      matches
========================  ======================================================================
``adam``                  names holding the word (a substring): ``layer1/W/Adam_1``
``layer*/W``, ``W_?``     a glob (a term with ``*``, ``?`` or ``[``), on the whole name or,
                          when the glob has no ``/``, on its last part: ``dense*`` finds
                          ``model/dense_1``
``op:MatMul``             ops of that type (``op: MatMul`` too); several ``op:`` terms: any
``re:^layer[12]/W$``      a regular expression searched in the name; it runs to the **end of
                          the query** (so it may hold spaces) and so comes last
========================  ======================================================================

An empty query (or one of ``op:`` terms only) matches every name (of those types). A compiled
``re.Pattern`` is accepted wherever a query is and is searched as it is (its own flags).

Examples::

    >>> query = parse_query("layer1 adam")              # every word must appear
    >>> query.matches("layer1/W/Adam_1"), query.matches("layer2/W/Adam_1")
    (True, False)
    >>> parse_query("layer*/W").matches("layer2/W")
    True
    >>> parse_query("op:MatMul").matches("dense/MatMul", "MatMul")
    True
    >>> parse_query("op:VarHandleOp layer1").matches("layer2/W", "VarHandleOp")
    False
    >>> parse_query("dense re:_[0-9]+/kernel$").matches("model/dense_2/kernel")
    True
    >>> [parse_query("w").rank(n)[0] for n in ("w", "a/w", "a/w_1", "a/bw")]
    [0, 1, 2, 3]
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Query", "parse_query", "GLOB_CHARS"]

#: a term holding one of these is a glob
GLOB_CHARS = "*?["
_OP_SPACE = re.compile(r"(?i)(^|(?<=\s))op:\s+")
_REGEX_START = re.compile(r"(?:^|(?<=\s))re:", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    """A parsed query (see the module's docstring): build it with :func:`parse_query`."""

    text: str
    #: plain words, lowercase: each must appear in the name
    words: tuple[str, ...] = ()
    #: globs, lowercase
    globs: tuple[str, ...] = ()
    #: op types, lowercase: the op's type must be one of them (when any)
    op_types: tuple[str, ...] = ()
    #: the ``re:`` pattern (or the compiled pattern given), if any
    regex: re.Pattern | None = None
    _tests: tuple[Callable[[str], bool], ...] = field(default=(), repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """True when no term restricts the names (the op types may still restrict)."""
        return not (self.words or self.globs or self.regex)

    @property
    def needle(self) -> str | None:
        """The first word (what :meth:`rank` ranks by), or ``None``."""
        return self.words[0] if self.words else None

    def matches_type(self, op_type: str | None) -> bool:
        """Whether an op of type ``op_type`` passes the ``op:`` terms."""
        return not self.op_types or (op_type is not None and op_type.lower() in self.op_types)

    def matches_name(self, name: str) -> bool:
        """Whether ``name`` passes every word, glob and the regular expression."""
        return all(test(name) for test in self._tests)

    def matches(self, name: str, op_type: str | None = None) -> bool:
        """Whether the op (or tensor) ``name`` of type ``op_type`` matches every term."""
        return self.matches_type(op_type) and self.matches_name(name)

    def rank(self, name: str) -> tuple[int, int]:
        """Smaller is better: the name is the first word (0), its last part is (1), its last
        part or the name starts with it (2), it is anywhere (3); then shorter names."""
        needle = self.needle
        if needle is None:
            return (0, len(name))
        lowered = name.lower()
        last = lowered.rpartition("/")[2]
        if lowered == needle:
            rank = 0
        elif last == needle:
            rank = 1
        elif last.startswith(needle) or lowered.startswith(needle):
            rank = 2
        else:
            rank = 3
        return (rank, len(name))


def parse_query(query: str | re.Pattern | Query) -> Query:
    """The :class:`Query` a user typed (see the module's docstring for the syntax)."""
    if isinstance(query, Query):
        return query
    if isinstance(query, re.Pattern):
        return Query(text=query.pattern, regex=query, _tests=(_searcher(query),))
    text = query.strip()
    regex = None
    start = _REGEX_START.search(text)
    if start is not None:
        regex = re.compile(text[start.end() :], re.IGNORECASE)
        text = text[: start.start()]
    text_terms = _OP_SPACE.sub("op:", text).split()
    words, globs, op_types = [], [], []
    for term in text_terms:
        lowered = term.lower()
        if lowered.startswith("op:"):
            if len(lowered) > 3:
                op_types.append(lowered[3:])
        elif any(ch in term for ch in GLOB_CHARS):
            globs.append(lowered)
        else:
            words.append(lowered)
    tests = [_contains(word) for word in words] + [_globber(glob) for glob in globs]
    if regex is not None:
        tests.append(_searcher(regex))
    return Query(
        text=query,
        words=tuple(words),
        globs=tuple(globs),
        op_types=tuple(op_types),
        regex=regex,
        _tests=tuple(tests),
    )


def _contains(word: str) -> Callable[[str], bool]:
    return lambda name: word in name.lower()


def _searcher(pattern: re.Pattern) -> Callable[[str], bool]:
    return lambda name: pattern.search(name) is not None


def _globber(glob: str) -> Callable[[str], bool]:
    match_last = "/" not in glob

    def globbed(name: str) -> bool:
        lowered = name.lower()
        return fnmatch.fnmatchcase(lowered, glob) or (
            match_last and fnmatch.fnmatchcase(lowered.rpartition("/")[2], glob)
        )

    return globbed
