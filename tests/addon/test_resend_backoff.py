"""Resends back off while the consumer does not acknowledge (issue 10, the backlog livelock).

A real gateway process forwards through a real mosquitto to a consumer that holds its ack (a
Home Assistant slower than the replay). Before, every ack timeout resent the whole window
again, each ``ack_timeout`` after the last; a consumer that queued each copy fell further
behind. Now each timeout in a row doubles the wait for the next (up to 8 × ``ack_timeout``),
counted from the last resent batch, and the wait is back to ``ack_timeout`` once the consumer
has acknowledged what was outstanding. Checked on the waits the gateway logs with each resend.
"""

from __future__ import annotations

import re

import paho.mqtt.client as mqtt
import pytest

from devtools.gateway_proc import GatewayProcess, plain_broker, simulated_buses
from devtools.mqtt_consumer import MqttConsumer
from devtools.waiting import wait_for

WAIT = re.compile(rb"ack timeout; the next after ([0-9.]+) s")


def test_resends_back_off_until_the_consumer_catches_up(tmp_path, broker) -> None:
    config = {
        "gateway_id": "gw1",
        "data_dir": str(tmp_path / "gw" / "data"),
        "mqtt": {"main": plain_broker(broker.port)},
        "outbox": {"ack_timeout": 0.3, "window": 200, "batch": 50},
        "buses": simulated_buses(20, interval=0.2),
    }
    gateway = GatewayProcess(tmp_path / "gw", config)
    consumer = MqttConsumer("gw1", [broker.port])

    def waits() -> list[float]:
        return [float(w) for w in WAIT.findall(gateway.log.read_bytes())]

    try:
        consumer.ack_upto = 0  # receives everything, acknowledges nothing
        gateway.start()
        wait_for(lambda: len(waits()) >= 4, "four resends")
        assert waits()[:4] == [0.6, 1.2, 2.4, 2.4]  # doubled, at most 8 × 0.3 s
        consumer.ack_upto = None  # catches up: acknowledges all it holds
        # past two windows: its acks passed all that was outstanding at the last resend
        wait_for(lambda: gateway.outbox()["floor"] > 400, "the consumer's acks at the gateway")
        held = len(waits())
        consumer.ack_upto = consumer.contiguous  # falls behind once more
        wait_for(lambda: len(waits()) > held, "the next resend")
        assert waits()[held] == 0.6  # the wait started again from ack_timeout
        assert gateway.stop() == 0
    finally:
        gateway.kill()
        consumer.close()
    # every reading the consumer holds came once, whatever was resent (§6.0.3)
    assert consumer.received == len(consumer.stored) + consumer.core.duplicates


@pytest.mark.parametrize(
    ("birth", "options"),
    [
        (("homeassistant/status", "online"), {}),  # Home Assistant's default
        (("ha/custom/birth", "up"), {"birth_topic": "ha/custom/birth", "birth_payload": "up"}),
    ],
)
def test_home_assistant_online_resends_what_it_has_not_acknowledged(
    tmp_path, broker, birth, options
) -> None:
    """Home Assistant restarts: the batches the old run received were never stored nor
    acknowledged, and the new run (a clean session) gets nothing of them. Before, the gateway
    waited out its ack timeout (600 s here; on a site 10 s, up to 80 s after the backoff grew
    during the outage); now Home Assistant's birth message — on the topic its MQTT settings
    name — makes it resend from the last ack at once, and republish its state."""
    config = {
        "gateway_id": "gw1",
        "data_dir": str(tmp_path / "gw" / "data"),
        "mqtt": {"main": plain_broker(broker.port), **options},
        "outbox": {"ack_timeout": 600.0, "window": 100, "batch": 20},
        "buses": simulated_buses(5, interval=0.2),
    }
    gateway = GatewayProcess(tmp_path / "gw", config)
    old = MqttConsumer("gw1", [broker.port])
    new: MqttConsumer | None = None
    ha = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-ha-birth")
    try:
        old.ack_upto = 0  # receives the whole window, stores nothing for good
        gateway.start()
        wait_for(lambda: old.received >= 100, "a full window sent to the old Home Assistant")
        old.close()  # Home Assistant stops
        new = MqttConsumer("gw1", [broker.port])  # … and starts again
        wait_for(lambda: new.subscribed > 0, "the new Home Assistant subscribed")
        assert new.received == 0  # the gateway waits for the ack of a full window
        ha.connect("127.0.0.1", broker.port)
        ha.loop_start()
        ha.publish(*birth, qos=1).wait_for_publish(10)
        wait_for(lambda: new.contiguous >= 100, "the unacknowledged window again", guard_s=60)
        wait_for(lambda: gateway.outbox()["floor"] > 100, "the new run's acks at the gateway")
        assert b"resending from seq 1 (home assistant online)" in gateway.log.read_bytes()
        assert gateway.stop() == 0
    finally:
        gateway.kill()
        ha.loop_stop()
        ha.disconnect()
        for consumer in (old, new):
            if consumer is not None:
                consumer.close()
