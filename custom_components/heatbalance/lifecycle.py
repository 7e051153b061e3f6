"""Setting up, updating and removing one network entry.

What needs a reload — the network source, the cycle and its clock, each inlet's source
mapping, which inlets there are — is the entry's *structure*; anything else (level, target,
algorithm, mode, thresholds, an inlet's weight, offset and auto switch) the update listener
hands to the running coordinator, so an operator's change never blinks the entities.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.storage import Store

from .const import (
    CONF_INLET_ID,
    DOMAIN,
    SUBENTRY_COMMISSIONING,
    SUBENTRY_INLET,
)
from .coordinator import HeatbalanceConfigEntry, HeatbalanceCoordinator, HeatbalanceData
from .engine.loader import NetworkError
from .engine.simulator import Simulator
from .gc_tuning import LARGE_NETWORK, async_freeze, run_frozen, run_paused
from .memory_file import LearningFiles
from .network_setup import build_network, definitions, handed_over, network_source
from .persistence import STORE_VERSION
from .records import CONF_ARCHIVE_URL, audited_change
from .repairs import async_check_issues, async_clear_issues
from .settings import (
    DEFAULT_OPTIONS,
    RELOAD_OPTIONS,
    InletConfig,
    Settings,
    commissioned_openings,
)
from .true_plant import plant_network

RELOADS = f"{DOMAIN}_pending_reloads"
# entity keys renamed so that one name has one meaning; the unique id follows, the entity id
# (and with it history and automations) stays
RENAMED_KEYS = {"imbalance_ratio": "flow_deviation_spread"}  # a spread, not the §8.2.4 ratio


def inlet_configs(entry: ConfigEntry) -> dict[str, InletConfig]:
    """Every inlet subentry of an entry, by subentry id, with the opening its commissioning
    records say was set on site (a tunable: applied in place, no reload)."""
    opened = commissioned_openings(
        sub.data for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_COMMISSIONING
    )
    configs = {}
    for sid, sub in entry.subentries.items():
        if sub.subentry_type == SUBENTRY_INLET and CONF_INLET_ID in sub.data:
            cfg = InletConfig.from_subentry(sid, sub.data)
            configs[sid] = replace(cfg, commissioned_opening=opened.get(cfg.inlet_id))
    return configs


def structure_of(entry: ConfigEntry) -> tuple[Any, ...]:
    """What a change of needs a reload."""
    options = DEFAULT_OPTIONS | dict(entry.options)
    return (
        repr(sorted(entry.data.items())),
        tuple(options[k] for k in RELOAD_OPTIONS),
        options.get(CONF_ARCHIVE_URL),  # another archive database: reopen it
        tuple(sorted((sid, cfg.structure()) for sid, cfg in inlet_configs(entry).items())),
    )


def network_device(hass: HomeAssistant, entry: ConfigEntry, name: str) -> None:
    """The network's device first: inlet devices hang under it (§5.3.5-1 topology)."""
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=name,
        manufacturer="heatbalance",
        model="Secondary network",
    )


