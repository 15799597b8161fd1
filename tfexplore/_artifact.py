"""The base every opened artifact shares: a kind, a summary, text and HTML reprs, ``explain()``."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["Artifact", "Explanation", "human_bytes"]


class Explanation(str):
    """Prose returned by ``explain()``: a plain ``str`` that Jupyter renders as Markdown."""

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
        self.path = Path(path)

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
    def files(self):
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


def human_bytes(size: float) -> str:
    """``1536`` -> ``'1.5 KB'``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
