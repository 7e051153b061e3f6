"""Issue 13 item 6: the UI that ``scripts/develop`` starts loads, with its services and blueprints.

The issue saw HA 2026.10 stay on "Loading…" because ``get_services`` failed, and the
blueprints that the script linked in were not listed. Both are checked on the same start code.
"""

from __future__ import annotations

from pathlib import Path

from .conftest import browser_page
from .ha_instance import RunningHA


async def test_ui_loads_with_services_and_blueprints(ha: RunningHA, artifacts: Path) -> None:
    """Logged in, the app shows its sidebar; services and heatbalance's blueprints are listed."""
    async with browser_page(ha) as page:
        await page.locator("ha-sidebar").get_by_text("Settings").wait_for()
        await page.screenshot(path=artifacts / "ui-loads.png")
    services, blueprints = ha.ws(
        {"type": "get_services"}, {"type": "blueprint/list", "domain": "automation"}
    )
    assert services["success"], services
    assert services["result"].get("heatbalance"), sorted(services["result"])
    assert blueprints["success"], blueprints
    ours = sorted(p for p in blueprints["result"] if p.startswith("heatbalance/"))
    assert ours, blueprints["result"]
