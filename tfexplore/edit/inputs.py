"""The arguments of a checkpoint rewrite, checked before a plan is made or changed: the rules
of ``rewrite()`` (``rename=``, ``prefix=``, ``scope=``, ``regex=`` with its replacements,
``drop=``), the searches of ``plan.drop`` and ``plan.init_missing``, the values of
``plan.set``, and what is not a checkpoint. Each wrong one is a :class:`RewriteError` that
names what was received, what is expected and what to try; nothing is written and the plan
stays as it was."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..errors import RewriteError
from ..graph.query import parse_query


def rename_rule(rename: Any) -> Any:
    """``rename=``: a dict of names (checked now) or a function of a name."""
    if not (isinstance(rename, Mapping) or callable(rename)):
        raise RewriteError(
            f"rename= takes a dict of names or a function of a name; received {received(rename)}.",
            expected="{'old/W': 'new/W', 'old/b': None} (None drops), or a function "
            "returning the new name (or None)",
            hint="rewrite(rename={'old/W': 'new/W'}) or rewrite(rename=lambda n: n.lower())",
        )
    return checked_rename(rename, "rename=")


def regex_rules(regex: Any) -> list[tuple[re.Pattern, Any]]:
    """``regex=`` as ``(compiled pattern, replacement)`` pairs, each pattern compiled and each
    replacement checked against it (a group it does not have, a trailing backslash) before a
    row is made."""
    rules = []
    for pattern, replacement in _regex_pairs(regex):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise RewriteError(
                f"The regex {pattern!r} does not compile: {exc}.",
                hint="regex={r'^bert/': ''} (a Python regular expression)",
            ) from exc
        if isinstance(replacement, str):
            try:  # the template (its group references) is checked against the pattern
                compiled.sub(replacement, "")
            except (re.error, IndexError) as exc:
                raise RewriteError(
                    f"The replacement {replacement!r} of the regex {compiled.pattern!r} is not "
                    f"valid for it: {exc}.",
                    expected=f"text, with \\1 .. \\{compiled.groups} for the pattern's groups"
                    if compiled.groups
                    else "text (the pattern has no groups for \\1 or \\g<name> to refer to)",
                    hint="regex={r'^layer(\\d)/': r'block\\1/'} (a raw string keeps each "
                    "backslash; a literal backslash is written \\\\)",
                ) from exc
        rules.append((compiled, replacement))
    return rules


def received(value: Any) -> str:
    """What a user passed, for a message: its repr (cut short) and its type."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (type {type(value).__name__})"


