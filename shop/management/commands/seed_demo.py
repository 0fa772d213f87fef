"""Load the demo catalogue: 40 products in 5 categories. Safe to run again."""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.text import slugify

from shop.models import Category, Product

# (category name, slug) -> [(product name, price, stock, description)]
CATALOGUE = {
    ("Coffee & Tea", "coffee-tea"): [
        (
            "Ethiopian Yirgacheffe Beans 250 g",
            "12.50",
            40,
            "Bright, floral single-origin coffee, light roast.",
        ),
        (
            "Colombian Supremo Beans 500 g",
            "16.90",
            35,
            "Balanced medium roast with notes of caramel.",
        ),
        ("Espresso Blend 1 kg", "24.00", 20, "Dark roast blend for espresso machines."),
        ("Decaf Swiss Water 250 g", "11.00", 15, "Chemical-free decaffeinated medium roast."),
        ("Sencha Green Tea 100 g", "8.40", 50, "Steamed Japanese green tea, grassy and fresh."),
        ("Earl Grey Loose Leaf 125 g", "7.20", 45, "Black tea scented with bergamot oil."),
        ("Rooibos Vanilla 100 g", "6.80", 30, "Caffeine-free South African red bush tea."),
        ("Matcha Ceremonial Grade 30 g", "19.50", 12, "Stone-ground green tea powder."),
    ],
    ("Kitchen", "kitchen"): [
        ("Pour-Over Coffee Dripper", "22.00", 25, "Ceramic cone dripper for size 02 filters."),
        ("Gooseneck Kettle 1 L", "39.00", 18, "Stainless steel kettle for a steady pour."),
        ("Burr Coffee Grinder", "89.00", 10, "Conical steel burrs, 40 grind settings."),
        ("French Press 800 ml", "29.50", 22, "Borosilicate glass with a steel frame."),
        ("Cast Iron Skillet 26 cm", "34.90", 16, "Pre-seasoned, oven safe, lasts a lifetime."),
        ("Chef's Knife 20 cm", "59.00", 14, "High-carbon stainless steel blade."),
        ("Bamboo Cutting Board", "18.00", 30, "Large board with a juice groove."),
        ("Digital Kitchen Scale", "21.50", 27, "Weighs to 0.1 g, with a timer for brewing."),
    ],
    ("Books", "books"): [
        (
            "Designing Data-Intensive Applications",
            "42.00",
            12,
            "Reliable, scalable and maintainable systems.",
        ),
        ("Release It!", "36.50", 9, "Design and deploy production-ready software."),
        (
            "The Pragmatic Programmer",
            "39.90",
            15,
            "From journeyman to master, 20th anniversary edition.",
        ),
        ("Two Scoops of Django", "44.00", 8, "Best practices for the Django web framework."),
        (
            "Web Scalability for Startup Engineers",
            "33.00",
            6,
            "Tips and techniques for scaling web applications.",
        ),
        ("Site Reliability Engineering", "46.00", 7, "How Google runs production systems."),
        ("Refactoring", "41.00", 10, "Improving the design of existing code."),
        ("The Coffee Roaster's Companion", "27.50", 5, "Roasting coffee at home and in the shop."),
    ],
    ("Outdoor", "outdoor"): [
        ("Insulated Travel Mug 350 ml", "24.90", 40, "Keeps coffee hot for six hours."),
        ("Camping Stove", "49.00", 11, "Compact gas stove with piezo ignition."),
        ("Enamel Camp Mug", "9.90", 60, "Chip-resistant enamel on steel."),
        ("Trail Backpack 28 L", "79.00", 9, "Ventilated back panel and rain cover."),
        ("Headlamp 400 lm", "29.00", 24, "Rechargeable, red light mode."),
        ("Merino Wool Socks", "16.50", 55, "Cushioned hiking socks, pair."),
        ("Water Filter Bottle", "34.00", 3, "Filters 99.9% of bacteria on the go."),
        ("Folding Camp Chair", "45.00", 8, "Aluminium frame, carries 120 kg."),
    ],
    ("Desk", "desk"): [
        ("Dotted Notebook A5", "14.00", 70, "192 pages of 100 g/m² paper."),
        ("Fountain Pen", "32.00", 20, "Steel nib, medium, with a converter."),
        ("Desk Lamp LED", "54.00", 13, "Dimmable, warm to cool white."),
        ("Monitor Stand Oak", "69.00", 7, "Solid oak riser with storage underneath."),
        ("Mechanical Keyboard", "119.00", 6, "Hot-swappable switches, tenkeyless."),
        ("Wool Felt Desk Mat", "38.00", 17, "90 × 40 cm, made of merino felt."),
        ("Cable Organiser Set", "12.90", 44, "Silicone clips and velcro ties."),
        ("Noise-Cancelling Headphones", "199.00", 2, "Over-ear, 30 hours of battery."),
    ],
}


class Command(BaseCommand):
    help = "Create or update the demo catalogue (idempotent: run it as often as you like)."

    @transaction.atomic
    def handle(self, *args, **options):
        created = existing = 0
        for (category_name, category_slug), products in CATALOGUE.items():
            category, _ = Category.objects.update_or_create(
                slug=category_slug, defaults={"name": category_name}
            )
            for name, price, stock, description in products:
                _, was_created = Product.objects.get_or_create(
                    slug=slugify(name),
                    defaults={
                        "category": category,
                        "name": name,
                        "price": Decimal(price),
                        "stock": stock,
                        "description": description,
                    },
                )
                created += was_created
                existing += not was_created
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue ready: {created} products created, {existing} already there (left as they are)."
            )
        )
