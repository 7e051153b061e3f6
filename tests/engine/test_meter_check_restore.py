"""The meter check's stored state read back checked (§5.3.8, restore; issue 10: bad stored
data never crashes the coordinator nor poisons the engine).

:meth:`MeterCheck.from_dict` built its series with ``_Series(**raw)`` and ``float``: NaN, ±inf,
1e308 (its square overflowed a later cycle), a negative count (1/0 in ``_Series.sigma``),
text and bools came back, an int beyond a float's range raised an uncaught OverflowError,
and any other damage dropped the whole check — every inlet's learnt pair series. Now every
number is checked (:func:`.registers.optional_number`, ``is_count``, as
:meth:`Register.from_plain`) and a damaged part restarts alone, logged once.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from custom_components.heatbalance.engine import meters
from custom_components.heatbalance.engine.control.controller import Controller
from custom_components.heatbalance.engine.meters import (
    _INLET_FIELDS,
    _INLET_OLD,
    MeterCheck,
    _Inlet,
    _plain_inlet,
    _Series,
)

from .test_control_closed_loop import run
from .test_restore_damaged import _damage, _saved

NAN, INF = float("nan"), float("inf")

# (path inside the stored check, damaged value, the part that restarts)
DAMAGED: list[tuple[tuple[Any, ...], Any, str]] = [
    (("inlets", "B001", "ratio", "values", 0), NAN, "inlets.B001"),
    (("inlets", "B001", "ratio", "values", 1), INF, "inlets.B001"),
    (("inlets", "B001", "ratio", "values", 2), 1e308, "inlets.B001"),  # square overflowed
    (("inlets", "B001", "valve", "values", 0), 10**400, "inlets.B001"),  # OverflowError
    (("inlets", "B001", "valve", "values", 1), True, "inlets.B001"),
    (("inlets", "B001", "valve", "values", 2), "0.01", "inlets.B001"),
    (("inlets", "B001", "ratio", "diffs"), -6, "inlets.B001"),  # 1/0 in _Series.sigma
    (("inlets", "B001", "ratio", "diffs"), 2.5, "inlets.B001"),
    (("inlets", "B001", "ratio", "diff_sq"), "x", "inlets.B001"),
    (("inlets", "B001", "ratio", "extras", 0), -1.0, "inlets.B001"),  # a negative variance
    (("inlets", "B001", "ratio", "quants"), [[0.1, 0.2]], "inlets.B001"),
    (("inlets", "B001", "circuit_gain", 0), NAN, "inlets.B001"),
    (("inlets", "B001", "offsets", 0), 1e308, "inlets.B001"),
    (("inlets", "B001", "flow_m3h"), NAN, "inlets.B001"),
    (("inlets", "B001", "chained"), "yes", "inlets.B001"),
    (("inlets", "B001", "accrual"), [NAN] * 8 + [1, True], "inlets.B001"),
    (("inlets", "B001", "accrual"), [0.0] * 8 + [-1, True], "inlets.B001"),
    (("inlets", "B001", "register"), [0, None, NAN, 9000.0, 0.0], "inlets.B001"),
    (("inlets", "B001", "unknown"), 1.0, "inlets.B001"),
    (("balances", "substation", "values", 0), 1e308, "balances.substation"),
    (("balances", "substation", "diffs"), -1, "balances.substation"),
    (("active", "B002"), ["flow_meter_bias", NAN, 0.0], "active.B002"),
    (("factors", "B002"), 0.0, "factors.B002"),
    (("centres", 0), NAN, "centres"),
    (("cross", 0), -1.0, "cross"),
    (("threshold",), NAN, "threshold/z"),
]


def _stored() -> dict[str, Any]:
    """estate12's meter check after 6 closed-loop cycles, as the Store holds it, with one
    active finding and one flow correction (a fresh run has none yet) to damage."""
    stored: dict[str, Any] = json.loads(_saved("model")[1])["meters"]
    stored["active"] = {iid: ["flow_meter_bias", 0.1, 3600.0] for iid in ("B001", "B002")}
    stored["factors"] = dict.fromkeys(("B001", "B002"), 0.91)
    return stored


def _without(stored: dict[str, Any], part: str) -> dict[str, Any]:
    """What the check keeps when ``part`` restarts: the rest as stored."""
    out = copy.deepcopy(stored)
    name, _, key = part.partition(".")
    if key:
        del out[name][key]
    else:  # a fresh check's
        fresh = MeterCheck(_saved("model")[0]).as_dict()
        for field in ("threshold", "z") if name == "threshold/z" else (name,):
            out[field] = fresh[field]
    return out


def test_an_undamaged_check_restores_whole_without_a_word(
    caplog: pytest.LogCaptureFixture,
) -> None:
    network, _text = _saved("model")
    stored = _stored()
    with caplog.at_level(logging.WARNING):
        check = MeterCheck.from_dict(network, stored)
    assert json.loads(json.dumps(check.as_dict())) == stored
    assert not caplog.records


@pytest.mark.parametrize(("path", "value", "part"), DAMAGED, ids=range(len(DAMAGED)))
def test_a_damaged_part_restarts_alone_logged_once(
    path: tuple[Any, ...], value: Any, part: str, caplog: pytest.LogCaptureFixture
) -> None:
    network, _text = _saved("model")
    stored = _stored()
    damaged = _damage(stored, path, value)
    before = repr(damaged)
    with caplog.at_level(logging.WARNING):
        check = MeterCheck.from_dict(network, damaged)
    assert repr(damaged) == before  # the stored state itself is not changed
    assert json.loads(json.dumps(check.as_dict())) == _without(stored, part)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings  # once
    assert part in warnings[0], warnings


def test_the_next_cycle_runs_on_a_check_restored_from_damage() -> None:
    """Every damaged kind at once: the controller restores its meter check (the rest of the
    check kept) and runs closed-loop cycles — an unchecked 1e308 or diffs −6 crashed one."""
    network, text = _saved("model")
    stored = json.loads(text)
    for path, value, _part in DAMAGED[:-1]:
        if path[0] == "inlets" and path[-1] != "unknown":
            stored["meters"] = _damage(stored["meters"], path, value)
    ctl = Controller.from_dict(network, stored)
    assert set(ctl.meters.inlets) == set(network.inlets) - {"B001"}
    run(network, ctl, 2)
    json.dumps(ctl.as_dict())


def test_the_found_crashes_are_what_the_check_prevents() -> None:
    """Without the check these came back and then crashed a cycle's arithmetic."""
    with pytest.raises(OverflowError):
        _Series(values=[1e308], extras=[0.0]).add(0.01)
    with pytest.raises(ZeroDivisionError):
        _Series(values=[0.01, 0.02], diffs=-6).sigma(1e-4)


