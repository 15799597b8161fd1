"""A graph made into a picture, as plain data (no widget code).

- ``hierarchy``: scopes collapsed and expanded: what is visible, bundled edges, search
- ``layout``: :class:`LayoutParams` and the layered layout of what is visible
- ``palette``: colours by op type, device or role, light and dark
- ``svg``: a static SVG of a layout
"""

from __future__ import annotations

from .hierarchy import Hierarchy
from .layout import LayoutParams, layout

__all__ = ["Hierarchy", "LayoutParams", "layout"]
