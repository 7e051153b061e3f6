"""Development tools shared by tests and benchmarks: real-process harnesses (mosquitto, the
gateway process, an MQTT consumer on the integration's protocol module, pandapipes oracle…).

Not part of the integration or the add-on image; importable from the repository root, so
benchmarks never import from ``tests/``.
"""
