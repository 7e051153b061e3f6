"""Onboard the development Home Assistant and add the demo network, through HA's own API.

Run by ``scripts/develop`` beside Home Assistant: waits for HA to answer, creates the owner
account with a generated password (kept in ``.heatbalance-dev-login`` in the config folder so
later runs print the same), finishes onboarding, adds a heatbalance entry for the demo network
through the config flow and prints how to log in. The network view is the integration's own
sidebar panel (``/heatbalance``), so the script writes no dashboard.
Only the standard library: it runs in the venv before anything else is installed.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

BASE = "http://127.0.0.1:8123"
CLIENT_ID = f"{BASE}/"


def use_port(port: int) -> None:
    """Talk to an HA on another loopback port (the browser tests start their own)."""
    global BASE, CLIENT_ID  # noqa: PLW0603 - the module is a script; its callers share one HA
    BASE = f"http://127.0.0.1:{port}"
    CLIENT_ID = f"{BASE}/"


USERNAME = "operator"
TEMPLATE = "{{ integration_entities('heatbalance') | count }}"
ONBOARDING_STEPS = ("user", "core_config", "analytics", "integration")


def request(
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    form: bool = False,
    timeout_s: float = 30,
) -> Any:
    """Call HA's HTTP API and return the decoded JSON answer."""
    headers = {}
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)  # noqa: S310 - loopback only
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - loopback only
        raw = resp.read()
    return json.loads(raw) if raw else None


def websocket(token: str, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    """Send commands over HA's websocket API (ids added) and return their answers in order.

    Some settings are only reachable there (users, HTTP config, the user's language).
    """
    import asyncio

    import aiohttp  # HA's own dependency; imported here so the REST part stays stdlib-only

    async def talk() -> list[dict[str, Any]]:
        answers = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(BASE + "/api/websocket") as ws,
        ):
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": token})
            if (await ws.receive_json()).get("type") != "auth_ok":
                raise SystemExit("develop: the websocket refused the token")
            for number, message in enumerate(messages, start=1):
                await ws.send_json({**message, "id": number})
                while (answer := await ws.receive_json()).get("id") != number:
                    pass  # an event of an earlier subscription
                answers.append(answer)
        return answers

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(talk())
    # called from inside an event loop (an async test): talk from a thread of its own
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, talk()).result()


