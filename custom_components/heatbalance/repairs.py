"""Repair issues where the operator must act, and the fixes that can be done for him.

- ``missing_signals``: the configuration does not deliver the data the chosen level and
  target need (Tables 4.3.2/4.3.3); the issue names every inlet and signal.
- ``not_electric``: building inlets without an electric device above the primary level
  (§4.3.1) — such a system is classed one level down (§3.0.4).
- ``cycle_too_long``: acquisition period above 30 min (§4.3.4); the fix sets 30 min.
- ``inlet_missing``: inlet subentries whose inlet is not in the network (file changed);
  the fix removes those subentries.
- ``gateway_protocol``: a gateway add-on speaks another link protocol than this integration
  (an add-on from before protocol 2 publishes energy in MWh): its energy counters are not
  used until add-on and integration match — never read 1000× off.
- ``gateway_offline``: a gateway this network uses has not been online (its retained status)
  for max(5 min, one cycle) (``gateway_source.offline_repair_s``, §5.3.8-5, communication
  line); clears when it is online again.
- ``gateway_signals``: a gateway device lacks a point the inlet's configuration counts on
  (a heat meter without an ``energy`` point: no heat balance, §3.0.7-1; no position
  feedback: no device signal, Tables 4.3.2/4.3.3), as the gateway's ``…/info`` says.
- ``design_loads``: inlets whose metered heat over two days or more disagrees with the
  network file's design load by more than ×1.2 (the engine's ``design_load`` finding,
  §3.0.7): the flow targets follow those loads (§8.2.4), so the file is what is wrong, not
  a device; the operator checks the loads and uploads the corrected file. Raised and
  cleared by the coordinator's cycle when the set of named inlets changes.
- ``damaged_options``: options the Store holds damaged (an edited or broken store: text, a
  bool, NaN, a safety limit outside its range or out of order) are used at their defaults
  (``settings.restarted_options``, §5.3.6-3); the issue names them with the stored values,
  logged once, and its fix stores the defaults.
- ``learning_lost``: the learning file the Store names (a large network's learning, kept
  beside the Store: ``memory_file``) was missing, damaged or another one at the start, so
  the controller restarted its learning (regulation goes on); the issue says why and that a
  backup of ``.storage`` taken together holds both. Not persistent: gone after a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util.unit_conversion import PowerConverter

from .compat import RepairsFlowResult
from .compat import flow_vol as vol
from .const import CONF_CYCLE_MINUTES, DOMAIN, MAX_CYCLE_MINUTES
from .engine.model import Network
from .gateway_protocol import PROTOCOL
from .requirements import Points, available, missing_signals, not_electric
from .settings import InletConfig, Settings, restarted_options

if TYPE_CHECKING:
    from .gateway_source import GatewaySource

GATEWAY_KINDS = ("gateway_protocol", "gateway_offline", "gateway_signals")
DESIGN_LOADS = "design_loads"
DAMAGED_OPTIONS = "damaged_options"
_LOGGER = logging.getLogger(__name__)
ENTITIES_LEFT_DISABLED = "entities_left_disabled"
LEARNING_LOST = "learning_lost"


FIX_WHERE = {  # the form where a missing signal is mapped (issue 14: repairs deep-link)
    "network": ("the network's options (⋮ → Configure)", "管网的选项（⋮ → 配置）"),
    "inlet": (
        "this inlet's subentry (⋮ → Change signal source)",
        "该热力入口的子条目（⋮ → 更改信号来源）",
    ),
}


@dataclass
class _Issues:
    """The issues of one network entry: where they go, what they name, in which language."""

    hass: HomeAssistant
    entry_id: str
    title: str
    network: Network
    names: Mapping[str, str]  # the selectors' translations (levels, targets, signals)

    @classmethod
    async def of(cls, hass: HomeAssistant, entry_id: str, title: str, network: Network) -> _Issues:
        """With the user's language's selector names."""
        names = await async_get_translations(hass, hass.config.language, "selector", [DOMAIN])
        return cls(hass, entry_id, title, network, names)

    def set(
        self,
        kind: str,
        placeholders: dict[str, str] | None,
        *,
        fixable: bool = False,
        data: dict[str, Any] | None = None,
        severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    ) -> None:
        """Create (placeholders given; the network's name added) or delete (None) one."""
        issue_id = f"{self.entry_id}_{kind}"
        if placeholders is None:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=fixable,
            is_persistent=False,
            severity=severity,
            translation_key=kind,
            translation_placeholders={"network": self.title, **placeholders},
            data={"entry_id": self.entry_id, "kind": kind, **(data or {})},
        )

    def option(self, selector: str, value: str, default: str = "") -> str:
        """A selector option's name in the user's language."""
        return self.names.get(f"component.{DOMAIN}.selector.{selector}.options.{value}", default)

    def lines(self, signals: Mapping[str, Iterable[str]]) -> str:
        """A line per inlet (or ``network``): its signals by name, and a link to where they
        are mapped (network-wide signals live in the options)."""
        zh = int(str(self.hass.config.language).lower().startswith("zh"))
        link = f"/config/integrations/integration/{DOMAIN}#config_entry={self.entry_id}"
        inlets = self.network.inlets
        return "\n".join(
            f"- {inlets[iid].name or iid if iid in inlets else self.title}: "
            + ", ".join(self.option("signal", code, code) for code in codes)
            + f" → [{FIX_WHERE['network' if iid == 'network' else 'inlet'][zh]}]({link})"
            for iid, codes in signals.items()
        )

    def missing_signals(
        self,
        settings: Settings,
        inlets: Mapping[str, InletConfig],
        points: Points | None,
        station_silent: bool = False,
    ) -> None:
        """The ``missing_signals`` issue (``points``: what the gateway says its devices have;
        ``station_silent``: the substation heat meter went silent, see
        ``Plant.station_heat_silent``)."""
        reads = _reads_power(self.hass, settings.substation_heat_entity)
        gaps = missing_signals(self.network, settings, inlets, points, reads, station_silent)
        lines = self.lines(gaps)
        level, target = self.option("level", settings.level), self.option("target", settings.target)
        self.set(
            "missing_signals",
            {"level": level, "target": target, "signals": lines} if lines else None,
        )

    def damaged_options(self, settings: Settings) -> None:
        """The ``damaged_options`` issue; logged when raised or its options change, not at
        every read of the options (each reload logged it again)."""
        named = ", ".join(settings.damaged)
        issue_id = f"{self.entry_id}_{DAMAGED_OPTIONS}"
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, issue_id)
        shown = (issue.translation_placeholders or {}) if issue is not None else {}
        if named and shown.get("options") != named:
            _LOGGER.warning("%s: damaged options used at their defaults: %s", self.title, named)
        self.set(DAMAGED_OPTIONS, {"options": named} if named else None, fixable=True)


