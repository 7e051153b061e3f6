"""Brand images: Home Assistant serves the integration's own icon (quality scale: brands).

HA 2026 serves ``custom_components/<domain>/brand/*.png`` through its brands view; HA 2025.4
has no such view (it asks the brands CDN), so there the test is skipped with that reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

pytest.importorskip(
    "homeassistant.components.brands", reason="HA before 2026 has no local brand images"
)

BRAND = Path(__file__).parents[2] / "custom_components" / "heatbalance" / "brand"


@pytest.mark.parametrize("image", ["icon.png", "icon@2x.png", "logo.png"])
async def test_home_assistant_serves_the_brand_images(
    hass: HomeAssistant, hass_client, image: str
) -> None:
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    response = await client.get(f"/api/brands/integration/heatbalance/{image}")
    assert response.status == 200
    body = await response.read()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    # logo.png is not shipped: HA falls back to the icon, as its brands CDN does
    expected = BRAND / ("icon.png" if image == "logo.png" else image)
    assert body == expected.read_bytes()
