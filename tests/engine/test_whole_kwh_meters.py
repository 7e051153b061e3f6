"""Heat meters whose energy register counts whole kWh, read every 30 s (13l, issue 9 item 4).

A small building's register then moves by 0, 1 or 2 kWh per cycle (estate12 at 30 s: 0.9–6
kWh per cycle), so the heat meter's power over one cycle is off by up to one register step
(±20…110 %). Measured (``/tmp/m13l/kwh.py``, ``bias.py``, ``dead.py``; estate12, 1 % noise):
no false alarm and not one command different from an exact register in 60 cycles; a dead
flow meter is named as with an exact register; but the meter check (meters.py) learns the
pair's noise from the data and is blinded: a +10 % flow meter at B002 (0.9 kWh per cycle)
named at cycle 10 with an exact register, never in 40 with a whole-kWh one (B006: 13 → 40).
The 30-minute benchmark row (``plant: heat meters count whole kWh``) is identical to
``noise 1%`` on every network: 30 minutes hold tens of kWh.
"""

from __future__ import annotations

import math

import pytest

from custom_components.heatbalance.engine.control.base import Measurements

from .test_loop_plausibility import HA_CYCLE_S, _run

CYCLES = 40


def _whole_kwh(m: Measurements) -> None:
    for r in m.inlets.values():
        if r.heat_kwh is not None:
            r.heat_kwh = float(math.floor(r.heat_kwh))


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_whole_kwh_registers_raise_no_alarm_and_change_no_command(noise: float) -> None:
    """Pins what was measured: a healthy plant read every 30 s with whole-kWh registers
    raises no alarm (no meter bias, frozen or dead meter, no blockage) and is regulated
    exactly as with an exact register — the heat meter enters regulation only through a
    diagnosed meter, and none is diagnosed."""

    def exact(k: int, m: Measurements) -> None:
        """Nothing bent."""

    def coarse(k: int, m: Measurements) -> None:
        _whole_kwh(m)

    plain, ref = _run(CYCLES, exact, noise=noise, seed=0, cycle_s=HA_CYCLE_S)
    raised, got = _run(CYCLES, coarse, noise=noise, seed=0, cycle_s=HA_CYCLE_S)
    steps = [got[1].measurements.inlets[i].heat_kwh - got[0].measurements.inlets[i].heat_kwh
             for i in got[0].measurements.inlets]  # fmt: skip
    assert 0.0 in steps or 1.0 in steps  # the case is exercised: a register moving 0–1 kWh
    assert raised == plain == [], raised
    for a, b in zip(ref, got, strict=True):
        assert a.commands.openings == b.commands.openings
        assert a.commands.pump_speed == b.commands.pump_speed


@pytest.mark.xfail(strict=True, reason="meters.py: one cycle's register difference (13l)")
def test_a_biased_flow_meter_is_named_beside_a_whole_kwh_register() -> None:
    """The gap measured, not fixed: a +10 % flow meter at B002 (0.9 kWh per 30 s cycle) is
    named at cycle 10 with an exact register; with a whole-kWh one the heat balance over one
    cycle scatters by a register step and the pair's learnt noise hides the bias — never
    named in 40 cycles. The class fix: the heat balance over the span since the register
    last changed (quantisation as its noise), the flow averaged over the same span."""

    def biased(k: int, m: Measurements) -> None:
        _whole_kwh(m)
        r = m.inlets["B002"]
        if r.flow_m3h is not None:
            r.flow_m3h *= 1.1

    raised, _ = _run(CYCLES, biased, noise=0.01, seed=0, cycle_s=HA_CYCLE_S)
    named = [k for k, key in raised if key.endswith("@B002")]
    assert named, raised
    assert named[0] <= 20, raised
