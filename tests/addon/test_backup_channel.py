"""Backup channel (§6.0.1, §5.1.3, §6.0.3): automatic failover and failback, nothing lost.

Two real mosquitto brokers stand for the two channels (main and backup endpoint). The consumer
listens on both, as DOCS.md describes for the platform side. The main broker is SIGKILLed: data
must continue over the backup; when main returns the gateway must switch back; in the end every
sequence number is stored exactly once. The gateway's last will marks it offline on a crash.
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from devtools.broker import Mosquitto
from devtools.gateway_proc import GatewayProcess, plain_broker, simulated_buses
from devtools.mqtt_consumer import MqttConsumer

from .test_store_forward import wait_for


def retained_status(port: int) -> bytes | None:
    """Read the retained gateway status from a broker."""
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *_: c.subscribe("heatbalance/gw/gw1/status", qos=1)

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        got.append(bytes(message.payload))
        done.set()

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(5)
    client.disconnect()
    client.loop_stop()
    return got[-1] if got else None


@pytest.mark.slow
def test_failover_to_backup_and_back_loses_nothing(tmp_path) -> None:
    main = Mosquitto(tmp_path / "main")
    backup = Mosquitto(tmp_path / "backup")
    main.start()
    backup.start()
    config = {
        "gateway_id": "gw1",
        "data_dir": str(tmp_path / "gw" / "data"),
        "mqtt": {
            "main": plain_broker(main.port),
            "backup": plain_broker(backup.port),
            "failover_after": 1.0,
        },
        "outbox": {"ack_timeout": 2.0},
        "buses": simulated_buses(50, per_bus=50, interval=0.5),
    }
    gateway = GatewayProcess(tmp_path / "gw", config)
    consumer = MqttConsumer("gw1", [main.port, backup.port])
    try:
        gateway.start()
        wait_for(lambda: consumer.contiguous >= 200, what="data on main")
        assert consumer.by_client[1] == 0  # backup idle while main is up

        main.kill()
        at_kill = consumer.contiguous
        wait_for(lambda: consumer.by_client[1] > 0, what="failover to backup")
        wait_for(lambda: consumer.contiguous >= at_kill + 300, what="data via backup")

        main.start()
        main_before = consumer.by_client[0]
        wait_for(lambda: consumer.by_client[0] >= main_before + 3, what="failback to main")
        backup_mark = consumer.by_client[1]
        mark = consumer.contiguous
        wait_for(lambda: consumer.contiguous >= mark + 300, what="data via main again")
        assert consumer.by_client[1] == backup_mark  # backup idle again

        gateway.kill()  # crash: the broker publishes the last will
        wait_for(lambda: retained_status(main.port) == b"offline", what="last will on main")

        gateway.start(buses=[])  # drain the rest
        wait_for(gateway.connected, what="drain gateway connected")
        wait_for(lambda: gateway.outbox()["rows"] == 0, what="drained")
        final = gateway.outbox()
        assert gateway.stop() == 0
    finally:
        gateway.kill()
        consumer.close()
        main.stop()
        backup.stop()
    assert sorted(consumer.stored) == list(range(1, final["last_seq"] + 1))
    assert consumer.received == len(consumer.stored) + consumer.core.duplicates
