"""Crowded scopes shown in groups: the children of a scope with more than ``max_children``
direct children become series (``Add_[0-4999]``, ``tower_[0-7]/``), then chunks in graph
order (``ops 1–200``), chunks of chunks when needed. A mixin of
:class:`~tfexplore.scene.hierarchy.Hierarchy` (it reads the hierarchy's arrays); see that
module's docstring for what groups are.
"""

from __future__ import annotations

import re

import numpy as np

from ..graph.protos import gc_paused as _gc_paused
from .visible import Entry, Group

__all__ = ["MAX_CHILDREN", "SERIES_MIN", "GroupingMixin"]

#: a scope with more direct children than this shows them in groups (series, then chunks)
MAX_CHILDREN = 200
#: the fewest like-named siblings that make a series group (TensorBoard's ``seriesNodeMinSize``)
SERIES_MIN = 5
_SERIES_SPLIT = re.compile(r"^(.+?)(?:_(\d+))?$", re.MULTILINE)  # "Add_12" -> ("Add", "12")


class GroupingMixin:
    """The grouping half of :class:`~tfexplore.scene.hierarchy.Hierarchy`."""

    def _entries(self, container: str) -> list[Entry]:
        """The children of a scope or group, grouped when the scope has too many."""
        group = self._groups.get(container)
        if group is not None:
            return group.entries
        i = self._scope(container)
        if i not in self._arranged:
            scopes, j = [], i + 1
            while j < self.scope_end[i]:
                scopes.append(("scope", j))
                j = int(self.scope_end[j])
            first, stop = int(self.scope_op_start[i]), int(self.scope_op_start[i + 1])
            if len(scopes) + stop - first <= self.max_children:
                entries: list[Entry] = scopes + [("op", k) for k in range(first, stop)]
            else:
                with _gc_paused():
                    entries = self._crowded(scopes, first, stop, container)
            self._arranged[i] = entries
        return self._arranged[i]

    def _crowded(self, scopes: list[Entry], first: int, stop: int, container: str) -> list[Entry]:
        """The children of a scope with too many: series groups; then, when still too many,
        chunks of the remaining single ops (labelled by their positions among the scope's
        ops, in graph order) next to the scopes and series; or chunks of everything."""
        entries = self._series(scopes, first, stop, container)
        if len(entries) <= self.max_children:
            return entries
        kept = [e for e in entries if e[0] != "op"]
        singles = [e for e in entries if e[0] == "op"]
        size = self.max_children
        while -(-len(singles) // size) > self.max_children:
            size *= self.max_children
        if len(kept) + -(-len(singles) // size) > self.max_children:
            return self._chunk(entries, container, 0)
        chunks = self._chunk(singles, container, 0, positions=first, force=True)
        return kept + chunks

    def _series(self, scopes: list[Entry], first: int, stop: int, container: str) -> list[Entry]:
        """Like-named siblings of one kind (``Add``, ``Add_1``, ...: ops of one type; or
        scopes) become one series group, placed where its first member was."""
        entries: list[Entry] = scopes + [("op", k) for k in range(first, stop)]
        names = [self.scope_names[j] for _, j in scopes] + self.op_names[first:stop]
        kinds = ["/"] * len(scopes) + self.op_types[first:stop]
        # (prefix, number) of every last name part, by one regex over all of them at once
        lasts = "\n".join(name.rpartition("/")[2] for name in names)
        split = _SERIES_SPLIT.findall(lasts)
        if len(split) != len(names):  # a damaged graph (an empty or multi-line name): one by one
            lasts_list = [name.rpartition("/")[2] for name in names]
            split = [
                (m[1], m[2] or "") if (m := _SERIES_SPLIT.fullmatch(x)) else (x, "")
                for x in lasts_list
            ]
        numbers = [int(number) if number else 0 for _, number in split]
        keyed: dict[str, list[int]] = {}
        for position, key in enumerate([f"{p}\x00{k}" for (p, _), k in zip(split, kinds)]):
            keyed.setdefault(key, []).append(position)
        replace: dict[int, Entry] = {}
        grouped = np.zeros(len(entries), dtype=bool)
        taken: set[str] = set()
        for key, members in keyed.items():
            if len(members) < SERIES_MIN:
                continue
            prefix, kind = key.split("\x00")
            members.sort(key=numbers.__getitem__)  # by number: Add_2 before Add_10
            member_numbers = [numbers[p] for p in members]
            if len(set(member_numbers)) < len(members):
                continue
            label = f"{prefix}_[{member_numbers[0]}-{member_numbers[-1]}]"
            if label in taken:
                label += " (scopes)" if kind == "/" else f" ({kind})"
            taken.add(label)
            name = f"{container}/{label}" if container else label
            inner = [entries[p] for p in members]
            op_type = "" if kind == "/" else kind
            group = self._add_group(name, label, "series", container, inner, op_type)
            if len(inner) > self.max_children:  # chunks named by number: Add_[0-199], ...
                group.entries[:] = self._chunk(inner, name, 0, (prefix, member_numbers))
                self._adopt(group)
            replace[min(members)] = ("group", name)
            grouped[members] = True
        return [
            replace.get(p, entry)
            for p, entry in enumerate(entries)
            if p in replace or not grouped[p]
        ]

    def _chunk(
        self,
        entries: list[Entry],
        container: str,
        offset: int,
        series: tuple[str, list[int]] | None = None,
        positions: int | None = None,
        force: bool = False,
    ) -> list[Entry]:
        """Too many entries: consecutive chunks of ``max_children`` (chunks of chunks when
        even those are too many), labelled by the op positions they cover (in a series: by
        the numbers of their members, ``Add_[200-399]``; for single ops of a scope whose
        first op is ``positions``: by their positions among its ops)."""
        if len(entries) <= self.max_children and not force:
            return entries
        size = self.max_children
        while -(-len(entries) // size) > self.max_children:
            size *= self.max_children
        counts = np.cumsum([0] + [self._entry_op_count(e) for e in entries])
        result: list[Entry] = []
        for start in range(0, len(entries), size):
            piece = entries[start : start + size]
            first_op = offset + int(counts[start])
            stop_op = offset + int(counts[min(start + size, len(entries))])
            if series is not None:
                numbers = series[1][start : start + size]
                label = f"{series[0]}_[{numbers[0]}-{numbers[-1]}]"
                inner = (series[0], numbers)
            elif positions is not None:
                low, high = piece[0][1] - positions + 1, piece[-1][1] - positions + 1
                label, inner = _range_label(low, high), None
            else:
                label, inner = _range_label(first_op + 1, stop_op), None
            name = f"{container}/{label}" if container else label
            group = self._add_group(name, label, "chunk", container, piece, "")
            if len(piece) > self.max_children:
                group.entries[:] = self._chunk(piece, name, first_op, inner, positions)
                self._adopt(group)
            result.append(("group", name))
        return result

    def _entry_op_count(self, entry: Entry) -> int:
        kind, ref = entry
        if kind == "op":
            return 1
        if kind == "scope":
            return int(self.scope_op_count[ref])
        return self._groups[ref].op_count

    def _add_group(self, name, label, kind, parent, entries, op_type) -> Group:
        singles = np.array([ref for k, ref in entries if k == "op"], dtype=np.int64)
        parts = [singles]
        for entry_kind, ref in entries:
            if entry_kind == "scope":
                start, stop = self.scope_op_start[ref], self.scope_op_start[self.scope_end[ref]]
                parts.append(np.arange(start, stop))
            elif entry_kind == "group":
                parts.append(self._groups[ref].ops)
        ops = np.sort(np.concatenate(parts)) if len(parts) > 1 else singles
        group = Group(name, label, kind, parent, list(entries), ops, op_type)
        self._groups[name] = group
        self._group_number[name] = len(self._group_list)
        self._group_list.append(group)
        self._adopt(group, singles)
        return group

    def _adopt(self, group: Group, singles: np.ndarray | None = None) -> None:
        """Record ``group`` as the innermost group of its entries."""
        if singles is None:
            singles = np.array([ref for k, ref in group.entries if k == "op"], dtype=np.int64)
        self._op_group[singles] = self._group_number[group.name]
        for entry in group.entries:
            if entry[0] != "op":
                self._entry_group[entry] = group.name

    def _group_of(self, entry: Entry) -> str | None:
        """The innermost group holding a scope, op or group entry, or ``None``."""
        if entry[0] == "op":
            g = int(self._op_group[entry[1]])
            return self._group_list[g].name if g >= 0 else None
        return self._entry_group.get(entry)


def _range_label(low: int, high: int) -> str:
    """``ops 1–200``; ``op 7`` for one."""
    return f"op {low:,}" if low == high else f"ops {low:,}–{high:,}"
