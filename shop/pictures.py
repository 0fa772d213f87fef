"""Product pictures the project draws itself: one SVG per product, nothing downloaded.

Each demo product (by slug) has its own drawing of that product. A product added
later in the admin, without a drawing of its own, gets its category's object with
its name on a label, so that no two products look the same either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from html import escape

SIZE = 240
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif"
INK = "#1f2933"


def _text(x, y, words: str, *, size=14, fill=INK, weight=700, anchor="middle", spacing=0) -> str:
    return (
        f'<text x="{x}" y="{y}" text-anchor="{anchor}" font-family="{FONT}" '
        f'font-size="{size}" font-weight="{weight}" fill="{fill}" letter-spacing="{spacing}">'
        f"{escape(words)}</text>"
    )


def _shadow(cx=120, cy=212, rx=80, ry=9) -> str:
    return f'<ellipse cx="{cx}" cy="{cy}" rx="{rx}" ry="{ry}" fill="#000" fill-opacity=".12"/>'


def _bean(x, y, angle, colour) -> str:
    return (
        f'<g transform="translate({x} {y}) rotate({angle})">'
        f'<ellipse rx="9" ry="6" fill="{colour}"/>'
        '<path d="M-8 0q4-3 8 0t8 0" stroke="#000" stroke-opacity=".35" stroke-width="1.5" '
        'fill="none"/></g>'
    )


# --- Coffee and tea ------------------------------------------------------------------------


def _coffee_bag(*, paper: str, label: str, origin: str, weight: str, roast: str, wide=False):
    left, right = (60, 180) if wide else (72, 168)
    beans = "".join(
        _bean(x, y, a, roast) for x, y, a in ((52, 202, 20), (186, 200, -30), (200, 188, 60))
    )
    return (
        _shadow()
        + f'<path d="M{left} 62h{right - left}l8 146H{left - 8}z" fill="{paper}"/>'
        + f'<path d="M{left} 62h{right - left}l-6-22H{left + 6}z" fill="{paper}" '
        'fill-opacity=".8"/>'
        + f'<rect x="{left + 8}" y="48" width="{right - left - 16}" height="6" rx="3" '
        'fill="#000" fill-opacity=".18"/>'
        + f'<rect x="{left + 10}" y="96" width="{right - left - 20}" height="78" rx="6" '
        f'fill="{label}"/>'
        + _text(120, 128, origin, size=15, fill="#fff", spacing=1)
        + _text(120, 150, weight, size=13, fill="#fff", weight=500)
        + _bean(120, 84, 0, roast)
        + beans
    )


def _tea_tin(*, colour: str, lid: str, name: str, weight: str, emblem: str):
    return (
        _shadow()
        + f'<rect x="66" y="70" width="108" height="138" rx="8" fill="{colour}"/>'
        + f'<rect x="62" y="54" width="116" height="26" rx="6" fill="{lid}"/>'
        + '<rect x="66" y="70" width="18" height="138" fill="#fff" fill-opacity=".15"/>'
        + '<rect x="78" y="112" width="84" height="62" rx="5" fill="#fffdf7"/>'
        + _text(120, 138, name, size=12 if len(name) > 7 else 15, spacing=0.5)
        + _text(120, 160, weight, size=12, weight=500)
        + emblem
    )


def _leaf(x, y, angle, colour="#4d7c0f") -> str:
    return (
        f'<g transform="translate({x} {y}) rotate({angle})">'
        f'<path d="M0 0q14-18 30 0q-14 18-30 0z" fill="{colour}"/>'
        '<path d="M2 0h26" stroke="#fff" stroke-opacity=".5" stroke-width="1.5"/></g>'
    )


def ethiopian_beans() -> str:
    return _coffee_bag(
        paper="#d6b98c", label="#b45309", origin="ETHIOPIA", weight="250 g · light", roast="#a16207"
    )


def colombian_beans() -> str:
    return _coffee_bag(
        paper="#c9a878",
        label="#047857",
        origin="COLOMBIA",
        weight="500 g · medium",
        roast="#78350f",
        wide=True,
    )


def espresso_blend() -> str:
    cup = (
        '<path d="M160 168h50l-6 30h-38z" fill="#fff" stroke="#d4d4d4" stroke-width="2"/>'
        '<path d="M209 176h6a7 7 0 0 1 0 14h-8" stroke="#d4d4d4" stroke-width="4" fill="none"/>'
        '<ellipse cx="185" cy="170" rx="23" ry="4" fill="#5b3417"/>'
        '<ellipse cx="185" cy="200" rx="32" ry="4" fill="#e5e5e5"/>'
    )
    return (
        _coffee_bag(
            paper="#3f2a1e",
            label="#b91c1c",
            origin="ESPRESSO",
            weight="1 kg · dark",
            roast="#3b1d0b",
            wide=True,
        )
        + cup
    )


def decaf_beans() -> str:
    drop = '<path d="M120 70q14 18 14 28a14 14 0 0 1-28 0q0-10 14-28z" fill="#38bdf8"/>'
    return (
        _coffee_bag(
            paper="#e7dcc8", label="#1d4ed8", origin="DECAF", weight="250 g", roast="#92400e"
        )
        + drop
    )


def sencha_tea() -> str:
    return _tea_tin(
        colour="#15803d",
        lid="#166534",
        name="SENCHA",
        weight="100 g",
        emblem=_leaf(96, 92, -20, "#bef264") + _leaf(116, 96, -40, "#d9f99d"),
    )


def earl_grey_tea() -> str:
    bergamot = (
        '<circle cx="186" cy="186" r="20" fill="#facc15"/>'
        '<circle cx="180" cy="180" r="5" fill="#fff" fill-opacity=".5"/>'
        + _leaf(192, 166, -60, "#65a30d")
    )
    return (
        _tea_tin(colour="#1e3a8a", lid="#172554", name="EARL GREY", weight="125 g", emblem="")
        + bergamot
    )


def rooibos_tea() -> str:
    vanilla = (
        '<path d="M170 206q20-50 40-70" stroke="#3f2a1e" stroke-width="5" fill="none" '
        'stroke-linecap="round"/>'
        '<g fill="#fef3c7" stroke="#f59e0b" stroke-width="1.5">'
        '<circle cx="208" cy="132" r="9"/><circle cx="196" cy="126" r="8"/>'
        '<circle cx="214" cy="120" r="8"/></g><circle cx="206" cy="126" r="4" fill="#f59e0b"/>'
    )
    return (
        _tea_tin(colour="#9a3412", lid="#7c2d12", name="ROOIBOS", weight="100 g", emblem="")
        + vanilla
    )


def matcha_tea() -> str:
    return (
        _shadow(rx=90)
        + '<path d="M40 130h130a65 60 0 0 1-130 0z" fill="#292524"/>'
        + '<ellipse cx="105" cy="130" rx="65" ry="14" fill="#44403c"/>'
        + '<ellipse cx="105" cy="131" rx="56" ry="10" fill="#65a30d"/>'
        + '<ellipse cx="95" cy="129" rx="18" ry="3" fill="#a3e635" fill-opacity=".8"/>'
        # the bamboo whisk (chasen)
        + '<g transform="rotate(18 190 130)">'
        '<rect x="182" y="60" width="16" height="50" rx="4" fill="#d6b36a"/>'
        '<path d="M176 110h28l6 60h-40z" fill="#e8cf8f"/>'
        '<path d="M180 112v56M186 112v58M192 112v58M198 112v58M204 112v56" stroke="#b08d3c" '
        'stroke-width="1.5"/></g>' + _text(105, 222, "MATCHA 30 g", size=13, fill="#3f6212")
    )


# --- Kitchen -----------------------------------------------------------------------------


def pour_over_dripper() -> str:
    return (
        _shadow()
        + '<path d="M80 150h80v46a14 14 0 0 1-14 14H94a14 14 0 0 1-14-14z" fill="#e0f2fe" '
        'stroke="#7dd3fc" stroke-width="3"/>'
        + '<rect x="82" y="176" width="76" height="30" rx="4" fill="#7c3f12" fill-opacity=".8"/>'
        + '<path d="M60 60h120l-34 78h-52z" fill="#fafaf9" stroke="#d6d3d1" stroke-width="3"/>'
        + '<rect x="70" y="138" width="100" height="12" rx="5" fill="#e7e5e4"/>'
        + '<path d="M85 72l18 56M120 72v56M155 72l-18 56" stroke="#d6d3d1" stroke-width="2"/>'
        + '<path d="M120 150v22" stroke="#7c3f12" stroke-width="3" stroke-dasharray="4 4"/>'
    )


def gooseneck_kettle() -> str:
    return (
        _shadow()
        + '<path d="M72 96h96l10 100a12 12 0 0 1-12 12H74a12 12 0 0 1-12-12z" fill="#cbd5e1"/>'
        + '<path d="M78 96h20l-8 112H74a12 12 0 0 1-12-12z" fill="#fff" fill-opacity=".35"/>'
        + '<path d="M66 190q-40 0-44-80q-2-16 12-20" stroke="#94a3b8" stroke-width="8" '
        'fill="none" stroke-linecap="round"/>'
        + '<path d="M168 110q36 4 30 50q-4 26-26 30" stroke="#334155" stroke-width="10" '
        'fill="none" stroke-linecap="round"/>'
        + '<ellipse cx="120" cy="96" rx="48" ry="8" fill="#94a3b8"/>'
        + '<rect x="110" y="78" width="20" height="14" rx="5" fill="#334155"/>'
    )


def burr_grinder() -> str:
    return (
        _shadow(rx=60)
        + '<path d="M86 34h68l-14 44h-40z" fill="#e0f2fe" fill-opacity=".8" stroke="#94a3b8" '
        'stroke-width="2"/>'
        + "".join(_bean(x, y, a, "#78350f") for x, y, a in ((108, 60, 10), (130, 64, -20)))
        + '<rect x="80" y="78" width="80" height="96" rx="10" fill="#1f2937"/>'
        + '<rect x="92" y="90" width="18" height="72" rx="4" fill="#fff" fill-opacity=".12"/>'
        + '<circle cx="120" cy="118" r="12" fill="#9ca3af"/>'
        + '<circle cx="120" cy="118" r="4" fill="#1f2937"/>'
        + '<path d="M132 118h36v-30" stroke="#9ca3af" stroke-width="6" fill="none" '
        'stroke-linecap="round"/><circle cx="168" cy="84" r="9" fill="#7c2d12"/>'
        + '<rect x="88" y="174" width="64" height="36" rx="6" fill="#374151"/>'
        + '<rect x="100" y="184" width="40" height="20" rx="3" fill="#78350f"/>'
    )


def french_press() -> str:
    return (
        _shadow(rx=60)
        + '<rect x="117" y="24" width="6" height="40" fill="#9ca3af"/>'
        + '<circle cx="120" cy="22" r="9" fill="#111827"/>'
        + '<rect x="76" y="60" width="88" height="14" rx="5" fill="#4b5563"/>'
        + '<rect x="80" y="74" width="80" height="128" rx="6" fill="#e0f2fe" fill-opacity=".6" '
        'stroke="#9ca3af" stroke-width="3"/>'
        + '<rect x="82" y="120" width="76" height="80" rx="4" fill="#5b3417"/>'
        + '<rect x="82" y="112" width="76" height="10" fill="#a16207" fill-opacity=".8"/>'
        + '<path d="M160 90h20a8 8 0 0 1 8 8v70a8 8 0 0 1-8 8h-20" stroke="#111827" '
        'stroke-width="10" fill="none"/>'
        + '<rect x="74" y="200" width="92" height="10" rx="3" fill="#4b5563"/>'
        + '<path d="M78 74l-10 -8" stroke="#4b5563" stroke-width="4"/>'
    )


def cast_iron_skillet() -> str:
    return (
        _shadow(cx=110, rx=95, ry=11)
        + '<rect x="168" y="112" width="66" height="18" rx="9" fill="#27272a"/>'
        + '<circle cx="222" cy="121" r="4" fill="#a1a1aa"/>'
        + '<circle cx="100" cy="122" r="78" fill="#27272a"/>'
        + '<circle cx="100" cy="122" r="64" fill="#3f3f46"/>'
        + '<path d="M60 92a50 50 0 0 1 40-22" stroke="#71717a" stroke-width="5" fill="none" '
        'stroke-linecap="round"/>'
        + '<path d="M22 110l-8-4" stroke="#27272a" stroke-width="10" stroke-linecap="round"/>'
        + _text(100, 128, "26 cm", size=14, fill="#a1a1aa", weight=600)
    )


def chefs_knife() -> str:
    return (
        _shadow(rx=95, ry=7) + '<g transform="rotate(-28 120 120)">'
        '<path d="M20 112h130v22H52q-26 0-32-22z" fill="#e5e7eb" stroke="#9ca3af" '
        'stroke-width="2"/>'
        '<path d="M26 118h122" stroke="#fff" stroke-width="3"/>'
        '<rect x="148" y="108" width="10" height="30" rx="3" fill="#6b7280"/>'
        '<rect x="158" y="111" width="68" height="24" rx="10" fill="#1f2937"/>'
        '<circle cx="176" cy="123" r="3" fill="#d1d5db"/><circle cx="196" cy="123" r="3" '
        'fill="#d1d5db"/><circle cx="214" cy="123" r="3" fill="#d1d5db"/></g>'
    )


def bamboo_board() -> str:
    return (
        _shadow(rx=92)
        + '<rect x="28" y="60" width="184" height="140" rx="18" fill="#d9b26f"/>'
        + '<path d="M28 96h184M28 132h184M28 168h184" stroke="#b88b45" stroke-width="2" '
        'stroke-opacity=".6"/>'
        + '<rect x="42" y="74" width="156" height="112" rx="10" fill="none" stroke="#b88b45" '
        'stroke-width="4"/>'
        + '<circle cx="190" cy="88" r="7" fill="#f7f5f2"/>'
        + '<circle cx="100" cy="140" r="20" fill="#ef4444"/>'
        + '<circle cx="100" cy="140" r="13" fill="#fca5a5"/>'
        + '<path d="M128 150h30" stroke="#4d7c0f" stroke-width="8" stroke-linecap="round"/>'
    )


def kitchen_scale() -> str:
    return (
        _shadow(rx=92)
        + '<path d="M36 170h168l-10 34H46z" fill="#e5e7eb"/>'
        + '<rect x="32" y="150" width="176" height="24" rx="8" fill="#f9fafb" stroke="#d1d5db" '
        'stroke-width="2"/>'
        + '<rect x="80" y="180" width="80" height="20" rx="4" fill="#111827"/>'
        + _text(120, 195, "0.0 g", size=14, fill="#4ade80", weight=600)
        + '<path d="M70 150q0-60 50-60t50 60z" fill="#fff" stroke="#d1d5db" stroke-width="2"/>'
        + '<circle cx="178" cy="190" r="5" fill="#9ca3af"/>'
        + '<circle cx="62" cy="190" r="5" fill="#9ca3af"/>'
    )


# --- Books: a cover with the book's own title ----------------------------------------------


def _book(*, cover: str, ink: str, lines: tuple[str, ...], emblem: str = "", size=17) -> str:
    first = 66
    title = "".join(
        _text(126, first + i * (size + 5), line, size=size, fill=ink)
        for i, line in enumerate(lines)
    )
    return (
        _shadow(rx=70)
        + '<rect x="64" y="30" width="132" height="180" rx="4" fill="#f5f5f4"/>'
        + f'<rect x="56" y="26" width="134" height="180" rx="4" fill="{cover}"/>'
        + '<rect x="56" y="26" width="12" height="180" fill="#000" fill-opacity=".18"/>'
        + title
        + emblem
    )


def book_ddia() -> str:
    boar = (
        '<path d="M88 150q20-26 54-18q22 4 26 22l10 6-10 4q-4 16-30 18H100q-18-4-12-32z" '
        'fill="#e7e5e4"/><circle cx="160" cy="152" r="3" fill="#1c1917"/>'
    )
    return _book(
        cover="#7f1d1d",
        ink="#fff",
        lines=("Designing", "Data-Intensive", "Applications"),
        emblem=boar,
        size=15,
    )


def book_release_it() -> str:
    bolt = '<path d="M132 124l-28 44h22l-10 34 32-48h-22l12-30z" fill="#facc15"/>'
    return _book(cover="#111827", ink="#facc15", lines=("Release It!",), emblem=bolt, size=20)


def book_pragmatic() -> str:
    plane = (
        '<path d="M90 170l72-30-20 48-14-14-12 14v-18l26-22-34 20z" fill="#fff" fill-opacity=".9"/>'
    )
    return _book(
        cover="#0e7490", ink="#fff", lines=("The", "Pragmatic", "Programmer"), emblem=plane
    )


def book_two_scoops() -> str:
    cone = (
        '<path d="M108 160l18 44 18-44z" fill="#d97706"/>'
        '<circle cx="116" cy="150" r="14" fill="#fbcfe8"/>'
        '<circle cx="136" cy="150" r="14" fill="#fde68a"/>'
    )
    return _book(cover="#065f46", ink="#fff", lines=("Two Scoops", "of Django"), emblem=cone)


def book_web_scalability() -> str:
    bars = "".join(
        f'<rect x="{86 + i * 18}" y="{196 - h}" width="12" height="{h}" fill="#93c5fd"/>'
        for i, h in enumerate((14, 24, 36, 50, 66))
    )
    return _book(
        cover="#1e3a8a",
        ink="#fff",
        lines=("Web Scalability", "for Startup", "Engineers"),
        emblem=bars,
        size=15,
    )


def book_sre() -> str:
    gauge = (
        '<path d="M90 186a36 36 0 0 1 72 0" stroke="#fff" stroke-width="8" fill="none"/>'
        '<path d="M126 186l18-24" stroke="#f87171" stroke-width="5" stroke-linecap="round"/>'
    )
    return _book(
        cover="#334155", ink="#fff", lines=("Site", "Reliability", "Engineering"), emblem=gauge
    )


def book_refactoring() -> str:
    arrows = (
        '<path d="M92 160h60l-10-10M160 184H100l10 10" stroke="#fff" stroke-width="6" '
        'fill="none" stroke-linecap="round" stroke-linejoin="round"/>'
    )
    return _book(cover="#b45309", ink="#fff", lines=("Refactoring",), emblem=arrows, size=20)


def book_roaster() -> str:
    beans = "".join(_bean(x, y, a, "#fde68a") for x, y, a in ((106, 168, 20), (140, 176, -30)))
    return _book(
        cover="#3f2a1e",
        ink="#fde68a",
        lines=("The Coffee", "Roaster's", "Companion"),
        emblem=beans,
    )


# --- Outdoor -----------------------------------------------------------------------------


def travel_mug() -> str:
    return (
        _shadow(rx=56)
        + '<path d="M82 64h76l-8 140a8 8 0 0 1-8 8H98a8 8 0 0 1-8-8z" fill="#0f766e"/>'
        + '<path d="M92 64h18l-4 148h-8a8 8 0 0 1-8-8z" fill="#fff" fill-opacity=".2"/>'
        + '<rect x="76" y="44" width="88" height="24" rx="8" fill="#1f2937"/>'
        + '<rect x="128" y="36" width="26" height="10" rx="4" fill="#374151"/>'
        + '<rect x="86" y="120" width="68" height="30" rx="4" fill="#fff" fill-opacity=".9"/>'
        + _text(120, 140, "350 ml", size=13, fill="#0f766e")
        + '<path d="M110 28q6-10 0-18M124 30q6-10 0-18" stroke="#94a3b8" stroke-width="3" '
        'fill="none" stroke-linecap="round"/>'
    )


def camping_stove() -> str:
    return (
        _shadow(rx=92)
        + '<rect x="140" y="110" width="60" height="94" rx="14" fill="#2563eb"/>'
        + '<rect x="150" y="100" width="40" height="14" rx="4" fill="#9ca3af"/>'
        + _text(170, 160, "GAS", size=13, fill="#fff")
        + '<path d="M140 130h-30" stroke="#374151" stroke-width="5"/>'
        + '<rect x="44" y="150" width="70" height="50" rx="6" fill="#4b5563"/>'
        + '<path d="M40 130h78M50 130l-6 70M112 130l6 70" stroke="#9ca3af" stroke-width="5" '
        'stroke-linecap="round"/>'
        + '<path d="M62 126q6-26 18-30q-4 14 6 20q4-14 10-20q8 14 2 30z" fill="#f97316"/>'
        + '<path d="M72 126q4-14 10-16q0 8 6 10q2-6 4-8q4 6 0 14z" fill="#60a5fa"/>'
    )


def enamel_mug() -> str:
    specks = "".join(
        f'<circle cx="{x}" cy="{y}" r="2.5" fill="#1e3a8a"/>'
        for x, y in ((90, 110), (120, 150), (150, 120), (104, 180), (140, 176), (130, 100))
    )
    return (
        _shadow(rx=74)
        + '<path d="M160 96h14a26 26 0 0 1 0 52h-14" stroke="#f8fafc" stroke-width="12" '
        'fill="none"/><path d="M160 96h14a26 26 0 0 1 0 52h-14" stroke="#1e3a8a" '
        'stroke-width="3" fill="none"/>'
        + '<path d="M66 80h100v112a14 14 0 0 1-14 14H80a14 14 0 0 1-14-14z" fill="#f8fafc" '
        'stroke="#cbd5e1" stroke-width="2"/>'
        + '<ellipse cx="116" cy="80" rx="50" ry="8" fill="#1e3a8a"/>'
        + '<ellipse cx="116" cy="80" rx="44" ry="5" fill="#3f2a1e"/>'
        + specks
    )


def trail_backpack() -> str:
    return (
        _shadow(rx=70)
        + '<path d="M86 52q34-30 68 0" stroke="#374151" stroke-width="8" fill="none"/>'
        + '<rect x="64" y="50" width="112" height="158" rx="30" fill="#c2410c"/>'
        + '<path d="M64 96q56 18 112 0v-16q-56 18-112 0z" fill="#9a3412"/>'
        + '<rect x="86" y="126" width="68" height="62" rx="14" fill="#ea580c" stroke="#9a3412" '
        'stroke-width="3"/>'
        + '<path d="M92 140h56" stroke="#9a3412" stroke-width="3"/>'
        + '<rect x="114" y="100" width="12" height="20" rx="3" fill="#1f2937"/>'
        + _text(120, 178, "28 L", size=14, fill="#fff")
    )


def headlamp() -> str:
    return (
        '<path d="M150 96L236 70v78l-86-26z" fill="#fef9c3" fill-opacity=".9"/>'
        + _shadow(rx=80)
        + '<ellipse cx="94" cy="120" rx="74" ry="56" fill="none" stroke="#16a34a" '
        'stroke-width="12"/>'
        + '<rect x="112" y="90" width="50" height="46" rx="10" fill="#1f2937"/>'
        + '<circle cx="150" cy="113" r="15" fill="#fde047" stroke="#9ca3af" stroke-width="4"/>'
        + '<circle cx="124" cy="104" r="4" fill="#ef4444"/>'
        + _text(94, 206, "400 lm", size=14, fill="#166534")
    )


def wool_socks() -> str:
    def sock(dx, colour):
        return (
            f'<g transform="translate({dx} 0)">'
            f'<path d="M56 36h46v108q0 10 8 16l26 18a20 20 0 0 1-22 34l-48-34q-10-8-10-22z" '
            f'fill="{colour}"/>'
            '<rect x="56" y="36" width="46" height="22" fill="#fff" fill-opacity=".5"/>'
            '<path d="M56 70h46M56 80h46" stroke="#fff" stroke-opacity=".35" stroke-width="3"/>'
            '<path d="M112 192l18 14a20 20 0 0 0 8-24l-20-14z" fill="#fff" fill-opacity=".35"/>'
            "</g>"
        )

    return _shadow(rx=90) + sock(0, "#7c3aed") + sock(52, "#6d28d9")


def water_filter_bottle() -> str:
    return (
        _shadow(rx=50)
        + '<rect x="88" y="70" width="64" height="140" rx="18" fill="#38bdf8" fill-opacity=".55" '
        'stroke="#0284c7" stroke-width="3"/>'
        + '<rect x="108" y="80" width="24" height="110" rx="8" fill="#e0f2fe" stroke="#0284c7" '
        'stroke-width="2"/>'
        + '<path d="M112 100h16M112 116h16M112 132h16M112 148h16M112 164h16" stroke="#7dd3fc" '
        'stroke-width="3"/>'
        + '<rect x="92" y="48" width="56" height="26" rx="8" fill="#0c4a6e"/>'
        + '<rect x="112" y="26" width="14" height="24" rx="6" fill="#0369a1"/>'
        + '<path d="M148 56q24 0 24 22" stroke="#0c4a6e" stroke-width="6" fill="none"/>'
    )


def camp_chair() -> str:
    return (
        _shadow(rx=84)
        + '<path d="M60 204L172 104M180 204L68 104" stroke="#9ca3af" stroke-width="8" '
        'stroke-linecap="round"/>'
        + '<path d="M62 52h116v66q-58 20-116 0z" fill="#15803d"/>'
        + '<path d="M62 118q58 20 116 0l8 28q-66 22-132 0z" fill="#166534"/>'
        + '<path d="M62 52v92M178 52v92" stroke="#6b7280" stroke-width="6" '
        'stroke-linecap="round"/>'
        + '<rect x="40" y="96" width="30" height="8" rx="4" fill="#374151"/>'
        + '<rect x="170" y="96" width="30" height="8" rx="4" fill="#374151"/>'
    )


# --- Desk --------------------------------------------------------------------------------


def dotted_notebook() -> str:
    dots = "".join(
        f'<circle cx="{x}" cy="{y}" r="1.6" fill="#a8a29e"/>'
        for x in range(86, 176, 12)
        for y in range(52, 200, 12)
    )
    return (
        _shadow(rx=70)
        + '<rect x="66" y="34" width="120" height="176" rx="6" fill="#292524"/>'
        + '<rect x="74" y="40" width="108" height="164" rx="4" fill="#fafaf9"/>'
        + dots
        + '<rect x="160" y="34" width="8" height="176" fill="#b91c1c"/>'
        + _text(128, 226, "A5 · dotted", size=12, fill="#57534e", weight=600)
    )


def fountain_pen() -> str:
    return (
        _shadow(rx=90, ry=7) + '<g transform="rotate(-40 120 120)">'
        '<rect x="40" y="108" width="96" height="26" rx="12" fill="#1e3a8a"/>'
        '<rect x="60" y="104" width="58" height="6" rx="3" fill="#d4af37"/>'
        '<rect x="132" y="110" width="8" height="22" fill="#d4af37"/>'
        '<path d="M140 112h22l38 9-38 9h-22z" fill="#111827"/>'
        '<path d="M162 114l40 7-40 7z" fill="#d4af37"/>'
        '<path d="M166 121h30" stroke="#111827" stroke-width="1.5"/>'
        "</g>" + '<path d="M164 196q20-10 44 0" stroke="#1e3a8a" stroke-width="3" fill="none"/>'
    )


def desk_lamp() -> str:
    return (
        '<path d="M150 88l60 110H96z" fill="#fef9c3" fill-opacity=".8"/>'
        + _shadow(cx=90, rx=60)
        + '<rect x="50" y="196" width="80" height="14" rx="6" fill="#374151"/>'
        + '<path d="M90 196L70 120l80-40" stroke="#4b5563" stroke-width="8" fill="none" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
        + '<circle cx="70" cy="120" r="7" fill="#111827"/>'
        + '<path d="M134 64l46 16-22 34-40-22z" fill="#111827"/>'
        + '<path d="M142 102l30 10" stroke="#fde047" stroke-width="5" stroke-linecap="round"/>'
    )


def monitor_stand() -> str:
    return (
        _shadow(rx=100)
        + '<rect x="48" y="56" width="144" height="88" rx="6" fill="#111827"/>'
        + '<rect x="54" y="62" width="132" height="76" rx="3" fill="#60a5fa"/>'
        + '<path d="M54 118l40-30 30 22 24-16 38 24v20H54z" fill="#1d4ed8" fill-opacity=".6"/>'
        + '<rect x="110" y="144" width="20" height="16" fill="#374151"/>'
        + '<rect x="22" y="160" width="196" height="16" rx="3" fill="#c08a4a"/>'
        + '<rect x="22" y="160" width="196" height="4" fill="#d9a867"/>'
        + '<rect x="32" y="176" width="14" height="34" fill="#a0703a"/>'
        + '<rect x="194" y="176" width="14" height="34" fill="#a0703a"/>'
        + '<rect x="60" y="184" width="50" height="12" rx="2" fill="#a0703a" fill-opacity=".6"/>'
    )


def mechanical_keyboard() -> str:
    keys = "".join(
        f'<rect x="{34 + c * 15}" y="{98 + r * 16}" width="12" height="12" rx="2" '
        f'fill="{"#f97316" if (r, c) in ((0, 0), (3, 11)) else "#e5e7eb"}"/>'
        for r in range(4)
        for c in range(12)
    )
    return (
        _shadow(rx=100)
        + '<path d="M30 62q10-20 30-8t40-10" stroke="#6b7280" stroke-width="4" fill="none"/>'
        + '<rect x="24" y="88" width="192" height="84" rx="10" fill="#374151"/>'
        + keys
        + '<rect x="64" y="160" width="112" height="8" rx="2" fill="#e5e7eb"/>'
    )


def desk_mat() -> str:
    return (
        _shadow(rx=104, ry=8)
        + '<rect x="14" y="78" width="212" height="110" rx="14" fill="#6b7280"/>'
        + '<rect x="22" y="86" width="196" height="94" rx="10" fill="none" stroke="#9ca3af" '
        'stroke-width="2" stroke-dasharray="6 5"/>'
        + '<rect x="40" y="112" width="110" height="44" rx="6" fill="#e5e7eb" fill-opacity=".9"/>'
        + '<ellipse cx="186" cy="134" rx="14" ry="20" fill="#f3f4f6"/>'
        + '<path d="M186 116v12" stroke="#9ca3af" stroke-width="2"/>'
        + _text(120, 214, "90 × 40 cm felt", size=12, fill="#4b5563", weight=600)
    )


def cable_organiser() -> str:
    clips = "".join(
        f'<g transform="translate({x} 150)"><rect x="-16" y="-12" width="32" height="28" rx="8" '
        f'fill="{colour}"/><circle cy="-2" r="6" fill="#f7f5f2"/></g>'
        for x, colour in ((56, "#14b8a6"), (100, "#f59e0b"), (144, "#8b5cf6"), (188, "#ef4444"))
    )
    return (
        _shadow(rx=96)
        + '<path d="M20 120q40-60 80-10t80-10 40 20" stroke="#111827" stroke-width="6" '
        'fill="none" stroke-linecap="round"/>'
        + '<path d="M20 96q60-40 110 0t90-10" stroke="#4b5563" stroke-width="6" fill="none" '
        'stroke-linecap="round"/>'
        + clips
        + '<rect x="60" y="180" width="120" height="14" rx="7" fill="#0f766e"/>'
        + '<rect x="60" y="180" width="40" height="14" rx="7" fill="#115e59"/>'
    )


def headphones() -> str:
    return (
        _shadow(rx=80)
        + '<path d="M56 140V112a64 64 0 0 1 128 0v28" stroke="#1f2937" stroke-width="14" '
        'fill="none" stroke-linecap="round"/>'
        + '<path d="M66 104a56 56 0 0 1 108 0" stroke="#6b7280" stroke-width="4" fill="none"/>'
        + '<rect x="36" y="126" width="44" height="76" rx="20" fill="#111827"/>'
        + '<rect x="160" y="126" width="44" height="76" rx="20" fill="#111827"/>'
        + '<rect x="70" y="138" width="14" height="52" rx="6" fill="#6b7280"/>'
        + '<rect x="156" y="138" width="14" height="52" rx="6" fill="#6b7280"/>'
        + '<circle cx="58" cy="150" r="4" fill="#22c55e"/>'
    )


# --- Which drawing for which product ---------------------------------------------------------

DRAWINGS: dict[str, Callable[[], str]] = {
    "ethiopian-yirgacheffe-beans-250-g": ethiopian_beans,
    "colombian-supremo-beans-500-g": colombian_beans,
    "espresso-blend-1-kg": espresso_blend,
    "decaf-swiss-water-250-g": decaf_beans,
    "sencha-green-tea-100-g": sencha_tea,
    "earl-grey-loose-leaf-125-g": earl_grey_tea,
    "rooibos-vanilla-100-g": rooibos_tea,
    "matcha-ceremonial-grade-30-g": matcha_tea,
    "pour-over-coffee-dripper": pour_over_dripper,
    "gooseneck-kettle-1-l": gooseneck_kettle,
    "burr-coffee-grinder": burr_grinder,
    "french-press-800-ml": french_press,
    "cast-iron-skillet-26-cm": cast_iron_skillet,
    "chefs-knife-20-cm": chefs_knife,
    "bamboo-cutting-board": bamboo_board,
    "digital-kitchen-scale": kitchen_scale,
    "designing-data-intensive-applications": book_ddia,
    "release-it": book_release_it,
    "the-pragmatic-programmer": book_pragmatic,
    "two-scoops-of-django": book_two_scoops,
    "web-scalability-for-startup-engineers": book_web_scalability,
    "site-reliability-engineering": book_sre,
    "refactoring": book_refactoring,
    "the-coffee-roasters-companion": book_roaster,
    "insulated-travel-mug-350-ml": travel_mug,
    "camping-stove": camping_stove,
    "enamel-camp-mug": enamel_mug,
    "trail-backpack-28-l": trail_backpack,
    "headlamp-400-lm": headlamp,
    "merino-wool-socks": wool_socks,
    "water-filter-bottle": water_filter_bottle,
    "folding-camp-chair": camp_chair,
    "dotted-notebook-a5": dotted_notebook,
    "fountain-pen": fountain_pen,
    "desk-lamp-led": desk_lamp,
    "monitor-stand-oak": monitor_stand,
    "mechanical-keyboard": mechanical_keyboard,
    "wool-felt-desk-mat": desk_mat,
    "cable-organiser-set": cable_organiser,
    "noise-cancelling-headphones": headphones,
}

# A product without a drawing of its own: its category's object, with its name on a label.
CATEGORY_DRAWINGS: dict[str, Callable[[], str]] = {
    "coffee-tea": lambda: _tea_tin(colour="#0f766e", lid="#115e59", name="", weight="", emblem=""),
    "kitchen": lambda: (
        _shadow() + '<rect x="50" y="80" width="140" height="110" rx="16" '
        'fill="#cbd5e1"/><rect x="30" y="96" width="24" height="10" rx="5" fill="#475569"/>'
    ),
    "books": lambda: _book(cover="#57534e", ink="#fff", lines=()),
    "outdoor": lambda: (
        _shadow() + '<path d="M30 200l60-110 30 50 24-34 66 94z" '
        'fill="#4d7c0f"/><circle cx="180" cy="60" r="20" fill="#facc15"/>'
    ),
    "desk": lambda: (
        _shadow() + '<rect x="40" y="120" width="160" height="14" rx="4" '
        'fill="#a0703a"/><rect x="56" y="134" width="10" height="70" fill="#a0703a"/>'
        '<rect x="174" y="134" width="10" height="70" fill="#a0703a"/>'
    ),
}


def _hue(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 360


def _fallback(name: str, category_slug: str) -> str:
    drawing = CATEGORY_DRAWINGS.get(category_slug)
    body = drawing() if drawing else _shadow() + '<circle cx="120" cy="120" r="70" fill="#94a3b8"/>'
    short = name if len(name) <= 22 else name[:21] + "…"
    return (
        body
        + '<rect x="20" y="14" width="200" height="30" rx="15" fill="#fff" fill-opacity=".92"/>'
        + _text(120, 35, short, size=14)
    )


def product_svg(*, name: str, category_slug: str, slug: str = "") -> str:
    """A 240x240 SVG of the product: its own drawing, on a soft background of its own hue."""
    drawing = DRAWINGS.get(slug)
    body = drawing() if drawing else _fallback(name, category_slug)
    hue = _hue(name)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" role="img" '
        f'aria-label="{escape(name)}">'
        f'<rect width="{SIZE}" height="{SIZE}" fill="hsl({hue},45%,93%)"/>'
        f"{body}</svg>"
    )