def string_pairs(value: Any, name: str, example: str) -> list[tuple[str, str]]:
    """The ``{old: new}`` of ``prefix=`` or ``scope=``, each a string (``""`` strips)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise RewriteError(
            f"{name}= takes a dict of old to new name parts; received {received(value)}.",
            expected=f"{{old: new}}, both strings, e.g. {example}",
            hint=f"rewrite({name}={example}) (an empty new part strips the old one)",
        )
    for old, new in value.items():
        if not isinstance(old, str) or not isinstance(new, str):
            raise RewriteError(
                f"{name}= maps {old!r} to {new!r}; both must be strings.",
                expected=f"{{old: new}}, both strings, e.g. {example}",
                hint=f"use '' (not None) to strip a {name}: rewrite({name}={{'bert/': ''}}); "
                "to drop tensors use drop=",
            )
    return list(value.items())


def _regex_pairs(regex: Any) -> list[tuple[Any, Any]]:
    """The ``(pattern, replacement)`` pairs of ``regex=``: a dict or pairs; a pattern is a
    string (or a compiled pattern), a replacement a string (or a function of the match)."""
    if regex is None:
        return []
    example = "{r'^bert/(.*)': r'encoder/\\1'}"
    wrong = RewriteError(
        f"regex= takes a dict of pattern to replacement (or a list of such pairs); received "
        f"{received(regex)}.",
        expected=f"{{pattern: replacement}}, both strings, e.g. {example}",
        hint=f"rewrite(regex={example}); to drop by a regex use drop='re:PATTERN'",
    )
    if isinstance(regex, Mapping):
        pairs = list(regex.items())
    elif isinstance(regex, (str, bytes)) or not isinstance(regex, Iterable):
        raise wrong
    else:
        pairs = list(regex)
        if not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
            raise wrong
    for pattern, replacement in pairs:
        if not isinstance(pattern, (str, re.Pattern)) or not (
            isinstance(replacement, str) or callable(replacement)
        ):
            raise RewriteError(
                f"regex= maps {pattern!r} to {replacement!r}; the pattern and its replacement "
                "must be strings.",
                expected=f"{{pattern: replacement}}, both strings, e.g. {example}",
                hint="use '' (not None) to delete what the pattern matches; to drop tensors "
                "use drop='re:PATTERN'",
            )
    return pairs


def checked_rename(rule: Any, what: str) -> Any:
    """A rename dict whose keys are names and values new names (or None to drop), checked
    before any row is made; a function is checked on each name it renames."""
    if isinstance(rule, Mapping):
        for old, new in rule.items():
            if not isinstance(old, str):
                raise RewriteError(
                    f"{what} renames {old!r} (a {type(old).__name__}); its keys must be the "
                    "source's names, as strings.",
                    expected="{'old/W': 'new/W', 'old/b': None}",
                    hint="rewrite(rename={'old/W': 'new/W'}): keys as in ckpt.variables['name']",
                )
            checked_name(new, old, "the dict")
    return rule


def drop_queries(drop: Any) -> list[Any]:
    """``drop=``: one search or a list of them."""
    if drop is None:
        return []
    if isinstance(drop, (str, re.Pattern)):
        return [drop]
    if isinstance(drop, Iterable) and not isinstance(drop, (bytes, Mapping)):
        queries = list(drop)
        if all(isinstance(q, (str, re.Pattern)) for q in queries):
            return queries
    raise RewriteError(
        f"drop= takes a search or a list of searches; received {received(drop)}.",
        expected="words, globs or re:PATTERN, as in tfexplore's search: 'Adam', '*/bias', "
        "'re:^cls/'",
        hint="rewrite(drop='Adam') or rewrite(drop=['Adam', 're:^cls/'])",
    )


def parsed_query(query: Any, said_as: str):
    """tfexplore's search ``query`` parsed, or a RewriteError that says where it came from."""
    if not isinstance(query, (str, re.Pattern)):
        raise RewriteError(
            f"{said_as} takes a search (a string); received {received(query)}.",
            expected="words, globs or re:PATTERN: 'Adam', '*/bias', 're:^cls/'",
            hint="plan.drop('Adam') or rewrite(drop='re:^cls/')",
        )
    try:
        return parse_query(query)
    except re.error as exc:
        raise RewriteError(
            f"The search {query!r} given to {said_as} holds a regex that does not compile: {exc}.",
            expected="re: followed by a Python regular expression, e.g. 're:^cls/(W|b)$'",
            hint="escape special characters with a backslash ('re:\\[0\\]'), or search "
            "with words or globs ('Adam', '*/bias')",
        ) from exc


#: the kinds of artifact that are not checkpoints, as a person names them
_KIND_NAMES = {
    "keras": "a Keras file",
    "saved_model": "a SavedModel",
    "meta_graph": "a MetaGraph (.meta)",
    "graph_def": "a frozen GraphDef",
    "keras_run": "a Keras training run folder",
}


