"""The base every opened artifact shares: a kind, a summary, text and HTML reprs, ``explain()``."""

from __future__ import annotations

import functools
import html
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .._files import human_bytes
from .._fs import RemotePath, as_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Artifact", "Explanation", "human_bytes", "itemsize", "safe_markdown", "size_and_bytes"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE_CELL = re.compile(r"(?<!\\)\|")


class Explanation(str):
    """Prose returned by ``explain()``: a plain ``str`` that Jupyter renders as Markdown.

    Names in it come from files (node names, op types, layer names): the text is passed
    through :func:`safe_markdown` when made, so no name can become HTML where it is rendered
    (Jupyter's Markdown passes raw HTML through)."""

    def __new__(cls, text: str = "") -> Explanation:
        return super().__new__(cls, safe_markdown(str(text)))

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return str(self)


class Artifact:
    """What :func:`tfexplore.open` returns. Subclasses set ``kind`` and fill ``summary()``.

    Every artifact has:

    - ``kind``: one of ``checkpoint_dir``, ``checkpoint``, ``meta_graph``, ``saved_model``,
      ``keras``, ``graph_def``;
    - ``path``: what was opened;
    - ``summary()``: the key facts as an ordered ``dict`` (what the reprs show);
    - ``files``: a DataFrame of the files it is made of, with their role and size;
    - ``explain()``: prose that teaches what it is made of and what a restore will need.
    """

    kind: ClassVar[str] = ""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path: Path | RemotePath = as_path(path)  # a URL stays a URL (never Path(url))

    # -- to override -------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Key facts, in display order."""
        return {"kind": self.kind, "path": str(self.path)}

    def explain(self) -> Explanation:
        """Plain prose about this artifact (Markdown)."""
        return Explanation(f"`{self.path}` is a {self.kind}.")

    def _file_rows(self) -> list[tuple[Path, str]]:
        """(file, role) pairs for ``files``."""
        return [(self.path, self.kind)] if self.path.is_file() else []

    # -- shared ------------------------------------------------------------------------
    @property
    def files(self) -> pd.DataFrame:
        """The files this artifact is made of: ``path``, ``role``, ``size`` (bytes), ``exists``."""
        import pandas as pd

        rows = []
        for file, role in self._file_rows():
            exists = file.exists()
            rows.append(
                {
                    "path": str(file),
                    "role": role,
                    "size": file.stat().st_size if exists and file.is_file() else 0,
                    "exists": exists,
                }
            )
        return pd.DataFrame(rows, columns=["path", "role", "size", "exists"])

    def __repr__(self) -> str:
        facts = self.summary()
        title = f"<tfexplore {type(self).__name__} ({self.kind})>"
        width = max((len(k) for k in facts), default=0)
        lines = [title] + [f"  {k.ljust(width)}  {_short(v)}" for k, v in facts.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        facts = self.summary()
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(_short(v))}</td></tr>"
            for k, v in facts.items()
        )
        return (
            f"<div class='tfexplore-artifact'><strong>{html.escape(type(self).__name__)}</strong>"
            f" <code>{html.escape(self.kind)}</code><table>{rows}</table></div>"
        )


def _short(value: Any, limit: int = 100) -> str:
    if isinstance(value, (list, tuple)) and len(value) > 6:
        value = f"{list(value[:6])[:-1]} ... ({len(value)} in all)"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_markdown(text: str) -> str:
    """``text`` with every ``<`` that a Markdown renderer would read as the start of raw HTML
    written as ``&lt;`` (which renders as ``<``): outside code spans and fenced code blocks,
    where CommonMark reads HTML; and, in table rows, with cells split at ``|`` first, as GFM
    does, so that a name holding a ``|`` cannot close a code span early. Code spans and fenced
    blocks are kept as they are (renderers escape their content).

    Example::

        >>> safe_markdown('node `a<b>` and <img src=x onerror="alert(1)">')
        'node `a<b>` and &lt;img src=x onerror="alert(1)">'
    """
    if "<" not in text:
        return text
    lines, fence = [], None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                if not line.strip().strip(fence[0]):
                    fence = None
            lines.append(line)
            continue
        if opened and not (opened.group(1)[0] == "`" and "`" in line[opened.end() :]):
            fence = opened.group(1)
            lines.append(line)
            continue
        if line.lstrip().startswith("|"):
            lines.append("|".join(_escape_inline(cell) for cell in _TABLE_CELL.split(line)))
        else:
            lines.append(_escape_inline(line))
    return "\n".join(lines)


def _escape_inline(text: str) -> str:
    """``<`` as ``&lt;`` outside the code spans of one line (a backtick run closes only at a
    run of the same length; a backslash escapes the next character, as in CommonMark)."""
    out, i, n = [], 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n:
            out.append(text[i : i + 2])
            i += 2
            continue
        if char == "`":
            j = i
            while j < n and text[j] == "`":
                j += 1
            run = j - i
            close = j
            while True:
                close = text.find("`" * run, close)
                if close < 0:
                    break
                end = close + run
                if (end >= n or text[end] != "`") and text[close - 1] != "`":
                    break
                while end < n and text[end] == "`":
                    end += 1
                close = end
            if close >= 0:
                out.append(text[i : close + run])
                i = close + run
                continue
            out.append(text[i:j])
            i = j
            continue
        out.append("&lt;" if char == "<" else char)
        i += 1
    return "".join(out)


def size_and_bytes(dtype: str | None, shape) -> tuple[int | None, int | None]:
    """Elements and bytes of a tensor of ``dtype`` and ``shape``; ``None`` for what is not
    known (an unknown dimension, a dtype without a fixed size)."""
    if shape is None or any(d is None or d < 0 for d in shape):
        return None, None
    size = 1
    for d in shape:
        size *= d
    if dtype is None:
        return size, None
    return size, size * itemsize(dtype) if itemsize(dtype) else None


@functools.cache
def itemsize(dtype: str) -> int | None:
    """Bytes per element of a dtype name (``None`` for strings, resources, variants)."""
    from .._tf import tf

    if dtype in ("string", "resource", "variant"):
        return None
    try:
        return tf().dtypes.as_dtype(dtype).size
    except (TypeError, ValueError):
        return None
