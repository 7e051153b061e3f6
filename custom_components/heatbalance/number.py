"""Numbers: the network's safety thresholds (§5.3.6-3, §5.3.8-1) and each inlet's weight
(§5.3.6-5) and setpoint offset. Administrators only (§5.1.3); every change is audited."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPressure, UnitOfTemperature
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    CONF_MAX_OPENING,
    CONF_MAX_STEP,
    CONF_MAX_SUPPLY,
    CONF_MIN_DP,
    CONF_MIN_FLOW,
    CONF_MIN_OPENING,
    CONF_MIN_RETURN,
    CONF_SETPOINT_OFFSET,
    CONF_WEIGHT,
    DOMAIN,
)
from .coordinator import HeatbalanceConfigEntry
from .cycle import weight_of
from .engine.model import WEIGHT_RANGE
from .entity import HeatbalanceEntity, add_entities
from .settings import OPTION_RANGES, option_errors

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ThresholdDescription(NumberEntityDescription):
    """A safety threshold stored as an entry option; ``attr`` is its Settings field."""

    attr: str


def _threshold(key: str, attr: str, unit: str, **kw: object) -> ThresholdDescription:
    lo, hi, step = OPTION_RANGES[key]  # the options dialog's range
    return ThresholdDescription(
        key=key,
        translation_key=key,
        attr=attr,
        native_min_value=lo,
        native_max_value=hi,
        native_step=step,
        native_unit_of_measurement=unit,
        mode=NumberMode.BOX,
        entity_category=EntityCategory.CONFIG,
        **kw,  # type: ignore[arg-type]
    )


C = UnitOfTemperature.CELSIUS
THRESHOLDS = (
    _threshold(CONF_MIN_OPENING, "min_opening_pct", PERCENTAGE),
    _threshold(CONF_MAX_OPENING, "max_opening_pct", PERCENTAGE),
    _threshold(CONF_MAX_STEP, "max_step_pct", PERCENTAGE),
    _threshold(CONF_MIN_FLOW, "min_flow_pct", PERCENTAGE),
    _threshold(CONF_MAX_SUPPLY, "max_supply_c", C, device_class=NumberDeviceClass.TEMPERATURE),
    _threshold(CONF_MIN_RETURN, "min_return_c", C, device_class=NumberDeviceClass.TEMPERATURE),
    _threshold(
        CONF_MIN_DP, "min_dp_kpa", UnitOfPressure.KPA, device_class=NumberDeviceClass.PRESSURE
    ),
)
WEIGHT = NumberEntityDescription(
    key=CONF_WEIGHT,
    translation_key=CONF_WEIGHT,
    native_min_value=WEIGHT_RANGE[0],  # §5.3.6-5, the network file's range
    native_max_value=WEIGHT_RANGE[1],
    native_step=0.05,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
)
OFFSET = NumberEntityDescription(
    key=CONF_SETPOINT_OFFSET,
    translation_key=CONF_SETPOINT_OFFSET,
    native_min_value=-30,
    native_max_value=30,
    native_step=1,
    native_unit_of_measurement=PERCENTAGE,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Thresholds on the network device; weight and offset on each inlet's."""
    coordinator = entry.runtime_data.coordinator
    await add_entities(
        coordinator,
        async_add_entities,
        (ThresholdNumber(coordinator, d) for d in THRESHOLDS),
        lambda iid: (InletNumber(coordinator, d, iid) for d in (WEIGHT, OFFSET)),
    )


class ThresholdNumber(HeatbalanceEntity, NumberEntity):
    """One safety threshold of the network."""

    entity_description: ThresholdDescription

    @property
    def native_value(self) -> float:
        """The threshold in force."""
        return float(getattr(self.coordinator.settings, self.entity_description.attr))

    async def async_set_native_value(self, value: float) -> None:
        """Admins only; the opening limits must stay ordered (the engine refuses otherwise)."""
        await self._require_admin()
        key = self.entity_description.key
        if wrong := option_errors(dict(self.coordinator.config_entry.options) | {key: value}):
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key=wrong[0][1])
        await self._change_option(key, self.native_value, value)


class InletNumber(HeatbalanceEntity, NumberEntity):
    """An inlet's weight (§5.3.6-5: raise old or poorly insulated buildings) or offset."""

    @property
    def native_value(self) -> float:
        """The value in force."""
        assert self.inlet_id is not None
        cfg = self.coordinator.inlets[self.inlet_id]
        if self.entity_description.key == CONF_WEIGHT:
            return weight_of(self.coordinator.network, cfg)
        return cfg.setpoint_offset

    async def async_set_native_value(self, value: float) -> None:
        """Admins only; stored in the inlet's subentry, applied from the next cycle."""
        await self._require_admin()
        assert self.inlet_id is not None
        key = self.entity_description.key
        await self._change_inlet(f"set_{key}", key, value, old=self.native_value)
