"""Inlet subentries: add, reconfigure, remove thermal inlets and map their signals.

Add: pick an inlet of the network that has no subentry yet (a household too, when one needs
its own device) or define a new one, validated by the engine's loader like a network file.
Each inlet reads its signals from a source: the built-in simulated plant, or existing Home
Assistant entities (sensors for supply/return/room temperature and flow, a ``valve`` or
``number`` entity to actuate, optionally a battery sensor of the room sensor §4.3.11-6).
"""

from __future__ import annotations

import heapq
import math
import re
import statistics
from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)

from .compat import flow_vol as vol
from .const import (
    CONF_ACCELERATION,
    CONF_ACTUATOR_ENTITY,
    CONF_BATTERY_ENTITY,
    CONF_CYCLE_MINUTES,
    CONF_DP_ENTITY,
    CONF_FAULT_ENTITY,
    CONF_FLOW_ENTITY,
    CONF_GATEWAY_ID,
    CONF_GATEWAY_ROOMS,
    CONF_HEAT_ENERGY_ENTITY,
    CONF_HEAT_POWER_ENTITY,
    CONF_INLET_ID,
    CONF_INLETS,
    CONF_LINK,
    CONF_OUTDOOR_ENTITY,
    CONF_RETURN_ENTITY,
    CONF_RETURN_PRESSURE_ENTITY,
    CONF_ROOM_ENTITY,
    CONF_SOURCE,
    CONF_SUPPLY_ENTITY,
    CONF_SUPPLY_PRESSURE_ENTITY,
    GATEWAY_DEVICE_KEYS,
    GATEWAY_SENSOR_KEYS,
    LINK_WIRED,
    LINK_WIRELESS,
    NEW_INLET,
    SIGNAL_ENTITY_KEYS,
    SOURCE_ENTITIES,
    SOURCE_GATEWAY,
    SOURCE_SIMULATOR,
    SOURCES,
    SUBENTRY_INLET,
)
from .engine.loader import DEVICE_TYPES, NetworkError
from .engine.model import Network, design_flow_m3h
from .engine.networks.generator import KVS_SERIES
from .network_setup import build_network, definitions, network_source
from .requirements import PRESSURE_PAIR
from .settings import DEFAULT_OPTIONS, all_gateway_devices, default_gateway_devices, names_of


def _select(key: str, options: list[str], custom: bool = False) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=options,
            mode=SelectSelectorMode.DROPDOWN,
            translation_key=key,
            custom_value=custom,
        )
    )


def _number(lo: float, hi: float, step: float, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=lo, max=hi, step=step, unit_of_measurement=unit, mode=NumberSelectorMode.BOX
        )
    )


def _sensor(device_class: str | None = None) -> EntitySelector:
    config = EntitySelectorConfig(domain="sensor")
    if device_class:
        config["device_class"] = device_class
    return EntitySelector(config)


class RoomSensors(EntitySelector):
    """Several room sensors; one entity id alone (the form before lists) is one room."""

    def __call__(self, data: Any) -> str | list[str]:
        """Validate as a list of entity ids."""
        return super().__call__([data] if isinstance(data, str) else data)


ENTITY_FIELDS: dict[str, EntitySelector] = {
    CONF_SUPPLY_ENTITY: _sensor("temperature"),
    CONF_RETURN_ENTITY: _sensor("temperature"),
    CONF_FLOW_ENTITY: _sensor(),
    # the heat meter: its energy counter (preferred) or its thermal power (§4.1.2)
    CONF_HEAT_ENERGY_ENTITY: _sensor("energy"),
    CONF_HEAT_POWER_ENTITY: _sensor("power"),
    # typical users' rooms: several sensors, their mean is judged (§8.2.4-4)
    CONF_ROOM_ENTITY: RoomSensors(
        EntitySelectorConfig(domain="sensor", device_class="temperature", multiple=True)
    ),
    CONF_SUPPLY_PRESSURE_ENTITY: _sensor("pressure"),  # §4.3.13 transmitters, both pipes
    CONF_RETURN_PRESSURE_ENTITY: _sensor("pressure"),
    CONF_DP_ENTITY: _sensor("pressure"),  # or one differential-pressure transmitter
    CONF_BATTERY_ENTITY: _sensor("battery"),
    CONF_FAULT_ENTITY: _sensor(),  # the valve's own fault code (§4.3.8), 0 = none
    CONF_ACTUATOR_ENTITY: EntitySelector(EntitySelectorConfig(domain=["valve", "number"])),
}

