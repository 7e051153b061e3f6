"""Hypothesis fuzzing: random commands and register maps never crash and never write out of range.

Commands go through the real parsing and the real bus worker over the gateway's simulated line
(which keeps every register written), so the check is on what actually reached the "device".
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import tempfile
from typing import Any

from heatbalance_gateway import codec
from heatbalance_gateway.bus_worker import BusWorker, Command
from heatbalance_gateway.commands import CommandError, parse_request, parse_set, resolve_value
from heatbalance_gateway.config import BUS_SCHEMA, parse_config
from heatbalance_gateway.gateway import Gateway
from heatbalance_gateway.mqtt_link import BrokerLink
from heatbalance_gateway.register_map import Profile, ProfileError, load_profile, parse_profile
from heatbalance_gateway.transport import SimulatedTransport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALVE = load_profile("electric_valve")
PT = load_profile("pt_transmitter")
PROFILES = {"electric_valve": VALVE, "pt_transmitter": PT}

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
commands = st.fixed_dictionaries(
    {},
    optional={
        "request_id": st.text(max_size=70) | json_values,
        "device": st.sampled_from(["valve-1", "pt-1", "nope"]) | json_values,
        "point": st.sampled_from(
            ["position_setpoint", "high_pressure_alarm", "position_feedback", "alarm", "x"]
        )
        | json_values,
        "value": st.floats(allow_nan=True, allow_infinity=True)
        | st.integers(min_value=-(10**12), max_value=10**12)
        | st.sampled_from(["OPEN", "CLOSE", "50"])
        | json_values,
    },
)
payloads = commands.map(lambda d: json.dumps(d).encode()) | st.binary(max_size=60)


def written_values_in_range(transport: SimulatedTransport) -> None:
    """Every register ever written decodes to a value inside its point's min/max."""
    by_id = {1: VALVE, 2: PT}
    for (device_id, function, address), _raw in transport.written.items():
        profile = by_id[device_id]
        point = next(p for p in profile.points if p.function == function and p.address == address)
        registers = [
            transport.written[(device_id, function, address + i)] for i in range(point.count)
        ]
        value = point.decode(registers)
        assert point.min is not None
        assert point.max is not None
        assert point.min <= value <= point.max, (point.key, value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(payloads, min_size=1, max_size=8))
def test_random_command_payloads_never_crash_or_write_out_of_range(batch: list[bytes]) -> None:
    async def scenario() -> None:
        bus = BUS_SCHEMA(
            {
                "name": "sim",
                "type": "simulated",
                "retries": 0,
                "devices": [
                    {
                        "name": "valve-1",
                        "device_id": 1,
                        "profile": "electric_valve",
                        "poll_interval": 1800,
                    },
                    {
                        "name": "pt-1",
                        "device_id": 2,
                        "profile": "pt_transmitter",
                        "poll_interval": 1800,
                    },
                ],
            }
        )
        transport = SimulatedTransport()
        worker = BusWorker(bus, PROFILES, transport, lambda _r: None)
        task = asyncio.create_task(worker.run())
        results: list[dict[str, Any]] = []
        for raw in batch:
            for parse in (
                parse_request,
                lambda p: parse_set(["dev", "valve-1", "position_setpoint"], p),
            ):
                try:
                    parsed = parse(raw)
                    profile = (
                        worker.devices[parsed.device].profile
                        if parsed.device in worker.devices
                        else None
                    )
                    if profile is None:
                        continue
                    value = resolve_value(parsed, profile)
                except (CommandError, KeyError):
                    continue
                results.append(
                    await worker.submit(
                        Command(parsed.device, parsed.point, value, parsed.request_id)
                    )
                )
        worker.stop()
        await task
        assert all(
            r["status"] in {"confirmed", "not_confirmed", "refused", "failed", "rejected"}
            for r in results
        )
        written_values_in_range(transport)

    asyncio.run(scenario())


