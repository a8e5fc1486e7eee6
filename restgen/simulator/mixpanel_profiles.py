"""Deterministic Mixpanel user profiles and cohorts, in the shape the engage and cohorts APIs send."""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, time, timedelta
from typing import Any

FIRST_NAMES = (
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis",
    "Frances", "Edsger", "Radia", "Tim", "Hedy", "Donald", "Sophie", "Niklaus",
)
LAST_NAMES = (
    "Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
    "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "Knuth", "Wilson", "Wirth",
)
# One city with non-ASCII letters makes loaders prove that they keep UTF-8 intact.
CITIES = ("Berlin", "London", "San Francisco", "Tokyo", "São Paulo", "Nairobi", "Sydney", "Toronto")
PLANS = ("free", "free", "free", "pro", "pro", "enterprise")
COHORT_NAMES = ("Power users", "Churn risk", "Newsletter subscribers", "Beta testers")

FIRST_COHORT_ID = 5001

# Share of profiles whose custom "email" property differs from "$email".
CUSTOM_EMAIL_SHARE = 0.15


def seeded_random(*parts: object) -> random.Random:
    """Return a Random seeded from ``parts`` so that equal parts give equal sequences in every run."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def distinct_id_for(number: int) -> str:
    """Return the distinct_id of profile ``number`` (1-based), e.g. ``user-00042``."""
    return f"user-{number:05d}"


def naive_iso(moment: datetime) -> str:
    """Format a datetime as Mixpanel formats profile dates: ISO 8601, seconds, no zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def generate_profiles(seed: int, count: int, history_start: date, anchor_today: date) -> list[dict[str, Any]]:
    """Generate ``count`` engage results, ordered by distinct_id.

    Every profile was created before ``history_start`` and last seen during the history,
    before ``anchor_today``.
    """
    rng = seeded_random(seed, "profiles")
    first_day = datetime.combine(history_start, time())
    end = datetime.combine(anchor_today, time())
    profiles: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        first_name = rng.choice(FIRST_NAMES)
        last_name = rng.choice(LAST_NAMES)
        created = first_day - timedelta(days=rng.randint(1, 720), seconds=rng.randrange(86_400))
        seen_from = max(created, first_day) if first_day < end else created
        last_seen = seen_from + (end - seen_from) * rng.uniform(0.0, 0.999)
        properties: dict[str, Any] = {
            "$created": naive_iso(created),
            "$email": f"{first_name}.{last_name}.{number}@example.com".lower(),
            "$first_name": first_name,
            "$last_name": last_name,
            "$last_seen": naive_iso(last_seen),
            "$city": rng.choice(CITIES),
            "plan": rng.choice(PLANS),
        }
        if rng.random() < CUSTOM_EMAIL_SHARE:
            # A custom "email" next to "$email" collides once a loader strips the "$".
            properties["email"] = f"{first_name}{number}@work.example.org".lower()
        profiles.append({"$distinct_id": distinct_id_for(number), "$properties": properties})
    return profiles


def generate_cohorts(
    seed: int, count: int, profile_count: int, history_start: date, project_id: int
) -> tuple[list[dict[str, Any]], dict[int, list[int]]]:
    """Generate the cohorts/list records and each cohort's members.

    Returns the records and a map from cohort id to the 0-based indexes of its member
    profiles, in ascending order. Each record's ``count`` is its member count.
    """
    records: list[dict[str, Any]] = []
    members: dict[int, list[int]] = {}
    for index in range(count):
        cohort_id = FIRST_COHORT_ID + index
        rng = seeded_random(seed, "cohort", cohort_id)
        size = max(1, round(profile_count * rng.uniform(0.05, 0.4)))
        member_indexes = sorted(rng.sample(range(profile_count), min(size, profile_count)))
        created = datetime.combine(history_start, time()) - timedelta(
            days=rng.randint(1, 400), seconds=rng.randrange(86_400)
        )
        name = COHORT_NAMES[index] if index < len(COHORT_NAMES) else f"Cohort {index + 1}"
        records.append(
            {
                "count": len(member_indexes),
                "is_visible": rng.choice((0, 1, 1)),
                "description": f"Simulated cohort: {name.lower()}",
                "created": created.strftime("%Y-%m-%d %H:%M:%S"),
                "project_id": project_id,
                "id": cohort_id,
                "name": name,
                "data_group_id": None,
            }
        )
        members[cohort_id] = member_indexes
    return records, members
