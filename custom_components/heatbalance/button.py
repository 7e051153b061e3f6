"""Buttons: balance now, confirm the manual proposal, acknowledge alarms — operator
actions, audited."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .actions import async_acknowledge, async_balance_now, async_confirm_proposal
from .coordinator import HeatbalanceConfigEntry
from .entity import HeatbalanceEntity, add_network_entities

# Presses are not queued by HA: each action waits on the coordinator's engine lock where it
# touches the plant; a second "Balance now" while the first's cycle runs is answered by that
# cycle (actions.py; queued, it ran a second cycle right after), and an acknowledgement
# does not wait for a cycle.
PARALLEL_UPDATES = 0
BALANCE_NOW = ButtonEntityDescription(key="balance_now", translation_key="balance_now")
CONFIRM = ButtonEntityDescription(key="confirm_proposal", translation_key="confirm_proposal")
ACKNOWLEDGE = ButtonEntityDescription(
    key="acknowledge_alarms", translation_key="acknowledge_alarms"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HeatbalanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The network's buttons."""
    coordinator = entry.runtime_data.coordinator
    await add_network_entities(
        coordinator,
        async_add_entities,
        [
            BalanceNowButton(coordinator, BALANCE_NOW),
            ConfirmProposalButton(coordinator, CONFIRM),
            AcknowledgeButton(coordinator, ACKNOWLEDGE),
        ],
    )


class BalanceNowButton(HeatbalanceEntity, ButtonEntity):
    """Run a cycle now: automatic mode sends its commands, manual mode only shows them."""

    async def async_press(self) -> None:
        """Same as the ``balance_now`` action."""
        await async_balance_now(self.coordinator, self._context, self.entity_id)


class ConfirmProposalButton(HeatbalanceEntity, ButtonEntity):
    """Manual mode: send the proposal shown as the valves' set positions."""

    async def async_press(self) -> None:
        """Same as the ``confirm_proposal`` action."""
        await async_confirm_proposal(self.coordinator, self._context, self.entity_id)


class AcknowledgeButton(HeatbalanceEntity, ButtonEntity):
    """Acknowledge every active alarm of the network."""

    async def async_press(self) -> None:
        """Same as the ``acknowledge_alarm`` action without a filter."""
        async_acknowledge(self.coordinator, self._context, entity_id=self.entity_id)
        await self.coordinator.async_told()