async def async_setup_network(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> None:
    """Load the network with its subentry inlets, restore state, run the first cycle."""
    await er.async_migrate_entries(hass, entry.entry_id, _renamed_key)
    structure = structure_of(entry)  # read with the configs: later changes reload again
    configs = inlet_configs(entry)
    try:
        network = handed_over(hass.data, entry.unique_id)  # just read by the config flow
        if network is None or definitions(entry.data):
            # the size is known once loaded: the load itself runs paused whatever the size
            # (a small one allocates little) — gc_tuning.run_paused
            network = await hass.async_add_executor_job(
                run_paused,
                LARGE_NETWORK,
                build_network,
                network_source(entry.data),
                definitions(entry.data),
            )
        # the simulated plant: the network itself, or a true plant in development mode
        plant = await hass.async_add_executor_job(
            run_paused, len(network.inlets), plant_network, network, definitions(entry.data)
        )
    except (NetworkError, OSError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="network_invalid",
            translation_placeholders={"error": str(err)},
        ) from err
    inlets = {cfg.inlet_id: cfg for cfg in configs.values() if cfg.inlet_id in network.inlets}
    orphans = {
        sid: cfg.inlet_id for sid, cfg in configs.items() if cfg.inlet_id not in network.inlets
    }
    settings = Settings.from_options(entry.options)
    network_device(hass, entry, network.name)
    # building the hydraulic model factorises matrices and imports scipy: not in the event loop
    # frozen in the job, before the collector is on again: left young until async_freeze
    # below, the next collection in between walked the whole model with the GIL held
    simulator = await hass.async_add_executor_job(run_frozen, len(network.inlets), Simulator, plant)
    async_freeze(hass, entry, len(network.inlets))  # a large network's model, for good
    coordinator = HeatbalanceCoordinator(hass, entry, network, simulator, inlets, settings)
    await coordinator.async_config_entry_first_refresh()
    async_freeze(hass, entry, len(network.inlets))  # and the controller it built
    entry.runtime_data = HeatbalanceData(coordinator, structure)
    await async_check_issues(hass, entry.entry_id, entry.title, network, settings, inlets, orphans)


@callback
def _renamed_key(entity: er.RegistryEntry) -> dict[str, Any] | None:
    """The new unique id of an entity whose key was renamed (None: unchanged)."""
    for old, new in RENAMED_KEYS.items():
        if entity.unique_id.endswith(f"_{old}"):
            return {"new_unique_id": entity.unique_id.removesuffix(old) + new}
    return None


async def async_update_listener(hass: HomeAssistant, entry: HeatbalanceConfigEntry) -> None:
    """Options or subentries changed: apply in place, or reload when the structure did."""
    data = entry.runtime_data
    if structure_of(entry) != data.structure:
        _schedule_reload(hass, entry.entry_id)
        return
    coordinator = data.coordinator
    settings = Settings.from_options(entry.options)
    inlets = {cfg.inlet_id: cfg for cfg in inlet_configs(entry).values()}
    coordinator.apply(settings, {k: v for k, v in inlets.items() if k in coordinator.inlets})
    orphans = {
        sid: cfg.inlet_id
        for sid, cfg in inlet_configs(entry).items()
        if cfg.inlet_id not in coordinator.network.inlets
    }
    await async_check_issues(
        hass,
        entry.entry_id,
        entry.title,
        coordinator.network,
        settings,
        coordinator.inlets,
        orphans,
        coordinator.plant.station_heat_silent,
    )


def _schedule_reload(hass: HomeAssistant, entry_id: str) -> None:
    """One reload for several changes made in one go (a CSV import adds many subentries).

    The pending mark is dropped when the reload starts, so a change made after that point
    schedules another reload and is never lost.
    """
    pending: set[str] = hass.data.setdefault(RELOADS, set())
    if entry_id in pending:
        return
    pending.add(entry_id)

    async def reload() -> None:
        pending.discard(entry_id)
        entry = hass.config_entries.async_get_entry(entry_id)
        if hass.is_stopping or entry is None or entry.state is ConfigEntryState.NOT_LOADED:
            return  # unloaded meanwhile (HA stopping, entry disabled): never set it up again
        await hass.config_entries.async_reload(entry_id)

    # not started eagerly: a flow adding many subentries in one go calls the listener at each
    # one; started at once, the task dropped the pending mark before the next was added, and
    # HA 2025.4 reloaded the entry once per added building (108 reloads for district120)
    hass.async_create_task(reload(), f"{DOMAIN} reload {entry_id}", eager_start=False)


async def async_remove_network(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The entry is deleted: its Store, its learning files and its issues go too."""
    await Store[dict[str, Any]](hass, STORE_VERSION, f"{DOMAIN}.{entry.entry_id}").async_remove()
    await hass.async_add_executor_job(LearningFiles.of(hass, entry.entry_id).remove)
    async_clear_issues(hass, entry.entry_id)


def async_remove_inlet_device(
    hass: HomeAssistant, entry: HeatbalanceConfigEntry, device: DeviceEntry
) -> bool:
    """Removing an inlet's device from the UI removes the inlet's subentry (and reloads)."""
    ids = {ident for domain, ident in device.identifiers if domain == DOMAIN}
    if entry.entry_id in ids:
        return False  # the network device goes with the entry
    for sid, cfg in inlet_configs(entry).items():
        if f"{entry.entry_id}_{cfg.inlet_id}" in ids:
            hass.config_entries.async_remove_subentry(entry, sid)
            return True
    return True  # a device of an inlet that no longer exists


def async_change_options(
    hass: HomeAssistant, entry: HeatbalanceConfigEntry, **changes: Any
) -> None:
    """Store option changes and apply them at once (the listener then finds nothing new)."""
    with audited_change(hass, entry):  # the caller audits it, with its user
        hass.config_entries.async_update_entry(entry, options=dict(entry.options) | changes)
    _apply_now(entry)


def async_change_inlet(
    hass: HomeAssistant, entry: HeatbalanceConfigEntry, inlet_id: str, **changes: Any
) -> None:
    """Store an inlet's tunables (weight, offset, auto) in its subentry and apply them."""
    coordinator = entry.runtime_data.coordinator
    subentry = entry.subentries[coordinator.inlets[inlet_id].subentry_id]
    with audited_change(hass, entry):
        hass.config_entries.async_update_subentry(
            entry, subentry, data=dict(subentry.data) | changes
        )
    _apply_now(entry)


def _apply_now(entry: HeatbalanceConfigEntry) -> None:
    """Hand the entry's current settings and tunables to its coordinator."""
    coordinator = entry.runtime_data.coordinator
    inlets = {cfg.inlet_id: cfg for cfg in inlet_configs(entry).values()}
    coordinator.apply(
        Settings.from_options(entry.options),
        {k: v for k, v in inlets.items() if k in coordinator.inlets},
    )
