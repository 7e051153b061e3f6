"""Draw heatbalance's brand images (custom_components/heatbalance/brand/).

Home Assistant 2026 serves a custom integration's ``brand/`` images itself (integration
list, config flow); earlier versions fall back to the brands CDN. A balance beam over a
radiator's warm wave: heating that is balanced. Run with the HA venv (Pillow ships with HA):
``.venv/ha2026/bin/python scripts/make_brand.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "custom_components" / "heatbalance" / "brand"
WARM = (232, 93, 4)
DEEP = (157, 2, 8)


def icon(size: int) -> Image.Image:
    """The square icon at ``size`` pixels, drawn at 4× and downsampled for smooth edges."""
    big = size * 4
    s = big / 256.0
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((8 * s, 8 * s, 248 * s, 248 * s), radius=48 * s, fill=WARM)
    white = (255, 255, 255, 255)
    w = round(10 * s)
    d.line((128 * s, 52 * s, 128 * s, 150 * s), fill=white, width=w)  # post
    d.line((56 * s, 76 * s, 200 * s, 76 * s), fill=white, width=w)  # beam
    d.ellipse((116 * s, 42 * s, 140 * s, 66 * s), fill=white)
    for x in (56, 200):  # the two pans
        d.line((x * s, 76 * s, (x - 22) * s, 122 * s), fill=white, width=round(5 * s))
        d.line((x * s, 76 * s, (x + 22) * s, 122 * s), fill=white, width=round(5 * s))
        d.chord(((x - 30) * s, 100 * s, (x + 30) * s, 144 * s), 0, 180, fill=white)
    d.rectangle((92 * s, 150 * s, 164 * s, 160 * s), fill=white)  # foot
    for k in range(3):  # warm water waves
        y = (184 + 20 * k) * s
        for i in range(4):
            x0 = (48 + 40 * i) * s
            d.arc(
                (x0, y - 10 * s, x0 + 40 * s, y + 10 * s),
                180 if i % 2 == 0 else 0,
                360 if i % 2 == 0 else 180,
                fill=DEEP if k == 1 else white,
                width=round(7 * s),
            )
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write icon.png (256 px) and icon@2x.png (512 px)."""
    OUT.mkdir(parents=True, exist_ok=True)
    icon(256).save(OUT / "icon.png", optimize=True)
    icon(512).save(OUT / "icon@2x.png", optimize=True)


if __name__ == "__main__":
    main()
