"""The demo store's catalog and staff, generated deterministically (pure: no storage).

The same generator feeds the terminal's standalone demo (app/demo.py), the
embedded server's demo organization and the benchmarks (100,000 products), so
ids, SKUs and barcodes agree everywhere.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from app.domain.barcode import with_check_digit
from app.domain.permissions import Role

CATEGORIES = {
    "Fruit & Veg": (["Apples", "Bananas", "Carrots", "Tomatoes", "Onions", "Pears", "Leeks"], 50, 400, 0),
    "Bakery": (["Sourdough", "Baguette", "Croissant", "Rye Loaf", "Bagels", "Muffin"], 90, 450, 0),
    "Dairy": (["Milk", "Butter", "Yoghurt", "Cheddar", "Cream", "Feta"], 90, 700, 0),
    "Meat & Fish": (["Chicken Breast", "Beef Mince", "Salmon Fillet", "Pork Chops", "Ham"], 300, 1500, 0),
    "Deli": (["Olives", "Hummus", "Pesto", "Salami", "Coleslaw"], 200, 900, 0),
    "Frozen": (["Peas", "Pizza", "Ice Cream", "Fish Fingers", "Chips"], 150, 800, 0),
    "Pantry": (["Pasta", "Rice", "Flour", "Sugar", "Lentils", "Oats"], 80, 500, 0),
    "Tins & Jars": (["Chopped Tomatoes", "Baked Beans", "Tuna", "Sweetcorn", "Jam"], 60, 450, 0),
    "Breakfast": (["Cornflakes", "Granola", "Muesli", "Porridge", "Honey"], 150, 650, 0),
    "Snacks": (["Crisps", "Pretzels", "Popcorn", "Nuts", "Rice Cakes"], 80, 450, 230_000),
    "Confectionery": (["Chocolate Bar", "Gummies", "Toffee", "Mints", "Fudge"], 60, 400, 230_000),
    "Soft Drinks": (["Cola", "Lemonade", "Orange Juice", "Sparkling Water", "Iced Tea"], 80, 350, 230_000),
    "Beer & Wine": (["Lager", "Stout", "Red Wine", "White Wine", "Cider"], 200, 1800, 230_000),
    "Coffee & Tea": (["Ground Coffee", "Coffee Beans", "Green Tea", "Black Tea", "Herbal Tea"], 250, 1200, 0),
    "Household": (["Washing Up Liquid", "Bin Bags", "Kitchen Roll", "Sponges", "Bleach"], 100, 800, 230_000),
    "Personal Care": (["Shampoo", "Toothpaste", "Soap", "Deodorant", "Razors"], 150, 900, 230_000),
    "Baby": (["Nappies", "Baby Wipes", "Baby Food", "Formula"], 150, 1600, 0),
    "Pet": (["Dog Food", "Cat Food", "Cat Litter", "Dog Treats"], 150, 1500, 230_000),
    "Stationery": (["Notebook", "Pens", "Envelopes", "Tape", "Batteries"], 100, 900, 230_000),
    "Health": (["Paracetamol", "Plasters", "Vitamins", "Hand Gel"], 150, 900, 0),
}
BRANDS = ["Green Valley", "Harbour", "Oak & Ash", "Sunny Side", "Northfield", "Millbrook",
          "Riverside", "Blue Hill", "Golden Crest", "Kinsale", "Atlantic", "Meadow"]
SIZES = ["Small", "Large", "Family Pack", "Organic", "Light", "Classic", "Value", "Premium"]

DEMO_STAFF = [
    # (name, code, role, pin)
    ("Olivia Owner", "1001", Role.OWNER, "111111"),
    ("Max Manager", "1002", Role.MANAGER, "222222"),
    ("Cass Cashier", "1003", Role.CASHIER, "3333"),
    ("Sam Stock", "1004", Role.STOCK, "4444"),
]
WEIGHED = [("Loose Apples", 299), ("Loose Bananas", 189), ("Cheddar by Weight", 1490),
           ("Deli Ham by Weight", 1990), ("Mixed Nuts by Weight", 2490), ("Loose Carrots", 129)]


def demo_uuid(rng: random.Random) -> str:
    """A deterministic UUIDv7-shaped id (version and variant bits set) from ``rng``."""
    value = rng.getrandbits(128)
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


@dataclass(frozen=True)
class DemoProduct:
    id: str
    sku: str
    name: str
    category: str
    price: int
    tax_rate_ppm: int
    barcodes: tuple[str, ...]
    sold_by_weight: bool
    reorder_level_milli: int
    initial_stock_milli: int


def category_ids(seed: int = 7) -> dict[str, str]:
    rng = random.Random(seed * 1_000_003)
    return {name: demo_uuid(rng) for name in CATEGORIES}


def generate_products(count: int = 2000, seed: int = 7) -> Iterator[DemoProduct]:
    """``count`` products with valid, unique EAN-13 barcodes, plus the weighed items."""
    rng = random.Random(seed)
    names = list(CATEGORIES)
    for i, (name, price) in enumerate(WEIGHED):
        lookup = f"28{i + 1:05d}"
        yield DemoProduct(demo_uuid(rng), f"W{i + 1:04d}", name, "Deli" if "Ham" in name or "Cheddar" in name
                          else "Fruit & Veg", price, 0, (lookup,), True, 2000, 20_000)
    for i in range(count - len(WEIGHED)):
        cat = names[i % len(names)]
        items, low, high, rate = CATEGORIES[cat]
        item = items[(i // len(names)) % len(items)]
        label = f"{rng.choice(BRANDS)} {item} {rng.choice(SIZES)}"
        ean = with_check_digit(f"540{i + 1:09d}")
        barcodes = (ean,) if rng.random() > 0.05 else (ean, with_check_digit(f"541{i + 1:09d}"))
        price = rng.randrange(low, high) // 5 * 5 + 9
        yield DemoProduct(demo_uuid(rng), f"SKU{i + 1:06d}", label, cat, price, rate, barcodes,
                          False, rng.choice((0, 5000, 10000)), rng.randrange(0, 60) * 1000)


def staff_ids(seed: int = 7) -> dict[str, str]:
    rng = random.Random(seed * 7919)
    return {code: demo_uuid(rng) for _, code, _, _ in DEMO_STAFF}