def test_every_stored_field_of_an_inlet_is_read_by_a_check() -> None:
    """A field added to :class:`_Inlet` without a check would be dropped at restore."""
    # the supply offsets, the witness series and the circuit gains: stored in the inlet's
    # record, held in the check's tables
    tables = {"offsets", "valve", "model", "circuit", "circuit_gain"}
    assert set(_INLET_FIELDS) == {*_Inlet.__dataclass_fields__, *tables}
    assert not tables & set(_Inlet.__dataclass_fields__)
    assert not _INLET_OLD & set(_INLET_FIELDS)


def test_the_common_form_is_read_at_once_as_field_by_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """:func:`.meters._plain_inlet` (every number of an inlet in one check: a 23,870-inlet
    restart, issue 10 HA start) gives exactly what the field readers give, and leaves every
    other form — quantised, ints, old fields, a damaged number — to them."""
    stored = _stored()["inlets"]
    plain = {iid: _plain_inlet(raw) for iid, raw in stored.items()}
    monkeypatch.setattr(meters, "_plain_inlet", lambda _raw: None)
    by_field = {iid: meters._inlet(raw) for iid, raw in stored.items()}
    assert all(v is not None for v in plain.values())  # the form the check writes
    assert any(p[1] and p[0].ratio.values for p in plain.values() if p is not None)
    assert any(p[0].ratio.quants for p in plain.values() if p is not None)  # quantised too
    assert repr(plain) == repr(by_field)
    raw = stored["B002"]
    others: list[tuple[tuple[Any, ...], Any]] = [
        (("ratio", "quants"), [[0.1, 0.2]] * len(raw["ratio"]["values"])),
        (("ratio", "quants"), [[0.1, 0.2, 1]] * len(raw["ratio"]["values"])),
        (("ratio", "quants"), None),
        (("ratio", "diffs"), True),
        (("valve", "values"), [1, 2]),
        (("offsets",), [1]),
        (("flow_m3h",), 1),
        (("offset_gap",), 0),
        (("pooled",), 0),
        (("learnt",), []),
        (("circuit_gain",), [-1.0]),
        (("offsets",), [NAN]),
        (("time_s",), "0"),
    ]
    for path, value in others:
        assert _plain_inlet(_damage(raw, path, value)) is None, path
