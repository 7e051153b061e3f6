"""The one place that knows the differences between supported HA versions.

HA 2025.4.4 (minimum) and 2026.10.4 (current) differ where this integration touches them:
- flow schemas are voluptuous in 2025.4 and probatio (its API-compatible successor) in 2026;
- repairs flows return ``RepairsFlowResult`` in 2026, a plain ``FlowResult`` in 2025.4;
- a child device names its parent by identifier (``via_device``) in 2025.4, by registered
  device id (``via_device_id``) in 2026, where the parent must already exist;
- a ``Store`` serialises its JSON (and calls a delayed save's data function) on the event
  loop in 2026 unless told otherwise (``serialize_in_event_loop``); 2025.4 always does both
  in its executor job (``Store._write_data``).
"""

from __future__ import annotations

import inspect
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store

try:
    import probatio as flow_vol  # HA ≥ 2026
except ImportError:  # HA 2025.4
    import voluptuous as flow_vol  # type: ignore[no-redef]

# The repairs flow result is a RepairsFlowResult TypedDict in 2026 and a FlowResult in
# 2025.4; the two do not type-check against each other, so fix flows are typed loosely.
type RepairsFlowResult = Any

HAS_VIA_DEVICE_ID = hasattr(dr, "async_get_device_id_by_identifier")
# Store keywords that serialise off the loop (a 23,000-household network's Store: ≈140 ms)
STORE_OFF_LOOP: dict[str, Any] = (
    {"serialize_in_event_loop": False}
    if "serialize_in_event_loop" in inspect.signature(Store.__init__).parameters
    else {}
)

__all__ = ["STORE_OFF_LOOP", "RepairsFlowResult", "device_id", "flow_vol", "via_device"]


def device_id(hass: HomeAssistant, entry_id: str, identifier: tuple[str, str]) -> str | None:
    """The registered device id of an entry's device, by identifier, on both versions
    (2026 deprecates looking a device up by identifier alone)."""
    if HAS_VIA_DEVICE_ID:
        found: str | None = dr.async_get_device_id_by_identifier(  # type: ignore[attr-defined]
            hass, identifier, config_entry_id=entry_id
        )
        return found
    device = dr.async_get(hass).async_get_device(identifiers={identifier})
    return device.id if device else None


def via_device(hass: HomeAssistant, entry_id: str, parent: tuple[str, str]) -> dict[str, Any]:
    """DeviceInfo keys that hang a device under ``parent`` (registered beforehand)."""
    if HAS_VIA_DEVICE_ID:
        return {
            "via_device_id": dr.async_get_device_id_by_identifier(  # type: ignore[attr-defined]
                hass, parent, config_entry_id=entry_id
            )
        }
    return {"via_device": parent}


def mean_statistic_metadata(statistic_id: str, source: str, unit: str | None) -> dict[str, Any]:
    """Metadata of a measured (mean/min/max) statistic for the recorder's import.

    Both versions take ``mean_type`` (``has_mean`` is deprecated); 2026 also wants
    ``unit_class``, which 2025.4's metadata does not have. The unit class is the one the
    recorder would derive from the unit itself, so the sensor's own compiled rows agree.
    """
    from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
    from homeassistant.components.recorder.statistics import STATISTIC_UNIT_TO_UNIT_CONVERTER

    meta: dict[str, Any] = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": None,
        "source": source,
        "statistic_id": statistic_id,
        "unit_of_measurement": unit,
    }
    if "unit_class" in StatisticMetaData.__annotations__:
        converter = STATISTIC_UNIT_TO_UNIT_CONVERTER.get(unit)
        meta["unit_class"] = None if converter is None else converter.UNIT_CLASS
    return meta
