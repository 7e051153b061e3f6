"""Bad thresholds from an action or a damaged store (issue 10; §5.3.6-3: a safety limit is
never loosened by bad input, and bad input never stops the entry loading).

The action refuses a bool (``float(True)`` set a threshold of 1 %); a store's damaged
numeric option restarts at its default, logged, where ``float`` raised on text and the
engine on a limit it refuses, and the entry did not load.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.heatbalance.compat import flow_vol as vol
from custom_components.heatbalance.const import DOMAIN
from custom_components.heatbalance.cycle import limits_of
from custom_components.heatbalance.engine.control.safety import SafetyLimits
from custom_components.heatbalance.services import SCHEMAS
from custom_components.heatbalance.settings import DEFAULT_OPTIONS, Settings

from .conftest import add_network
from .test_repairs import _fix


@pytest.mark.parametrize("value", [True, False])
def test_the_thresholds_action_refuses_what_is_no_threshold(value: object) -> None:
    with pytest.raises(vol.Invalid):
        SCHEMAS["set_safety_thresholds"]({"config_entry_id": "e", "min_opening": value})
    assert SCHEMAS["set_safety_thresholds"]({"config_entry_id": "e", "min_opening": "7"})


def test_damaged_stored_options_restart_at_their_defaults() -> None:
    stored = {
        "max_step": "x",  # text: float raised, the entry did not load
        "min_opening": True,  # 1 %: below the engine's own 5 %
        "max_opening": 150,  # a limit the engine refuses
        "min_pump_speed": 90,  # … out of order with the maximum
        "max_pump_speed": 50,
        "cycle_minutes": math.nan,
        "min_flow": 20,  # undamaged: kept
    }
    limits = limits_of(Settings.from_options(stored))
    assert limits == SafetyLimits(min_flow_ratio=0.2)
    assert Settings.from_options(stored).cycle_minutes == 30
    named = ", ".join(Settings.from_options(stored).damaged)  # the repair names them
    for key in ("max_step", "min_opening", "max_opening", "min_pump_speed", "cycle_minutes"):
        assert f"{key}=" in named
    assert "min_flow=" not in named


async def test_damaged_options_are_a_repair_logged_once_that_stores_the_defaults(
    hass: HomeAssistant, hass_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An operator sees damaged stored options in HA's repairs, with the values stored; the
    warning is logged once, not at every reload of the entry (each logged it again), and
    the fix stores the defaults the engine already uses, which clears the issue."""
    entry = await add_network(hass, options={"max_step": "x", "min_flow": 20})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_damaged_options")
    assert issue is not None
    assert issue.translation_placeholders["options"] == "max_step='x'"
    assert caplog.text.count("damaged options used at their defaults") == 1
    await _fix(hass, hass_client, issue)
    assert entry.options["max_step"] == DEFAULT_OPTIONS["max_step"]
    assert entry.options["min_flow"] == 20  # undamaged: kept
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id) is None