# device names as the gateway add-on's configuration accepts them (addon config.py SLUG)
DEVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
SOURCE_SCHEMA = {
    vol.Required(CONF_SOURCE, default=SOURCE_SIMULATOR): _select(CONF_SOURCE, list(SOURCES)),
    vol.Required(CONF_LINK, default=LINK_WIRED): _select(CONF_LINK, [LINK_WIRED, LINK_WIRELESS]),
}


CONF_REAL_TIME = "real_time"
_REAL_TIME_TEXT = (
    "\n\n**The network now runs in real time.** Until now every inlet is simulated, so time "
    "runs accelerated: one {cycle}-minute control cycle every {accelerated} s. This inlet reads "
    "real measurements, so from now on there is one control cycle every {cycle} minutes of the "
    "wall clock; the simulated inlets follow the same clock and the balance state builds up "
    "over hours, not seconds. The cycle is set in the network's options. Untick to keep the "
    "network simulated (this inlet is then not changed).",
    "\n\n**管网将按实时运行。** 目前所有热力入口均为仿真，时间加速运行："
    "每 {accelerated} 秒完成一个 {cycle} 分钟的调节周期。"
    "该入口读取真实测量值，从现在起按实际时间每 {cycle} 分钟一个调节周期；"
    "仿真入口随同一时钟运行，平衡状态需要数小时而非数秒形成。调节周期在管网选项中设置。"
    "取消勾选则保持管网为仿真（本入口不作更改）。",
)


def _zh(hass: HomeAssistant) -> int:
    """1 when HA speaks Chinese (index into the two texts)."""
    return int(str(hass.config.language).lower().startswith("zh"))


DEFINITION_FIELDS = (
    "id",
    "name",
    "type",
    "node",
    "parent",
    "heating_area_m2",
    "design_load_kw",
    "design_dt_k",
    "internal_dp_kpa",
    "device_type",
    "kvs",
)


def definition_schema(network: Network) -> vol.Schema:
    """Fields of a new inlet, in the network file's names (docs/network-format.md)."""
    buildings = [i.id for i in network.inlets.values() if i.type != "household"]
    return vol.Schema(
        {
            vol.Required("id"): TextSelector(),
            vol.Optional("name"): TextSelector(),
            vol.Required("type", default="building"): _select(
                "inlet_type", ["building", "unit", "household"]
            ),
            vol.Required("node"): SelectSelector(
                SelectSelectorConfig(
                    options=node_options(network), mode=SelectSelectorMode.DROPDOWN
                )
            ),
            vol.Optional("parent"): _select("parent", sorted(buildings)),
            vol.Required("heating_area_m2"): _number(1, 1e6, 0.1, "m²"),
            vol.Required("design_load_kw"): _number(0.1, 1e5, 0.1, "kW"),
            vol.Required("design_dt_k", default=15): _number(1, 60, 0.5, "K"),
            vol.Required("internal_dp_kpa", default=20): _number(0.1, 500, 0.1, "kPa"),
            vol.Required("device_type", default="electric_valve"): _select(
                "device_type", list(DEVICE_TYPES)
            ),
            vol.Optional("kvs"): _number(0.1, 1000, 0.1, "m³/h"),
        }
    )


def node_options(network: Network) -> list[SelectOptionDict]:
    """Nodes by their place along the network: distance from the substation and who is there.

    Raw ids such as ``N1_1`` tell an operator nothing; the label says how far along the pipes
    the node lies and which buildings already hang on it.
    """
    distance = _distances(network)
    at: dict[str, list[str]] = {}
    for inlet in network.inlets.values():
        if inlet.parent is None:
            at.setdefault(inlet.node, []).append(inlet.name or inlet.id)
    ordered = sorted(network.nodes, key=lambda n: (distance.get(n, math.inf), n))
    options = []
    for rank, node in enumerate(ordered, start=1):
        where = f"{distance[node]:.0f} m" if node in distance else "not connected"
        names = ", ".join(at.get(node, [])[:3]) or "—"
        label = f"{node} · #{rank}, {where} from the substation · {names}"
        options.append(SelectOptionDict(value=node, label=label))
    return options


def _distances(network: Network) -> dict[str, float]:
    """Pipe length from the substation to every node (Dijkstra over the pipe pairs)."""
    links: dict[str, list[tuple[str, float]]] = {}
    for pipe in network.pipes:
        links.setdefault(pipe.from_node, []).append((pipe.to_node, pipe.length_m))
        links.setdefault(pipe.to_node, []).append((pipe.from_node, pipe.length_m))
    best = {network.substation.node: 0.0}
    queue = [(0.0, network.substation.node)]
    while queue:
        dist, node = heapq.heappop(queue)
        if dist > best.get(node, math.inf):
            continue
        for nxt, length in links.get(node, []):
            if dist + length < best.get(nxt, math.inf):
                best[nxt] = dist + length
                heapq.heappush(queue, (dist + length, nxt))
    return best


