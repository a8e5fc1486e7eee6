"""Deterministic raw export events for one UTC day, in the shape of Mixpanel's export JSONL lines."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from restgen.simulator.mixpanel_profiles import CITIES, seeded_random

EVENT_NAMES = ("Page view", "Add to cart", "Purchase", "Sign up")
EVENT_WEIGHTS = (60, 20, 12, 8)
BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
# The custom "browser" property deliberately disagrees with "$browser", so that a loader which
# strips "$" has to resolve a real name collision.
CUSTOM_BROWSERS = ("chrome-mobile", "firefox-focus", "samsung-internet", "webview")
PAGES = ("/", "/pricing", "/docs", "/blog/launch", "/products/shoes", "/products/hats", "/cart")
PRODUCT_CATEGORIES = ("shoes", "hats", "sale", "gifts", "new")
COUPONS = ("WELCOME10", "SPRING", None)
SIGNUP_PLANS = ("free", "pro")

INSERT_ID_ALPHABET = string.ascii_letters + string.digits
INSERT_ID_LENGTH = 20
# Share of events without "$insert_id"; real exports contain such rows.
MISSING_INSERT_ID_SHARE = 0.03
CUSTOM_BROWSER_SHARE = 0.3
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class GeneratedEvent:
    """One event: ``wire`` is the export object with ``time`` in seconds, ``time_ms`` its exact time."""

    time_ms: int
    wire: dict[str, Any]

    @property
    def name(self) -> str:
        """The event name."""
        return str(self.wire["event"])

    def render(self, time_in_ms: bool) -> dict[str, Any]:
        """Return the wire object, with ``time`` in milliseconds when ``time_in_ms`` is set.

        The seconds form is the shared cached object, so callers must not modify it.
        """
        if not time_in_ms:
            return self.wire
        return {"event": self.wire["event"], "properties": {**self.wire["properties"], "time": self.time_ms}}


def day_start_epoch(day: date) -> int:
    """Return the Unix time of midnight UTC at the start of ``day``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def generate_day(seed: int, day: date, count: int, distinct_ids: Sequence[str]) -> list[GeneratedEvent]:
    """Generate the ``count`` events of ``day`` in time order.

    The events depend only on ``seed``, the day's ordinal and ``distinct_ids``, so a day never
    changes when others are added. Every event gets its own second of the day, which keeps
    events without ``$insert_id`` distinguishable by content. Requires ``count <= 86400``.
    """
    rng = seeded_random(seed, "events", day.toordinal())
    start = day_start_epoch(day)
    seconds = sorted(rng.sample(range(SECONDS_PER_DAY), count))
    events: list[GeneratedEvent] = []
    for second in seconds:
        time_ms = (start + second) * 1000 + rng.randrange(1000)
        name = rng.choices(EVENT_NAMES, weights=EVENT_WEIGHTS)[0]
        properties = _base_properties(rng, time_ms, distinct_ids)
        properties.update(_custom_properties(rng, name))
        events.append(GeneratedEvent(time_ms, {"event": name, "properties": properties}))
    return events


def _base_properties(rng: random.Random, time_ms: int, distinct_ids: Sequence[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "time": time_ms // 1000,
        "distinct_id": rng.choice(distinct_ids),
    }
    insert_id = "".join(rng.choices(INSERT_ID_ALPHABET, k=INSERT_ID_LENGTH))
    if rng.random() >= MISSING_INSERT_ID_SHARE:
        properties["$insert_id"] = insert_id
    properties.update(
        {
            "$browser": rng.choice(BROWSERS),
            "$city": rng.choice(CITIES),
            "$current_url": "https://shop.example.com" + rng.choice(PAGES),
            "mp_lib": "web",
            "mp_processing_time_ms": time_ms + rng.randint(40, 90_000),
        }
    )
    return properties


def _custom_properties(rng: random.Random, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    if rng.random() < CUSTOM_BROWSER_SHARE:
        properties["browser"] = rng.choice(CUSTOM_BROWSERS)
    if name == "Page view":
        properties["referrer"] = rng.choice(("https://search.example.net/", "newsletter", None))
    elif name in ("Add to cart", "Purchase"):
        items = rng.randint(1, 5)
        properties["cart"] = {"items": items, "total": round(items * rng.uniform(4.5, 80.0), 2)}
        properties["categories"] = sorted(rng.sample(PRODUCT_CATEGORIES, rng.randint(1, 3)))
        if name == "Purchase":
            properties["coupon"] = rng.choice(COUPONS)
    else:
        properties["plan"] = rng.choice(SIGNUP_PLANS)
        properties["utm"] = {"source": rng.choice(("ads", "organic", "partner")), "campaign": None}
    return properties
