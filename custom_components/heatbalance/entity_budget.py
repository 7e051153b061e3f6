"""Which new entities a network enables by default: the integration's budget per entry.

HA 2026 adds at most ``MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY`` (10,000) enabled entities to
one config entry and aborts every further one with a single warning: on a 770-building
network (12,310 entities) whichever platform came last lost its entities, the network's own
status and alarm entities among them. Per-inlet entities are left disabled by default
instead (HA's advice for large installs), the least useful first, so that everything else
fits and an operator can enable them; the network's own give way only where the entities
registered already fill the limit (HA adds those whatever the limit), registered disabled
rather than dropped.

The budget is the integration's own, :data:`ENTITY_BUDGET`, on every HA version: HA 2025.4
has no limit, and with HA's limit alone the same 23,000-household network enabled 13,894
entities there and 10,000 on HA 2026 — what an operator sees must not depend on the HA
version. A lower limit of HA's own (none known) would win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# An inlet's main readings and controls (what the standard's display asks for, §5.3.5-2):
# kept enabled as long as anything else can give way.
MAIN_KEYS = frozenset(
    {
        "alarm",
        "balancing_valve",
        "deviation",
        "flow",
        "heat_energy",
        "heat_power",
        "return_temperature",
        "room_temperature",
        "supply_temperature",
        "valve_position",
    }
)


# Enabled entities per config entry: HA 2026's ``MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY``.
ENTITY_BUDGET = 10_000


def budget(ha_limit: int | None) -> int:
    """The entry's budget of enabled entities, given HA's own limit (``None``: HA 2025.4)."""
    return ENTITY_BUDGET if ha_limit is None else min(ha_limit, ENTITY_BUDGET)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A new per-inlet entity that would be enabled by default."""

    key: str  # its description's key
    household: bool  # a household's (below a building) rather than a building's
    network: bool = False  # the network's own: gives way only when nothing else can


def _tier(c: Candidate) -> int:
    """The order in which entities give way: secondary before main, households' before
    buildings' (a building's readings are what balancing is judged on, §8.2), the
    network's own (status, alarms, pump, §5.3.5) last."""
    if c.network:
        return 4
    return (0 if c.key not in MAIN_KEYS else 2) + (0 if c.household else 1)


def left_disabled(limit: int, fixed: int, candidates: Sequence[Candidate]) -> set[int]:
    """The candidates (by index) to register disabled so that at most ``limit`` are enabled.

    ``fixed`` counts the enabled entities that are not candidates: those already in the
    entity registry, which keep their state (HA counts them, and adds them whatever the
    limit). Within a tier the later candidates (added later: households after buildings, in
    the network's order) give way first. When ``fixed`` alone reaches the limit every
    candidate is left disabled, the network's new ones too: registered disabled, an operator
    can enable them, where HA would not have added them at all.
    """
    excess = fixed + len(candidates) - limit
    if excess <= 0:
        return set()
    order = sorted(range(len(candidates)), key=lambda i: (_tier(candidates[i]), -i))
    return set(order[:excess])