def wait_for_ha(timeout_s: float = 900) -> list[dict[str, Any]]:
    """Wait until HA serves the onboarding status; the first start installs packages."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            status: list[dict[str, Any]] = request("GET", "/api/onboarding")
            return status
        except urllib.error.HTTPError as err:
            if err.code == 404:  # an onboarded HA no longer serves the onboarding views
                return [{"step": step, "done": True} for step in ONBOARDING_STEPS]
            time.sleep(2)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(2)
    raise SystemExit("develop: Home Assistant did not come up in time; see its log above")


def token_from_code(code: str) -> dict[str, Any]:
    """Exchange an authorization code for tokens."""
    tokens: dict[str, Any] = request(
        "POST",
        "/auth/token",
        {"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
        form=True,
    )
    return tokens


def onboard(config: Path) -> str:
    """Do whichever onboarding steps are still open; return an access token."""
    login_file = config / ".heatbalance-dev-login"
    steps = {s["step"]: s["done"] for s in wait_for_ha()}
    if not steps.get("user"):
        password = secrets.token_urlsafe(12)
        answer = request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": CLIENT_ID,
                "name": "Heating operator",
                "username": USERNAME,
                "password": password,
                "language": "en",
            },
        )
        login_file.write_text(json.dumps({"username": USERNAME, "password": password}))
        login_file.chmod(0o600)
        tokens = token_from_code(answer["auth_code"])
    else:
        login = json.loads(login_file.read_text())
        tokens = login_with_password(login["username"], login["password"])
    token: str = tokens["access_token"]
    if not steps.get("core_config"):
        request("POST", "/api/onboarding/core_config", {}, token)
    if not steps.get("analytics"):
        request("POST", "/api/onboarding/analytics", {}, token)
    if not steps.get("integration"):
        request(
            "POST",
            "/api/onboarding/integration",
            {"client_id": CLIENT_ID, "redirect_uri": f"{BASE}/?auth_callback=1"},
            token,
        )
    return token


def login_with_password(username: str, password: str) -> dict[str, Any]:
    """Log in through the login flow of the homeassistant auth provider."""
    flow = request(
        "POST",
        "/auth/login_flow",
        {
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": f"{BASE}/?auth_callback=1",
        },
    )
    result = request(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        {
            "client_id": CLIENT_ID,
            "username": username,
            "password": password,
        },
    )
    return token_from_code(result["result"])


def answer_form(step: dict[str, Any], demo: str) -> dict[str, Any]:
    """Fill a config-flow form: pick the demo network wherever a choice is offered."""
    answer: dict[str, Any] = {}
    for field in step.get("data_schema", []):
        name = field["name"]
        options = _options(field)
        if options:
            wanted = [o for o in options if o == demo or "demo" in o or "builtin" in o]
            answer[name] = wanted[0] if wanted else field.get("default", options[0])
        elif "default" in field:
            answer[name] = field["default"]
    return answer


def _options(field: dict[str, Any]) -> list[str]:
    """Values a select field offers, whichever way the schema serialised them."""
    raw = field.get("options") or field.get("selector", {}).get("select", {}).get("options", [])
    values = []
    for opt in raw:
        if isinstance(opt, dict):
            values.append(str(opt.get("value")))
        elif isinstance(opt, list | tuple):
            values.append(str(opt[0]))
        else:
            values.append(str(opt))
    return values


def start_flow(token: str, attempts: int = 5) -> dict[str, Any]:
    """Start heatbalance's config flow, waiting out HA's first-start package installs.

    Right after onboarding HA sets up its default integrations (text-to-speech, radio, …) and
    installs their packages one at a time; loading heatbalance waits behind those installs,
    so the first flow request can take minutes on a fresh configuration.
    """
    for attempt in range(1, attempts + 1):
        try:
            step: dict[str, Any] = request(
                "POST",
                "/api/config/config_entries/flow",
                {"handler": "heatbalance", "show_advanced_options": False},
                token,
                timeout_s=120,
            )
            return step
        except (TimeoutError, urllib.error.URLError):
            print(f"develop: HA is still busy installing packages (try {attempt})", file=sys.stderr)
    raise SystemExit("develop: Home Assistant never answered the config flow; see its log above")


def add_demo_network(token: str, demo: str) -> None:
    """Create the heatbalance entry for the demo network unless one exists."""
    entries = request("GET", "/api/config/config_entries/entry?domain=heatbalance", token=token)
    if entries:
        return
    step = start_flow(token)
    for _ in range(5):
        if step.get("type") != "form":
            break
        step = request(
            "POST",
            f"/api/config/config_entries/flow/{step['flow_id']}",
            answer_form(step, demo),
            token,
        )
    if step.get("type") != "create_entry":
        raise SystemExit(f"develop: the config flow did not create an entry: {step}")


def count_entities(token: str) -> int:
    """How many heatbalance entities HA has (0 until the entry's platforms are set up)."""
    return int(request("POST", "/api/template", {"template": TEMPLATE}, token))


def main() -> None:
    """Onboard, add the demo network and print the login."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--demo", default="estate12")
    parser.add_argument(
        "--virtual-plant", action="store_true", help="inlets read the gateway (develop_plant.py)"
    )
    parser.add_argument("--algorithm", help="with --virtual-plant: traditional or ai")
    parser.add_argument("--port", type=int, default=8123, help="HA's web server port")
    args = parser.parse_args()
    use_port(args.port)
    started = time.monotonic()
    token = onboard(args.config)
    add_demo_network(token, args.demo)
    chain = ""
    if args.virtual_plant:
        from develop_gateway import wire_gateway

        broker, moved = wire_gateway(args.config, token, args.algorithm)
        chain = (
            f"\n  plant     virtual plant → gateway → MQTT {broker} ({moved} inlets on the gateway)"
        )
    count = 0
    for _ in range(60):
        count = count_entities(token)
        if count:
            break
        time.sleep(2)
    login = json.loads((args.config / ".heatbalance-dev-login").read_text())
    print(
        "\n" + "=" * 72 + f"\nheatbalance demo is up after {time.monotonic() - started:.0f} s"
        f"\n  open      {BASE.replace('127.0.0.1', 'localhost')}/heatbalance   (the network view)"
        f"\n  username  {login['username']}\n  password  {login['password']}"
        f"\n  network   {args.demo} ({count} heatbalance entities){chain}\n" + "=" * 72 + "\n",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    main()
