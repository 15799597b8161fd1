"""Small pieces the live panels share: error and status HTML, PNG embedding, and the static
``text/html`` fallback a saved notebook shows without a kernel."""

from __future__ import annotations

import base64
import html
from typing import Any

__all__ = ["error_html", "status_html", "png_img", "with_html_fallback", "STYLE"]

#: Compact styling for the panels' HTML (tables, code, errors).
STYLE = (
    "<style>.tfx-table td,.tfx-table th,.tfx-report td,.tfx-report th"
    "{padding:1px 6px;text-align:left;white-space:nowrap}"
    ".tfx-code{font-size:11px;padding:6px;overflow:auto;"
    "background:var(--jp-layout-color2,#f6f8fa);color:var(--jp-ui-font-color1,#1f2328)}"
    # status lines: the theme's secondary text colour (readable on light and dark pages)
    ".tfx-status{color:var(--jp-ui-font-color2,#57606a)}"
    # ipywidgets draws inactive tab titles in a grey that measures 4.4:1 on the light theme
    ".tfx-explore .lm-TabBar-tab,.tfx-explore .lm-TabBar-tabLabel"
    "{color:var(--jp-ui-font-color0,#111) !important}</style>"
)


def error_html(exc: BaseException) -> str:
    """One of our errors as a red box (its message keeps the expected/hint lines)."""
    return (
        "<pre class='tfx-error' style='color:#b42318;background:#fef3f2;white-space:pre-wrap;"
        f"padding:6px;margin:2px 0'>{html.escape(type(exc).__name__)}: "
        f"{html.escape(str(exc))}</pre>"
    )


def status_html(text: str) -> str:
    """A one-line grey status message."""
    return f"<span class='tfx-status'>{html.escape(text)}</span>"


def png_img(png: bytes, alt: str = "plot") -> str:
    """PNG bytes as an inline ``<img>`` (for static fallbacks)."""
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'/>"


def with_html_fallback(bundle: Any, fallback: str) -> Any:
    """Add ``text/html`` to a widget's mime bundle: what a notebook saved without widget
    state shows next to the (then dead) widget view."""
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    if data is not None:
        data["text/html"] = fallback
    return bundle
