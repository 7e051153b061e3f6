"""Home Assistant's own birth message gets the gateway's backlog resent at once (issue 10
item 6), end to end.

Real chain: a real mosquitto, Home Assistant's MQTT integration (its MQTT entry, with its
default birth message ``homeassistant/status`` ``online``), a network entry with an inlet on
the gateway, and the gateway add-on as its own process. Home Assistant's MQTT goes away —
its entry unloaded, as when Home Assistant stops — while the gateway goes on reading: the
batches it sends meanwhile reach nobody (Home Assistant subscribes with a clean session), and
with an ack timeout of 600 s it would send them again only after that. When the MQTT entry
is set up again, Home Assistant's client restores the source's subscription and publishes its
birth message; the add-on takes it as "Home Assistant (re)started" and resends from its last
ack at once, and the source stores and acknowledges the backlog. The add-on's own test
(tests/addon/test_resend_backoff.py) sends the birth from a plain client; this one is Home
Assistant's. With the add-on told another birth topic (``mqtt.birth_topic``) the backlog stays
unacknowledged here (checked by hand: "not reached" after the guard).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant

from devtools.gateway_proc import GatewayProcess, simulated_buses, until
from devtools.real_mqtt import gateway_config, ha_on_mosquitto

from .test_gateway_subscribe_race import _settled
from .test_gateway_subscriptions import _gateway_network

WINDOW = 50  # readings the gateway sends ahead of the last ack


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT client leaves its timers running (FACTS.md)."""
    return True


@pytest.mark.slow
async def test_home_assistants_birth_message_gets_the_backlog_resent_at_once(
    hass: HomeAssistant, socket_enabled: None, mock_hass_config: None, tmp_path: Path
) -> None:
    async with ha_on_mosquitto(hass, tmp_path) as broker:
        entry = await _gateway_network(hass)
        # the source's topics subscribed at the broker before the gateway sends: with a 600 s
        # ack timeout a first window sent into HA's debounced subscribe was lost for the
        # test's life ("not reached: the source's first acks", HA 2025, an idle machine,
        # where the gateway process starts fastest); the other gateway tests resend in 0.5-2 s
        await _settled(hass)
        source = entry.runtime_data.coordinator.plant.gateway
        outbox = {"ack_timeout": 600.0, "window": WINDOW, "batch": 10}
        config = gateway_config(
            tmp_path, broker.port, outbox=outbox, buses=simulated_buses(5, interval=0.2)
        )
        gateway = GatewayProcess(tmp_path / "gw", config)
        try:
            gateway.start()
            await until(lambda: source.status.get("gw1") == "online", "the gateway online")
            await until(lambda: gateway.outbox()["floor"] > 1, "the source's first acks")

            (mqtt_entry,) = hass.config_entries.async_entries(mqtt.DOMAIN)
            assert await hass.config_entries.async_unload(mqtt_entry.entry_id)  # HA away
            await until(
                lambda: gateway.outbox()["rows"] > 2 * WINDOW, "readings HA did not receive"
            )
            backlog = gateway.outbox()
            assert b"(home assistant online)" not in gateway.log.read_bytes()

            assert await hass.config_entries.async_setup(mqtt_entry.entry_id)  # HA back
            await mqtt.async_wait_for_mqtt_client(hass)
            # far within the 600 s ack timeout: only the birth message makes it resend now
            await until(
                lambda: gateway.outbox()["floor"] > backlog["last_seq"],
                "the backlog acknowledged after Home Assistant's birth message",
                120.0,
            )
            assert b"(home assistant online)" in gateway.log.read_bytes()
            assert source.tracker.streams["gw1"].contiguous > backlog["last_seq"]
            assert gateway.stop() == 0
        finally:
            gateway.kill()
            assert await hass.config_entries.async_unload(entry.entry_id)
