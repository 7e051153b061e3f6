"""Network selects: regulation mode (§5.2.4-2, §5.3.6-6), algorithm (§5.3.6-1), target (§4.1.1).

Mode is an operator's switch; algorithm and target change how the network is controlled,
so only administrators may change them (§5.1.3). Every change goes to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import ALGORITHMS, CONF_ALGORITHM, CONF_MODE, CONF_TARGET, DOMAIN, MODES, TARGETS
from .coordinator import HeatbalanceConfigEntry
from .entity import HeatbalanceEntity, add_network_entities
from .settings import option_errors

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class OptionSelectDescription(SelectEntityDescription):
    """A select backed by one entry option."""

    admin_only: bool


SELECTS = (
    OptionSelectDescription(
        key=CONF_MODE, translation_key=CONF_MODE, options=list(MODES), admin_only=False
    ),
    OptionSelectDescription(
        key=CONF_ALGORITHM,
        translation_key=CONF_ALGORITHM,
        options=list(ALGORITHMS),
        entity_category=EntityCategory.CONFIG,
        admin_only=True,
    ),
    OptionSelectDescription(
        key=CONF_TARGET,
        translation_key=CONF_TARGET,
        options=list(TARGETS),
        entity_category=EntityCategory.CONFIG,
        admin_only=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The network's selects."""
    coordinator = entry.runtime_data.coordinator
    await add_network_entities(
        coordinator, async_add_entities, [OptionSelect(coordinator, d) for d in SELECTS]
    )


class OptionSelect(HeatbalanceEntity, SelectEntity):
    """Shows and changes one option of the network entry."""

    entity_description: OptionSelectDescription

    @property
    def current_option(self) -> str:
        """The option's current value."""
        return str(getattr(self.coordinator.settings, self.entity_description.key))

    async def async_select_option(self, option: str) -> None:
        """Check permission and the standard, store, apply, audit."""
        key = self.entity_description.key
        if self.entity_description.admin_only:
            await self._require_admin()
        if wrong := option_errors(dict(self.coordinator.config_entry.options) | {key: option}):
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key=wrong[0][1])
        await self._change_option(key, self.current_option, option)
