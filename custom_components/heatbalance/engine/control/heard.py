"""Which inlets the controller has heard from: the state behind silent meters (issue 9).

A meter that never read is not a meter that was lost: the first is planned open-loop from
the model (its valve answers, or at a cold start), the second held at its estimate and then
where it stood (``Controller._open_loop``). A valve that never read back its position is
assumed, however often it was commanded (``Controller._unknown_move``); one heard from
neither for ``MAX_ESTIMATE_AGE`` cycles is a dead device. All three facts are kept here, one
structure, and survive a restart (:meth:`Heard.to_dict`): before, after a Home Assistant
restart every inlet was "never read" for its first cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Heard:
    """What was ever heard from each inlet, and how long each valve has been silent."""

    flow: set[str] = field(default_factory=set)  # inlets whose flow was read at least once
    position: set[str] = field(default_factory=set)  # valves whose position was read back
    silent: dict[str, int] = field(default_factory=dict)  # cycles in a row without either

    def read(self, fresh: Iterable[str]) -> None:
        """This cycle's inlets with a flow reading."""
        self.flow.update(fresh)

    def count_silent(self, valves: Iterable[str], heard_now: Callable[[str], bool]) -> None:
        """Per valve, one more silent cycle, or none when its flow or position came."""
        for iid in valves:
            if heard_now(iid):
                self.silent.pop(iid, None)
            else:
                self.silent[iid] = self.silent.get(iid, 0) + 1

    def forget(self, iid: str) -> None:
        """The inlet's devices were replaced (a source re-mapped): nothing heard from them."""
        self.flow.discard(iid)
        self.position.discard(iid)
        self.silent.pop(iid, None)

    def to_dict(self, inlets: Collection[str], valves: Collection[str]) -> dict[str, Any]:
        """JSON-ready: the inlets *not* heard from (on a running plant a handful of
        23,000), and the silent runs."""
        return {
            "unread": sorted(i for i in inlets if i not in self.flow),
            "blind": sorted(i for i in valves if i not in self.position),
            "silent": dict(self.silent),
        }

    @classmethod
    def from_dict(cls, data: Any, inlets: Collection[str], valves: Collection[str]) -> Heard:
        """Read back :meth:`to_dict` for a network with these ``inlets`` and ``valves``;
        a missing or damaged part means nothing heard yet (as on a first start)."""
        if not isinstance(data, Mapping):
            return cls()
        unread, blind, silent = data.get("unread"), data.get("blind"), data.get("silent")
        out = cls()
        # a set once: ``valves`` is the controller's id list, and a day-old gen23k Store
        # names 2,366 silent valves, each looked up in 23,870 ids (0.43 s CPU of the restart)
        valve_set = set(valves)
        if isinstance(unread, list):
            out.flow = set(inlets).difference(unread)
        if isinstance(blind, list):
            out.position = valve_set.difference(blind)
        if isinstance(silent, Mapping):
            out.silent = {
                str(k): int(v)
                for k, v in silent.items()
                if k in valve_set and isinstance(v, int) and not isinstance(v, bool) and v > 0
            }
        return out