def typical_inlet(network: Network) -> dict[str, Any]:
    """Defaults for a new inlet from the network's own buildings (median area and load).

    A 1 m², 0.1 kW default is never right; the network's typical building is a good start,
    and a Kvs sized for it (15 kPa at design flow) keeps a valve's Kvs from being forgotten.
    """
    buildings = [i for i in network.inlets.values() if i.parent is None]
    dt_k = network.design.supply_c - network.design.return_c
    if not buildings:
        return {"design_dt_k": dt_k}
    area = statistics.median(i.heating_area_m2 for i in buildings)
    load = statistics.median(i.design_load_kw for i in buildings)
    flow = design_flow_m3h(load, dt_k)
    kvs = min(KVS_SERIES, key=lambda k: abs(math.log(k / (flow / math.sqrt(0.15)))))
    return {
        "heating_area_m2": round(area, 0),
        "design_load_kw": round(load, 1),
        "design_dt_k": dt_k,
        "kvs": kvs,
    }


# the network file's field (as the loader names it in a problem) → the form's field
FORM_FIELDS = {"device.kvs": "kvs", "device.type": "device_type"}


def field_errors(problems: list[str], inlet_id: str) -> dict[str, str]:
    """The form fields the loader's problems with this inlet name, each marked at its field
    (HA checks a form only on submit; the full list stays in the form's error text)."""
    marked: dict[str, str] = {}
    prefix = f"inlet {inlet_id}, field "
    for problem in problems:
        if not problem.startswith(prefix):
            continue
        name = problem.removeprefix(prefix).split(":", 1)[0].strip()
        field = FORM_FIELDS.get(name, name)
        if field in DEFINITION_FIELDS:
            marked[field] = "field_invalid"
    return marked


def to_definition(form: dict[str, Any]) -> dict[str, Any]:
    """The form's answers as an inlet of the network file format."""
    device: dict[str, Any] = {"type": form["device_type"]}
    if form.get("kvs"):
        device["kvs"] = form["kvs"]
    inlet = {
        k: form[k]
        for k in ("id", "name", "type", "node", "parent")
        if form.get(k) not in (None, "")
    }
    inlet["id"] = str(inlet["id"]).strip()
    for k in ("heating_area_m2", "design_load_kw", "design_dt_k", "internal_dp_kpa"):
        inlet[k] = form[k]
    inlet["device"] = device
    return inlet


def _entity_errors(answer: dict[str, Any]) -> dict[str, str]:
    """Form errors of the entities step: nothing mapped, or one pressure pipe without the
    other (the available ΔP is supply minus return pressure; a ΔP transmitter alone is fine)."""
    if not any(answer.get(k) for k in SIGNAL_ENTITY_KEYS):
        return {"base": "no_entities"}
    supply, ret = (bool(answer.get(k)) for k in PRESSURE_PAIR)
    if supply != ret:
        return {PRESSURE_PAIR[int(supply)]: "pressure_pair"}
    return {}


class InletSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure one thermal inlet of a network."""

    def __init__(self) -> None:
        """Answers collected across the steps."""
        self._data: dict[str, Any] = {}
        self._definition: dict[str, Any] | None = None
        self._title = ""

    async def _network(self) -> Network:
        """The entry's network as running, or freshly loaded when the entry is not."""
        entry = self._get_entry()
        if entry.state is ConfigEntryState.LOADED:
            return entry.runtime_data.coordinator.network  # type: ignore[no-any-return]
        return await self.hass.async_add_executor_job(
            build_network, network_source(entry.data), definitions(entry.data)
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Which inlet, and where its signals come from."""
        try:
            network = await self._network()
        except (NetworkError, OSError):
            return self.async_abort(reason="network_unavailable")
        taken = {
            s.data[CONF_INLET_ID]
            for s in self._get_entry().subentries.values()
            if s.subentry_type == SUBENTRY_INLET
        }
        free = [iid for iid in network.inlets if iid not in taken]
        if user_input is not None:
            self._data = {k: user_input[k] for k in (CONF_SOURCE, CONF_LINK)}
            inlet_id = user_input[CONF_INLET_ID]
            if inlet_id == NEW_INLET:
                return await self.async_step_define()
            self._data[CONF_INLET_ID] = inlet_id
            self._title = network.inlets[inlet_id].name or inlet_id
            return await self._next()
        schema = vol.Schema(
            {
                vol.Required(CONF_INLET_ID): _select(CONF_INLET_ID, [*free, NEW_INLET]),
                **SOURCE_SCHEMA,
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema)

    async def async_step_define(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A new inlet: checked by the engine's loader together with the whole network."""
        entry = self._get_entry()
        network = await self._network()
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            definition = to_definition(user_input)
            if definition["id"] in network.inlets:
                errors["id"] = "inlet_exists"
            else:
                try:
                    await self.hass.async_add_executor_job(
                        build_network,
                        network_source(entry.data),
                        [*definitions(entry.data), definition],
                    )
                except NetworkError as err:
                    errors["base"] = "inlet_invalid"
                    placeholders["error"] = str(err)
                    errors |= field_errors(err.problems, definition["id"])
            if not errors:
                self._data[CONF_INLET_ID] = definition["id"]
                self._definition = definition
                self._title = definition.get("name") or definition["id"]
                return await self._next()
        return self.async_show_form(
            step_id="define",
            data_schema=self.add_suggested_values_to_schema(
                definition_schema(network), user_input or typical_inlet(network)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Home Assistant entities that measure (and move) this inlet."""
        errors: dict[str, str] = {}
        ask, notice = self._real_time_notice()
        if user_input is not None and user_input.get(CONF_REAL_TIME) is False:
            return self.async_abort(reason="kept_simulated")
        if user_input is not None:
            errors = _entity_errors(user_input)
            if not errors:
                self._data |= {k: user_input[k] for k in SIGNAL_ENTITY_KEYS if user_input.get(k)}
                return self._finish()
        suggested = dict(user_input or self._data)
        if suggested.get(CONF_ROOM_ENTITY):  # one id, as saved before several rooms
            suggested[CONF_ROOM_ENTITY] = list(names_of(suggested[CONF_ROOM_ENTITY]))
        schema = vol.Schema({**{vol.Optional(k): sel for k, sel in ENTITY_FIELDS.items()}, **ask})
        return self.async_show_form(
            step_id="entities",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"inlet": self._title, **notice},
        )

    async def async_step_gateway(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The gateway add-on's meter and valve devices of this inlet (docs/gateway.md).

        Names as in the add-on's bus configuration; leave one empty when the inlet has no such
        device. A device can belong to one inlet only.
        """
        errors: dict[str, str] = {}
        ask, notice = self._real_time_notice()
        if user_input is not None and user_input.get(CONF_REAL_TIME) is False:
            return self.async_abort(reason="kept_simulated")
        if user_input is not None:
            keys = (*GATEWAY_DEVICE_KEYS, *GATEWAY_SENSOR_KEYS)
            names = {k: str(user_input.get(k) or "").strip() for k in keys}
            rooms = list(names_of(user_input.get(CONF_GATEWAY_ROOMS)))
            errors = self._gateway_errors(names, rooms)
            # the gateway owning the devices (issue 11); empty: the first that reports them
            owner = str(user_input.get(CONF_GATEWAY_ID) or "").strip()
            if owner and not DEVICE_NAME.match(owner):
                errors[CONF_GATEWAY_ID] = "device_name"
            if not errors:
                self._data |= names | {CONF_GATEWAY_ROOMS: rooms, CONF_GATEWAY_ID: owner}
                return self._finish()
        suggested = user_input or {
            k: self._data.get(k, default)
            for k, default in zip(
                GATEWAY_DEVICE_KEYS,
                default_gateway_devices(self._data[CONF_INLET_ID]),
                strict=True,
            )
        } | {
            CONF_GATEWAY_ID: self._data.get(CONF_GATEWAY_ID, ""),
            CONF_GATEWAY_ROOMS: list(names_of(self._data.get(CONF_GATEWAY_ROOMS))),
            **{k: self._data.get(k, "") for k in GATEWAY_SENSOR_KEYS},
        }
        schema = vol.Schema(
            {
                **{vol.Optional(k): TextSelector() for k in GATEWAY_DEVICE_KEYS},
                **{vol.Optional(k): TextSelector() for k in GATEWAY_SENSOR_KEYS},
                vol.Optional(CONF_GATEWAY_ROOMS): TextSelector(TextSelectorConfig(multiple=True)),
                vol.Optional(CONF_GATEWAY_ID): TextSelector(),
                **ask,
            }
        )
        return self.async_show_form(
            step_id="gateway",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"inlet": self._title, **notice},
        )

    def _gateway_errors(self, names: dict[str, str], rooms: list[str]) -> dict[str, str]:
        """Form errors: malformed name, none at all, a device named twice or of another inlet,
        one pressure transmitter without the other (ΔP needs both pipes)."""
        if not any(names.values()) and not rooms:
            return {"base": "no_devices"}
        errors = {k: "device_name" for k, v in names.items() if v and not DEVICE_NAME.match(v)}
        if any(not DEVICE_NAME.match(r) for r in rooms):
            errors[CONF_GATEWAY_ROOMS] = "device_name"
        seen: set[str] = set()
        for key, name in [*names.items(), *((CONF_GATEWAY_ROOMS, r) for r in rooms)]:
            if name and name in seen:
                errors[key] = "device_taken"
            seen.add(name)
        supply, ret = (bool(names[k]) for k in GATEWAY_SENSOR_KEYS)
        if supply != ret:
            errors[GATEWAY_SENSOR_KEYS[int(supply)]] = "pressure_pair"
        own = self._data[CONF_INLET_ID]
        taken = {
            name
            for sub in self._get_entry().subentries.values()
            if sub.data.get(CONF_SOURCE) == SOURCE_GATEWAY and sub.data.get(CONF_INLET_ID) != own
            for name in all_gateway_devices(sub.data)
        }
        errors |= {k: "device_taken" for k, v in names.items() if v in taken}
        if taken & set(rooms):
            errors[CONF_GATEWAY_ROOMS] = "device_taken"
        return errors

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an inlet's source or link; the entities or gateway step follows."""
        subentry = self._get_reconfigure_subentry()
        self._title = subentry.title
        if user_input is not None:
            keep = {k: v for k, v in subentry.data.items() if k not in SIGNAL_ENTITY_KEYS}
            self._data = keep | {k: user_input[k] for k in (CONF_SOURCE, CONF_LINK)}
            if user_input[CONF_SOURCE] == SOURCE_ENTITIES:
                self._data |= {k: v for k, v in subentry.data.items() if k in SIGNAL_ENTITY_KEYS}
            return await self._next()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(SOURCE_SCHEMA), dict(subentry.data)
            ),
            description_placeholders={"inlet": self._title},
        )

    def _turns_real_time(self) -> bool:
        """Whether this answer makes an all-simulated (accelerated) network run in real time."""
        if self._data[CONF_SOURCE] == SOURCE_SIMULATOR:
            return False
        entry = self._get_entry()
        if (DEFAULT_OPTIONS | dict(entry.options)).get(CONF_OUTDOOR_ENTITY):
            return False  # a real outdoor sensor already holds the network to real time
        own = self._get_reconfigure_subentry().subentry_id if self.source == "reconfigure" else None
        return all(
            sub.data.get(CONF_SOURCE, SOURCE_SIMULATOR) == SOURCE_SIMULATOR
            for sid, sub in entry.subentries.items()
            if sub.subentry_type == SUBENTRY_INLET and sid != own
        )

    def _real_time_notice(self) -> tuple[dict[Any, Any], dict[str, str]]:
        """The real-time question and its explanation, when this inlet makes the network real.

        Accelerated time is for an all-simulated network only (§4.3.4 acquisition period):
        the form says what changes and asks; unticking keeps the network as it is.
        """
        if not self._turns_real_time():
            return {}, {"real_time": ""}
        options = DEFAULT_OPTIONS | dict(self._get_entry().options)
        cycle = float(options[CONF_CYCLE_MINUTES])
        accelerated = max(cycle * 60.0 / max(float(options[CONF_ACCELERATION]), 1.0), 1.0)
        field = {vol.Required(CONF_REAL_TIME, default=True): BooleanSelector()}
        return field, {
            "real_time": _REAL_TIME_TEXT[_zh(self.hass)].format(
                cycle=f"{cycle:g}", accelerated=f"{accelerated:g}"
            )
        }

    async def _next(self) -> SubentryFlowResult:
        """Ask for entities or gateway devices when the source needs them; otherwise done."""
        if self._data[CONF_SOURCE] == SOURCE_ENTITIES:
            return await self.async_step_entities()
        if self._data[CONF_SOURCE] == SOURCE_GATEWAY:
            return await self.async_step_gateway()
        return self._finish()

    def _finish(self) -> SubentryFlowResult:
        """Create the subentry, or update the one being reconfigured."""
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(), self._get_reconfigure_subentry(), data=self._data
            )
        if self._definition is not None:  # the network grows by this inlet
            entry = self._get_entry()
            data = dict(entry.data)
            data[CONF_INLETS] = [*definitions(entry.data), self._definition]
            self.hass.config_entries.async_update_entry(entry, data=data)
        return self.async_create_entry(
            title=self._title, data=self._data, unique_id=self._data[CONF_INLET_ID]
        )
