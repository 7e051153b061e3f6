"""heatbalance gateway: Modbus/Zigbee field devices to Home Assistant over MQTT.

Runs inside the Home Assistant add-on (``addon/``) or standalone with
``python -m heatbalance_gateway --config FILE``. Kept free of ``homeassistant`` imports so the
integration never imports it: the consumer side of the link lives in the integration.
"""

__version__ = "0.2.0"