def _reads_power(hass: HomeAssistant, entity_id: str | None) -> bool | None:
    """Whether an entity's state reads as a thermal power (a unit PowerConverter knows);
    None when there is no state to tell yet (not mapped, not loaded, unavailable)."""
    state = hass.states.get(entity_id) if entity_id else None
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    return state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) in PowerConverter.VALID_UNITS


async def async_check_issues(
    hass: HomeAssistant,
    entry_id: str,
    title: str,
    network: Network,
    settings: Settings,
    inlets: Mapping[str, InletConfig],
    orphans: Mapping[str, str],
    station_silent: bool = False,
) -> None:
    """Raise or clear every issue of one network entry (``orphans``: subentry → inlet id;
    ``station_silent``: the substation heat meter went silent)."""
    issues = await _Issues.of(hass, entry_id, title, network)
    issues.missing_signals(settings, inlets, None, station_silent)
    weak = not_electric(network, settings, inlets)
    level = issues.option("level", settings.level)
    issues.set("not_electric", {"level": level, "inlets": ", ".join(weak)} if weak else None)
    too_long = settings.cycle_minutes > MAX_CYCLE_MINUTES
    minutes = {"minutes": f"{settings.cycle_minutes:g}"}
    issues.set("cycle_too_long", minutes if too_long else None, fixable=True)
    issues.set(
        "inlet_missing",
        {"inlets": ", ".join(sorted(orphans.values()))} if orphans else None,
        fixable=True,
        data={"subentries": ",".join(sorted(orphans))},
    )
    issues.damaged_options(settings)


