"""Store-and-forward end to end with real processes (§6.0.3, issue 5 "done means").

500 simulated devices publish through a real gateway process to a real mosquitto; the broker is
SIGKILLed for a while, then the gateway is SIGKILLed in the middle of its replay and restarted.
Ground truth is the gateway's own outbox file: every sequence number it ever issued must end up
stored exactly once at the consumer — 0 lost, 0 duplicates after dedup.
"""

from __future__ import annotations

import time

import pytest

from devtools.broker import Mosquitto
from devtools.gateway_proc import GatewayProcess, plain_broker, simulated_buses
from devtools.mqtt_consumer import MqttConsumer
from devtools.waiting import wait_for


@pytest.mark.slow
def test_broker_crash_and_gateway_crash_during_replay_lose_nothing(tmp_path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    config = {
        "gateway_id": "gw1",
        "data_dir": str(tmp_path / "gw" / "data"),
        "stats_interval": 1.0,
        "mqtt": {"main": plain_broker(broker.port)},
        "outbox": {"ack_timeout": 2.0, "batch": 250},
        "buses": simulated_buses(500, interval=1.0),
    }
    gateway = GatewayProcess(tmp_path / "gw", config)
    consumer = MqttConsumer("gw1", [broker.port])
    try:
        gateway.start()
        wait_for(lambda: consumer.contiguous >= 1000, what="live data flowing")

        broker.kill()
        time.sleep(4.0)  # the outage; 500 devices keep polling into the outbox
        backlog = gateway.outbox()["rows"]
        assert backlog >= 1000, backlog  # the outage really produced a backlog

        # The replay takes well under a second here; acks held past the middle of the backlog
        # keep it unfinished, so the kill surely falls into it (not into a finished replay).
        middle = gateway.outbox()["floor"] + backlog // 2
        consumer.ack_upto = middle
        broker.start()  # same port, as after a broker restart
        wait_for(lambda: gateway.outbox()["floor"] > middle, what="replay half acknowledged")
        gateway.kill()  # crash in the middle of the replay
        at_kill = gateway.outbox()
        assert at_kill["rows"] > 0, "replay had already finished; the kill proved nothing"
        assert at_kill["floor"] == middle + 1  # trimmed up to the ack, the rest still held

        consumer.ack_upto = None
        gateway.start()  # resumes from the last acked sequence
        # Past the crash point by a further 1,000 readings: the restarted process forwards.
        wait_for(lambda: consumer.contiguous >= at_kill["last_seq"] + 1000, what="backlog drained")
        assert gateway.stop() == 0

        # Drain what the last clean shutdown flushed, with a gateway that polls nothing.
        gateway.start(buses=[])
        wait_for(gateway.connected, what="drain gateway connected")
        final = gateway.outbox()
        wait_for(lambda: consumer.contiguous >= final["last_seq"], what="final drain")
        wait_for(lambda: gateway.outbox()["rows"] == 0, what="outbox trimmed by acks")
        assert gateway.stop() == 0
    finally:
        gateway.kill()
        consumer.close()
        broker.stop()

    last = final["last_seq"]
    print(
        f"store-and-forward: {last} readings issued, backlog at outage {backlog}, "
        f"{at_kill['rows']} unacked at gateway kill, {consumer.core.duplicates} duplicates dropped"
    )
    assert last > 3000
    # 0 lost: every sequence ever issued is stored; 0 duplicates after dedup.
    assert sorted(consumer.stored) == list(range(1, last + 1))
    assert consumer.received == len(consumer.stored) + consumer.core.duplicates
    # Whether resends produced duplicates depends on where the kill fell relative to the last
    # ack; either way each one was recognised (received = stored + duplicates, above).
    # Readings keep their identity and original timestamp.
    stream = final["stream"]
    assert consumer.core.streams["gw1"].stream == stream
    assert consumer.core.epochs == 0  # crashes are not rollbacks: one stream throughout
    devices = {r["device"] for r in consumer.stored.values()}
    assert len(devices) == 500
