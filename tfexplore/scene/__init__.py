"""A graph made into a picture, as plain data (no widget code).

- ``hierarchy``: :class:`Hierarchy`: the scope tree, what is visible, bundled edges, search
- ``groups``: crowded scopes shown as series and chunks (a mixin of ``Hierarchy``)
- ``visible``: what is on screen as plain data: items, bundled edges, groups
- ``roles``: what an op is for (placeholder, gradient, optimizer, variable, ...)
- ``layout``: the compound layout of what is visible: scopes bottom-up, edges routed
- ``params``: :class:`LayoutParams`, the layout's one set of parameters
- ``boxes``: the layout's result (boxes, edge paths) and the texts drawn on it
- ``ranks``: one layered layout: ranks, order, x and y
- ``chains``: long single-in/single-out chains folded into side-by-side columns
- ``bands``: a tall top level cut into bands drawn side by side
- ``palette``: colours by op type, device or role, light and dark
- ``svg``: a static SVG of a layout
"""

from __future__ import annotations

from .hierarchy import Hierarchy
from .layout import LayoutParams, layout

__all__ = ["Hierarchy", "LayoutParams", "layout"]
