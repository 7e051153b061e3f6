"""The one exception the hydraulic solver raises."""

from __future__ import annotations


class HydraulicError(ValueError):
    """The network could not be solved; the message names the element and the reason."""