def not_a_checkpoint(artifact) -> RewriteError:
    """Why ``artifact`` (opened, not a checkpoint) cannot be rewritten, without its repr."""
    kind = getattr(artifact, "kind", type(artifact).__name__)
    path = getattr(artifact, "path", artifact)
    hints = {
        "keras": "load it (keras.models.load_model) and pass the model as to= when "
        "rewriting the checkpoint it should take weights from: ckpt.rewrite(to=model)",
        "saved_model": "its variables are a checkpoint: "
        f"tfexplore.rewrite('{path}/variables/variables')",
        "meta_graph": "rewrite the checkpoint beside it (its prefix, without .meta), or pass "
        "the .meta as to= to fit a checkpoint to its graph",
    }
    return RewriteError(
        f"Only checkpoints can be rewritten; {path} is "
        f"{_KIND_NAMES.get(kind, 'a ' + str(kind))} (kind {kind!r}).",
        path=path if isinstance(path, (str, os.PathLike)) else None,
        expected="a checkpoint prefix, its folder, or a tfexplore Checkpoint",
        hint=hints.get(kind, "open a checkpoint: tfexplore.rewrite('run/model.ckpt-100')"),
    )


_DTYPE_HINT = "to_dtype='float16' (a numpy dtype name, or 'bfloat16')"


def checked_field(column: str, value: Any) -> Any:
    """A value for ``plan.set(column=value)``, checked (and made a plain Python value)
    before the row changes: the checks and the writer must be able to read it."""
    if value is None:
        return None
    if column == "target":
        if isinstance(value, str) and value.strip():
            return value
        raise RewriteError(
            f"target must be a tensor name; received {received(value)}.",
            expected="a non-empty string ('a|b' for a split's targets)",
            hint="plan.set(source, target='head/kernel'), or plan.set(source, action='drop')",
        )
    if column == "action":
        return value
    if column == "axis":
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            return int(value)
        raise RewriteError(
            f"axis must be a whole number; received {received(value)}.",
            expected="an int (negative counts from the end), or None for 0",
            hint="plan.set(source, action='split', target='a|b', axis=1)",
        )
    if column in ("perm", "to_shape"):
        ints = _int_sequence(value)
        if ints is None or (column == "to_shape" and any(d < 0 for d in ints)):
            example = "perm=(1, 0)" if column == "perm" else "to_shape=(2, 6)"
            action = "transpose" if column == "perm" else "reshape"
            raise RewriteError(
                f"{column} must be a sequence of whole numbers"
                f"{' (none negative)' if column == 'to_shape' else ''}; received "
                f"{received(value)}.",
                expected="a tuple or list of ints, e.g. (1, 0)"
                if column == "perm"
                else "a tuple or list of non-negative ints, e.g. (2, 6)",
                hint=f"plan.set(source, action='{action}', {example})",
            )
        return ints
    if column == "to_dtype":
        return _dtype_name(value)
    return value


def _int_sequence(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Iterable, np.ndarray)):
        return None
    items = list(value)
    if not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
    ):
        return None
    return tuple(int(v) for v in items)


def _dtype_name(value: Any) -> str:
    """``to_dtype`` as the name the checks and the writer use (``"float16"``), or a
    RewriteError for a dtype neither knows."""
    name = getattr(value, "name", None) if not isinstance(value, str) else value
    if isinstance(value, type) and issubclass(value, np.generic):
        name = np.dtype(value).name
    if isinstance(name, str):
        if name in ("bfloat16", "string"):
            return name
        try:
            dtype = np.dtype(name)
        except TypeError:
            dtype = None
        if dtype is not None and dtype.kind in "biufc":
            return dtype.name
    raise RewriteError(
        f"Unknown to_dtype {received(value)}.",
        expected="a numeric dtype name: float16, float32, float64, bfloat16, int8 .. int64, "
        "uint8 .. uint64, bool, complex64",
        hint=_DTYPE_HINT,
    )


def checked_name(new, old: str, what: str):
    if new is None or (isinstance(new, str) and new):
        return new
    raise RewriteError(
        f"{what} renames {old!r} to {new!r}; a new name must be a non-empty string, or None "
        "to drop the tensor.",
        expected="{'old/W': 'new/W', 'old/b': None}",
        hint="check the values of the mapping (a JSON --map file: strings or null)",
    )