def async_clear_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Remove every issue of an entry (it is being removed)."""
    for kind in (
        "missing_signals",
        "not_electric",
        "cycle_too_long",
        "inlet_missing",
        *GATEWAY_KINDS,
        DESIGN_LOADS,
        ENTITIES_LEFT_DISABLED,
        DAMAGED_OPTIONS,
        LEARNING_LOST,
    ):
        ir.async_delete_issue(hass, DOMAIN, f"{entry_id}_{kind}")


def async_entities_left_disabled(
    hass: HomeAssistant, entry: ConfigEntry, count: int, limit: int | None
) -> None:
    """Raise ``entities_left_disabled`` when ``count`` inlet entities were registered
    disabled to stay within the entry's budget of enabled entities (``entity_budget``);
    clear it when none were."""
    if not count:
        ir.async_delete_issue(hass, DOMAIN, f"{entry.entry_id}_{ENTITIES_LEFT_DISABLED}")
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{entry.entry_id}_{ENTITIES_LEFT_DISABLED}",
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ENTITIES_LEFT_DISABLED,
        translation_placeholders={
            "network": entry.title,
            "count": str(count),
            "limit": str(limit),
        },
    )


def async_learning_lost_issue(hass: HomeAssistant, entry: ConfigEntry, reason: str | None) -> None:
    """Raise ``learning_lost`` when the start could not read the learning file the Store
    names (``reason``: why; :func:`.persistence.restored_memory`); clear it when it could."""
    issue_id = f"{entry.entry_id}_{LEARNING_LOST}"
    if reason is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=LEARNING_LOST,
        translation_placeholders={"network": entry.title, "reason": reason},
    )


def async_design_load_issue(
    hass: HomeAssistant, entry_id: str, title: str, network: Network, ratios: Mapping[str, float]
) -> None:
    """Raise the ``design_loads`` issue for the inlets in ``ratios`` (inlet → metered heat ÷
    what its design load predicts), or clear it when there are none. A line per inlet:
    its name, that ratio in %, its design load in the file (kW) — language-neutral, the
    translation says what the columns mean."""
    inlets = network.inlets
    lines = "\n".join(
        f"- {inlets[iid].name or iid}: {ratio:.0%} ({inlets[iid].design_load_kw:g} kW)"
        for iid, ratio in sorted(ratios.items())
        if iid in inlets
    )
    issues = _Issues(hass, entry_id, title, network, {})  # no selector names needed
    issues.set(DESIGN_LOADS, {"inlets": lines} if lines else None)


async def async_gateway_issues(
    hass: HomeAssistant,
    entry_id: str,
    title: str,
    network: Network,
    settings: Settings,
    inlets: Mapping[str, InletConfig],
    source: GatewaySource | None,
    station_silent: bool = False,
) -> None:
    """Raise or clear the gateway's issues from what its gateways said and sent (``None``:
    no gateway source: both cleared), and the data check again with what the gateway's
    devices really have (``station_silent``: the substation heat meter went silent, §4.3.2).
    Called when the source's :attr:`revision` moves, or that meter went silent or delivers
    again."""
    issues = await _Issues.of(hass, entry_id, title, network)
    old = source.incompatible() if source is not None else {}
    gateways = ", ".join(
        f"{gw} (protocol {protocol}, add-on {version or 'before 0.2.0'})"
        for gw, (protocol, version) in sorted(old.items())
    )
    protocol = {"gateways": gateways, "protocol": str(PROTOCOL)}
    issues.set("gateway_protocol", protocol if old else None, severity=ir.IssueSeverity.ERROR)
    down = source.offline() if source is not None else []
    minutes = f"{source.repair_s / 60:g}" if source is not None else ""
    offline = {"gateways": ", ".join(down), "minutes": minutes}
    issues.set("gateway_offline", offline if down else None, severity=ir.IssueSeverity.ERROR)
    points = source.points() if source is not None else {}
    lines = issues.lines(
        {
            iid: gaps
            for iid, cfg in inlets.items()
            if (gaps := sorted(available(cfg) - available(cfg, points)))
        }
    )
    issues.set("gateway_signals", {"signals": lines} if lines else None)
    issues.missing_signals(settings, inlets, points or None, station_silent)


class EntryFixFlow(RepairsFlow):
    """Confirm, then change the entry: shorten the cycle, store the defaults of damaged
    options, or drop orphan subentries."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Remember which entry and which fix."""
        self._data = dict(data)

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Apply the fix once the operator confirms."""
        entries = self.hass.config_entries
        entry = entries.async_get_entry(self._data["entry_id"])
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            if self._data["kind"] == "cycle_too_long":
                options = dict(entry.options) | {CONF_CYCLE_MINUTES: MAX_CYCLE_MINUTES}
                entries.async_update_entry(entry, options=options)
            elif self._data["kind"] == DAMAGED_OPTIONS:  # as read now, not as raised
                options = dict(entry.options) | restarted_options(entry.options)
                entries.async_update_entry(entry, options=options)
            else:
                for subentry_id in str(self._data.get("subentries", "")).split(","):
                    if subentry_id in entry.subentries:
                        entries.async_remove_subentry(entry, subentry_id)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders={"network": entry.title},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue."""
    return EntryFixFlow(data or {})