point_dicts = st.fixed_dictionaries(
    {
        "key": st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True),
        "name": st.text(min_size=1, max_size=10),
        "address": st.integers(-5, 70000),
        "function": st.sampled_from(["holding", "input", "coil", "discrete", "bogus"]),
    },
    optional={
        "type": st.sampled_from([*codec.DATA_TYPES, "int64"]),
        "word_order": st.sampled_from(["big", "little", "middle"]),
        "scale": st.floats() | st.integers(-1000, 1000),
        "offset": st.floats(-1e6, 1e6),
        "writable": st.booleans(),
        "min": st.floats() | st.integers(),
        "max": st.floats() | st.integers(),
        "ha": st.sampled_from(["sensor", "number", "valve", "switch"]),
    },
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(point_dicts, min_size=1, max_size=5),
    st.lists(st.floats() | st.integers(-(10**12), 10**12), min_size=1, max_size=5),
)
def test_random_register_maps_validate_or_refuse_and_never_encode_out_of_range(
    points: list[dict[str, Any]], values: list[float]
) -> None:
    try:
        profile: Profile = parse_profile({"name": "fuzz", "points": points})
    except ProfileError:
        return
    for point in profile.points:
        if not point.writable:
            continue
        assert point.min is not None
        assert point.max is not None
        for value in values:
            try:
                registers, effective = point.encode_setpoint(float(value))
            except codec.EncodeError:
                continue
            assert all(0 <= r <= 0xFFFF for r in registers)
            decoded = point.decode(registers)
            assert math.isfinite(decoded)
            assert point.min <= decoded <= point.max
            assert decoded == effective


class _Errors(logging.Handler):
    """Collects ERROR records: the gateway's catch-all must never be needed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


topics_under_test = st.sampled_from(
    [
        "heatbalance/gw/gw1/cmd",
        "heatbalance/gw/gw1/dev/valve-1/position_setpoint/set",
        "heatbalance/gw/gw1/dev/pt-1/high_pressure_alarm/set",
        "heatbalance/gw/gw1/dev/pt-1/pressure/set",
        "heatbalance/gw/gw1/dev/nope/x/set",
        "heatbalance/gw/gw1/ack",
        "homeassistant/status",
    ]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(topics_under_test, payloads), min_size=1, max_size=6))
def test_random_mqtt_messages_through_the_gateway_never_error_or_write_out_of_range(
    messages: list[tuple[str, bytes]],
) -> None:
    """The whole message path of a real Gateway (outbox journal, workers), no broker needed."""
    errors = _Errors()
    logging.getLogger("heatbalance_gateway").addHandler(errors)

    async def scenario(directory: str) -> None:
        config = parse_config(
            {
                "gateway_id": "gw1",
                "data_dir": directory,
                "mqtt": {
                    "main": {
                        "host": "127.0.0.1",
                        "port": 1,
                        "username": "gw1",
                        "password": "pw-gw1-x1",
                        "insecure_plaintext": True,
                    }
                },
                "buses": [
                    {
                        "name": "sim",
                        "type": "simulated",
                        "retries": 0,
                        "devices": [
                            {
                                "name": "valve-1",
                                "device_id": 1,
                                "profile": "electric_valve",
                                "poll_interval": 1800,
                            },
                            {
                                "name": "pt-1",
                                "device_id": 2,
                                "profile": "pt_transmitter",
                                "poll_interval": 1800,
                            },
                        ],
                    }
                ],
            }
        )
        gateway = Gateway(config)
        gateway._build_workers()
        tasks = [asyncio.create_task(w.run()) for w in gateway.workers.values()]
        # A real, never-started link: publishing on it is a no-op returning False.
        link = BrokerLink(
            "main",
            config.raw["mqtt"]["main"],
            "fuzz",
            ("t", "offline"),
            asyncio.get_running_loop(),
            lambda _l: None,
            lambda _l, _t, _p: None,
            lambda _l: None,
        )
        for topic, payload in messages:
            gateway._on_message(link, topic, payload, False)
        for _ in range(200):  # let queued commands finish
            if all(w.commands.empty() for w in gateway.workers.values()) and not gateway._inflight:
                break
            await asyncio.sleep(0.001)
        for worker in gateway.workers.values():
            worker.stop()
        await asyncio.gather(*tasks)
        transport = gateway.workers["sim"].transport
        assert isinstance(transport, SimulatedTransport)
        written_values_in_range(transport)
        gateway.outbox.close()

    try:
        with tempfile.TemporaryDirectory() as directory:
            asyncio.run(scenario(directory))
    finally:
        logging.getLogger("heatbalance_gateway").removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records]
