"""The simulated Mixpanel project: a moving "today" and the data every endpoint serves.

History starts ``days`` days before the initial ``today`` and ends yesterday. Moving today
forward with :meth:`MixpanelData.add_day` lengthens the history by one day and never changes
an earlier day. Profiles, cohorts, funnel definitions and annotations are fixed at
construction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

from restgen.simulator.mixpanel_events import SECONDS_PER_DAY, GeneratedEvent, generate_day
from restgen.simulator.mixpanel_profiles import generate_cohorts, generate_profiles
from restgen.simulator.mixpanel_reports import Funnel, funnel_day, generate_annotations, generate_funnels


def date_range(first: date, last: date) -> Iterator[date]:
    """Yield every date from ``first`` to ``last``, both inclusive."""
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


class MixpanelData:
    """Deterministic data of one project; thread-safe, and cached per day once generated.

    Methods return shared cached objects, so callers that hand them out must copy them.
    """

    def __init__(
        self,
        *,
        seed: int,
        today: date,
        days: int,
        events_per_day: int,
        profiles: int,
        cohorts: int,
        funnels: int,
        annotations: int,
        project_id: int,
    ) -> None:
        if days < 0:
            raise ValueError(f"days must be 0 or more, got {days}")
        if not 0 <= events_per_day <= SECONDS_PER_DAY:
            raise ValueError(f"events_per_day must be between 0 and {SECONDS_PER_DAY}, got {events_per_day}")
        if profiles < 1:
            raise ValueError(f"profiles must be 1 or more because events need a distinct_id, got {profiles}")
        for name, value in (("cohorts", cohorts), ("funnels", funnels), ("annotations", annotations)):
            if value < 0:
                raise ValueError(f"{name} must be 0 or more, got {value}")

        self.seed = seed
        self.events_per_day = events_per_day
        self.history_start = today - timedelta(days=days)
        self._today = today
        self._lock = threading.Lock()
        self._event_cache: dict[date, list[GeneratedEvent]] = {}

        self._profiles = generate_profiles(seed, profiles, self.history_start, today)
        self._distinct_ids = [profile["$distinct_id"] for profile in self._profiles]
        self._cohorts, self._cohort_members = generate_cohorts(
            seed, cohorts, profiles, self.history_start, project_id
        )
        self._funnels = {funnel.funnel_id: funnel for funnel in generate_funnels(funnels)}
        self._annotations = generate_annotations(seed, annotations, self.history_start, days)

    @property
    def today(self) -> date:
        """The simulated current UTC date; its events do not exist yet."""
        with self._lock:
            return self._today

    @property
    def yesterday(self) -> date:
        """The last complete day of history."""
        return self.today - timedelta(days=1)

    def add_day(self) -> date:
        """Complete the current day and move today forward; return the day just completed."""
        with self._lock:
            completed = self._today
            self._today = completed + timedelta(days=1)
            return completed

    def day_events(self, day: date) -> list[GeneratedEvent]:
        """Return the events of ``day``, or none if the day is outside the history."""
        with self._lock:
            if not self.history_start <= day < self._today:
                return []
            cached = self._event_cache.get(day)
        if cached is not None:
            return cached
        generated = generate_day(self.seed, day, self.events_per_day, self._distinct_ids)
        with self._lock:
            return self._event_cache.setdefault(day, generated)

    def events(self, first: date, last: date, names: Iterable[str] | None = None) -> list[GeneratedEvent]:
        """Return the events from ``first`` to ``last`` (inclusive) in time order, optionally by name."""
        wanted = None if names is None else set(names)
        start = max(first, self.history_start)
        selected: list[GeneratedEvent] = []
        for day in date_range(start, min(last, self.yesterday)):
            for event in self.day_events(day):
                if wanted is None or event.name in wanted:
                    selected.append(event)
        return selected

    def profiles(self) -> list[dict[str, Any]]:
        """Return every profile as an engage result, ordered by distinct_id."""
        return self._profiles

    def cohorts(self) -> list[dict[str, Any]]:
        """Return the cohorts/list records."""
        return self._cohorts

    def cohort_members(self, cohort_id: int) -> list[dict[str, Any]]:
        """Return the engage results of a cohort's members; raise KeyError for an unknown id."""
        indexes = self._cohort_members.get(cohort_id)
        if indexes is None:
            raise KeyError(f"unknown cohort id {cohort_id}; known ids: {sorted(self._cohort_members)}")
        return [self._profiles[index] for index in indexes]

    def funnels(self) -> list[Funnel]:
        """Return the saved funnels in id order."""
        return list(self._funnels.values())

    def funnel_data(self, funnel_id: int, first: date, last: date) -> dict[str, dict[str, Any]]:
        """Return a funnel's results keyed by ``YYYY-MM-DD``; dates after yesterday are absent.

        Raises KeyError for an unknown funnel id.
        """
        funnel = self._funnels.get(funnel_id)
        if funnel is None:
            raise KeyError(f"unknown funnel_id {funnel_id}; known ids: {sorted(self._funnels)}")
        return {
            day.isoformat(): funnel_day(self.seed, funnel, day)
            for day in date_range(first, min(last, self.yesterday))
        }

    def annotations(self, first: date | None = None, last: date | None = None) -> list[dict[str, Any]]:
        """Return the annotations whose date lies from ``first`` to ``last``, both inclusive."""
        selected: list[dict[str, Any]] = []
        for record in self._annotations:
            day = date.fromisoformat(record["date"][:10])
            if (first is None or day >= first) and (last is None or day <= last):
                selected.append(record)
        return selected

    def revenue(self, first: date, last: date) -> dict[str, dict[str, Any]]:
        """Return revenue per ``YYYY-MM-DD`` plus ``$overall``, from the "Purchase" events.

        ``amount`` sums the purchases' ``cart.total``, ``count`` counts purchases and
        ``paid_count`` counts distinct buyers. Dates after yesterday are absent, and dates
        before the history are present with zeros.
        """
        daily: dict[str, dict[str, Any]] = {}
        overall_amount = 0.0
        overall_count = 0
        overall_buyers: set[str] = set()
        for day in date_range(first, min(last, self.yesterday)):
            purchases = [event for event in self.day_events(day) if event.name == "Purchase"]
            buyers = {event.wire["properties"]["distinct_id"] for event in purchases}
            amount = sum(event.wire["properties"]["cart"]["total"] for event in purchases)
            daily[day.isoformat()] = {"amount": round(amount, 2), "count": len(purchases), "paid_count": len(buyers)}
            overall_amount += amount
            overall_count += len(purchases)
            overall_buyers |= buyers
        overall = {"amount": round(overall_amount, 2), "count": overall_count, "paid_count": len(overall_buyers)}
        return {"$overall": overall, **daily}
