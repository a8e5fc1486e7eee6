"""Deterministic saved funnels, their daily results, and annotations, in Mixpanel's wire shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from restgen.simulator.mixpanel_profiles import seeded_random

FUNNEL_DEFINITIONS = (
    ("Signup funnel", ("Page view", "Sign up")),
    ("Checkout funnel", ("Page view", "Add to cart", "Purchase")),
    ("Activation funnel", ("Sign up", "Add to cart", "Purchase")),
)
FIRST_FUNNEL_ID = 7501

FIRST_ANNOTATION_ID = 301
ANNOTATION_TEXTS = (
    "Launched the spring campaign",
    "Checkout outage, payments delayed",
    "Released onboarding v2",
    "Price change for the pro plan",
    "Tracking plan updated",
    "Newsletter sent",
    "Holiday traffic",
)
ANNOTATION_USERS: tuple[dict[str, Any], ...] = (
    {"id": 11, "first_name": "Dana", "last_name": "Scully"},
    {"id": 12, "first_name": "Fox", "last_name": "Mulder"},
    {"id": 13, "first_name": "Walter", "last_name": "Skinner"},
)
ANNOTATION_TAGS: tuple[dict[str, Any], ...] = ({"id": 21, "name": "marketing"}, {"id": 22, "name": "release"}, {"id": 23, "name": "incident"})


@dataclass(frozen=True)
class Funnel:
    """A saved funnel: its id, name and the event of each step."""

    funnel_id: int
    name: str
    steps: tuple[str, ...]


def generate_funnels(count: int) -> list[Funnel]:
    """Return ``count`` funnels; names beyond the built-in three are numbered."""
    funnels: list[Funnel] = []
    for index in range(count):
        name, steps = FUNNEL_DEFINITIONS[index % len(FUNNEL_DEFINITIONS)]
        if index >= len(FUNNEL_DEFINITIONS):
            name = f"{name} {index + 1}"
        funnels.append(Funnel(FIRST_FUNNEL_ID + index, name, steps))
    return funnels


def funnel_day(seed: int, funnel: Funnel, day: date) -> dict[str, Any]:
    """Return the ``{"steps": [...], "analysis": {...}}`` result of ``funnel`` on ``day``.

    The numbers depend only on the seed, the funnel id and the day. The first step has null
    ``avg_time`` and ``avg_time_from_start``, as in real responses.
    """
    rng = seeded_random(seed, "funnel", funnel.funnel_id, day.isoformat())
    starting_amount = rng.randint(20, 400)
    steps: list[dict[str, Any]] = []
    previous = starting_amount
    time_from_start = 0
    for position, event in enumerate(funnel.steps):
        if position == 0:
            count = starting_amount
            avg_time: int | None = None
            avg_time_from_start: int | None = None
        else:
            count = int(previous * rng.uniform(0.2, 0.85))
            avg_time = rng.randint(30, 7200)
            time_from_start += avg_time
            avg_time_from_start = time_from_start
        steps.append(
            {
                "count": count,
                "avg_time": avg_time,
                "avg_time_from_start": avg_time_from_start,
                "step_conv_ratio": count / previous if previous else 0.0,
                "overall_conv_ratio": count / starting_amount,
                "goal": event,
                "event": event,
                "step_label": event,
            }
        )
        previous = count

    later_ratios = [step["step_conv_ratio"] for step in steps[1:]]
    worst = 1 + later_ratios.index(min(later_ratios)) if later_ratios else 0
    analysis = {
        "completion": steps[-1]["count"],
        "starting_amount": starting_amount,
        "steps": len(steps),
        "worst": worst,
    }
    return {"steps": steps, "analysis": analysis}


def generate_annotations(seed: int, count: int, history_start: date, days: int) -> list[dict[str, Any]]:
    """Generate ``count`` App API annotation records inside the history, ordered by date.

    With no history (``days == 0``) the annotations fall in the 30 days before ``history_start``.
    """
    rng = seeded_random(seed, "annotations")
    span_start = history_start if days > 0 else history_start - timedelta(days=30)
    span_days = days if days > 0 else 30
    annotations: list[dict[str, Any]] = []
    for index in range(count):
        moment = datetime.combine(span_start, time()) + timedelta(
            days=rng.randrange(span_days), seconds=rng.randrange(86_400)
        )
        tags = rng.sample(ANNOTATION_TAGS, rng.randint(0, 2))
        annotations.append(
            {
                "id": FIRST_ANNOTATION_ID + index,
                "date": moment.strftime("%Y-%m-%d %H:%M:%S"),
                "description": ANNOTATION_TEXTS[index % len(ANNOTATION_TEXTS)],
                "user": dict(rng.choice(ANNOTATION_USERS)),
                "tags": [dict(tag) for tag in sorted(tags, key=lambda tag: tag["id"])],
            }
        )
    annotations.sort(key=lambda record: (record["date"], record["id"]))
    return annotations
