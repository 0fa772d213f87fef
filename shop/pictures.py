"""Product pictures the project draws itself: an SVG swatch per product, nothing downloaded."""

import hashlib
from html import escape

# One simple glyph per category slug; unknown categories get a circle.
GLYPHS = {
    "coffee-tea": '<path d="M70 95h90v45a40 40 0 0 1-40 40h-10a40 40 0 0 1-40-40z" fill="#fff" '
    'fill-opacity=".85"/><path d="M160 110h12a18 18 0 0 1 0 36h-12" stroke="#fff" '
    'stroke-width="8" fill="none" stroke-opacity=".85"/>',
    "kitchen": '<rect x="65" y="90" width="110" height="70" rx="14" fill="#fff" '
    'fill-opacity=".85"/><rect x="175" y="110" width="40" height="10" rx="5" fill="#fff" '
    'fill-opacity=".85"/>',
    "books": '<rect x="75" y="70" width="90" height="120" rx="6" fill="#fff" fill-opacity=".85"/>'
    '<rect x="88" y="85" width="64" height="8" rx="4" fill-opacity=".25"/>',
    "outdoor": '<path d="M40 180 100 80l30 50 20-30 50 80z" fill="#fff" fill-opacity=".85"/>',
    "desk": '<rect x="60" y="80" width="120" height="80" rx="8" fill="#fff" fill-opacity=".85"/>'
    '<rect x="100" y="160" width="40" height="20" fill="#fff" fill-opacity=".85"/>',
}
DEFAULT_GLYPH = '<circle cx="120" cy="125" r="55" fill="#fff" fill-opacity=".85"/>'


def _hue(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 360


def product_svg(*, name: str, category_slug: str) -> str:
    """A 240x240 SVG: a gradient in a colour derived from the name, the category's glyph
    and the product's initials."""
    hue = _hue(name)
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    glyph = GLYPHS.get(category_slug, DEFAULT_GLYPH)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 240" role="img" '
        f'aria-label="{escape(name)}">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue},65%,58%)"/>'
        f'<stop offset="1" stop-color="hsl({(hue + 40) % 360},60%,38%)"/>'
        "</linearGradient></defs>"
        '<rect width="240" height="240" fill="url(#g)"/>'
        f"{glyph}"
        '<text x="120" y="222" text-anchor="middle" font-family="system-ui,sans-serif" '
        f'font-size="22" font-weight="700" fill="#fff">{escape(initials)}</text>'
        "</svg>"
    )
