"""Proposing which checkpoint tensor fills which target tensor, by name similarity, shape and
order, with a confidence for each pair.

Names are compared after removing what every name of a side shares (``bert/`` in Google's
BERT checkpoints, ``model/`` in a TF2 one) and the TF2 ``/.ATTRIBUTES/VARIABLE_VALUE`` suffix.
Only pairs of the same shape and dtype are candidates. A candidate's score mixes the
similarity of the names (0.5: their words in common, their letters in common, the same last
part), whether the numbers in them agree (``layer_3`` with ``layer_3``,
0.2) and how close the two sit in their lists (0.3; checkpoint keys in natural order, a
model's weights in the order it made them). The confidence of a pair is its score, lowered
when another candidate scores almost as well and raised when the shape leaves no other choice.
Exact matches of the trimmed names are taken first, with confidence 1.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_NUMBER = re.compile(r"\d+")
_MAX_PAIRS = 250_000  # pairs per shape bucket compared letter by letter; beyond, words only


class Side(NamedTuple):
    """One tensor to match: its name, shape and dtype."""

    name: str
    shape: tuple
    dtype: str


class Match(NamedTuple):
    source: str
    target: str
    confidence: float
    why: str


def natural_key(name: str) -> list:
    """``"layer_10"`` after ``"layer_2"``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def trimmed(names: Sequence[str]) -> dict[str, str]:
    """Each name without the TF2 value suffix, a ``:0`` and the leading components every
    name shares (lower case)."""
    clean = {}
    for name in names:
        text = name[: -len(VALUE_SUFFIX)] if name.endswith(VALUE_SUFFIX) else name
        text = text[:-2] if text.endswith(":0") else text
        clean[name] = text.lower()
    parts = [text.split("/") for text in clean.values()]
    common = 0
    if len(parts) > 1:
        while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
            common += 1
    return {name: "/".join(text.split("/")[common:]) for name, text in clean.items()}


def propose(
    sources: Sequence[Side],
    targets: Sequence[Side],
    *,
    sources_sorted: bool = True,
    aliases: Mapping[str, str] | None = None,
) -> list[Match]:
    """One-to-one proposals from ``sources`` to ``targets``, best first. ``sources_sorted``:
    the sources are checkpoint keys (put into natural order for the order score).
    ``aliases``: the name to compare for a source, when its key is not its name (a TF2 key
    ``optimizer/_trainable_variables/3/...`` of the variable ``sequential/dense/bias``)."""
    if not sources or not targets:
        return []
    aliases = aliases or {}
    said = {s.name: aliases.get(s.name) or s.name for s in sources}
    source_order = (
        sorted(sources, key=lambda s: natural_key(said[s.name]))
        if sources_sorted
        else list(sources)
    )
    s_rank = {s.name: i / max(len(sources) - 1, 1) for i, s in enumerate(source_order)}
    t_rank = {t.name: i / max(len(targets) - 1, 1) for i, t in enumerate(targets)}
    by_said = trimmed(list(said.values()))
    s_trim = {name: by_said[text] for name, text in said.items()}
    t_trim = trimmed([t.name for t in targets])
    matches: list[Match] = []
    taken_s: set[str] = set()
    taken_t: set[str] = set()
    # exact matches of the trimmed names (same shape and dtype)
    by_trim: dict[tuple, list[Side]] = defaultdict(list)
    for t in targets:
        by_trim[(t_trim[t.name], t.shape, t.dtype)].append(t)
    for s in sources:
        found = by_trim.get((s_trim[s.name], s.shape, s.dtype))
        if found and len(found) == 1 and found[0].name not in taken_t:
            matches.append(Match(s.name, found[0].name, 1.0, "same name"))
            taken_s.add(s.name)
            taken_t.add(found[0].name)
    buckets_s: dict[tuple, list[Side]] = defaultdict(list)
    buckets_t: dict[tuple, list[Side]] = defaultdict(list)
    for s in sources:
        if s.name not in taken_s:
            buckets_s[(s.shape, s.dtype)].append(s)
    for t in targets:
        if t.name not in taken_t:
            buckets_t[(t.shape, t.dtype)].append(t)
    for bucket, left in buckets_s.items():
        right = buckets_t.get(bucket, [])
        if not right:
            continue
        fast = len(left) * len(right) > _MAX_PAIRS
        scored = []
        for s in left:
            for t in right:
                name = _similarity(s_trim[s.name], t_trim[t.name], fast)
                numbers = _numbers_agree(s_trim[s.name], t_trim[t.name])
                order = 1.0 - abs(s_rank[s.name] - t_rank[t.name])
                score = 0.5 * name + 0.2 * numbers + 0.3 * order
                scored.append((score, name, order, s.name, t.name))
        scored.sort(reverse=True)
        best_other: dict[str, list[float]] = defaultdict(list)
        for score, _, _, s_name, _ in scored:
            if len(best_other[s_name]) < 2:
                best_other[s_name].append(score)
        for score, name, order, s_name, t_name in scored:
            if s_name in taken_s or t_name in taken_t:
                continue
            if len(left) == 1 and len(right) == 1:
                confidence = max(score, 0.9)
                why = f"the only tensor of shape {list(bucket[0])}"
            else:
                top = best_other[s_name]
                margin = top[0] - top[1] if len(top) > 1 else 1.0
                confidence = score * (0.6 + 0.4 * min(1.0, margin / 0.1))
                why = f"name {name:.2f}, order {order:.2f}, {len(right)} of this shape"
            matches.append(Match(s_name, t_name, round(min(confidence, 0.99), 3), why))
            taken_s.add(s_name)
            taken_t.add(t_name)
    return matches


def _similarity(a: str, b: str, fast: bool) -> float:
    """How alike two trimmed names are, 0..1: their letter pairs in common (a Dice
    coefficient over character bigrams: ``difflib``'s ratio, a hundred times faster), their
    words in common (all of the shorter name's found; Dice), and the same last part. ``fast``
    (very large buckets): the words alone."""
    if a == b:
        return 1.0
    ta, tb = _tokens(a), _tokens(b)
    common = len(ta & tb)
    if fast:
        return common / max(len(ta | tb), 1)
    ga, gb = _bigrams(a), _bigrams(b)
    letters = 2 * len(ga & gb) / max(len(ga) + len(gb), 1)
    overlap = common / max(min(len(ta), len(tb)), 1)  # the shorter name's words all found
    dice = 2 * common / max(len(ta) + len(tb), 1)
    last_a, last_b = a.rsplit("/", 1)[-1], b.rsplit("/", 1)[-1]
    return 0.3 * letters + 0.25 * overlap + 0.25 * dice + 0.2 * (last_a == last_b)


@functools.lru_cache(maxsize=65536)
def _tokens(name: str) -> frozenset[str]:
    return frozenset(t for t in re.split(r"[/_.\-]+|(?<=[a-z])(?=\d)", name) if t)


@functools.lru_cache(maxsize=65536)
def _bigrams(name: str) -> frozenset[str]:
    return frozenset(name[k : k + 2] for k in range(len(name) - 1))


def _numbers_agree(a: str, b: str) -> float:
    na, nb = _NUMBER.findall(a), _NUMBER.findall(b)
    if not na and not nb:
        return 0.5
    return 1.0 if [int(x) for x in na] == [int(x) for x in nb] else 0.0
