"""A local HTTP server that speaks Mixpanel's wire format with deterministic generated data.

It serves the raw export API, the Query API (engage, cohorts, funnels, legacy revenue) and
App API annotations, and offers methods that return exactly the objects it sends, so tests
can compare them with what a pipeline loaded.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterable
from datetime import date, datetime, timezone
from types import TracebackType
from typing import Any

from restgen.simulator.faults import FaultInjector, Faults
from restgen.simulator.mixpanel_app import MixpanelApp, RequestRecord
from restgen.simulator.mixpanel_auth import Credentials
from restgen.simulator.mixpanel_data import MixpanelData
from restgen.simulator.mixpanel_params import parse_date
from restgen.simulator.mixpanel_query import QueryEndpoints
from restgen.simulator.rate_limits import Limits, RateLimiter
from restgen.simulator.server import ServerThread

logger = logging.getLogger(__name__)

DateLike = date | str


class MixpanelSimulator:
    """A simulated Mixpanel project served over HTTP on a local port.

    History covers the ``days`` days before ``today`` (so it ends yesterday, UTC), with
    ``events_per_day`` events on each day. Everything depends only on the constructor
    arguments, so two simulators built alike send identical data, apart from engage
    session ids, which count up per simulator.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        today: date | None = None,
        days: int = 30,
        events_per_day: int = 100,
        profiles: int = 1234,
        cohorts: int = 4,
        funnels: int = 3,
        annotations: int = 7,
        max_page_size: int = 1000,
        username: str = "demo-user",
        secret: str = "demo-secret",
        project_id: int = 4242,
        api_secret: str = "demo-api-secret",
        faults: Faults | None = None,
        limits: Limits | None = None,
        latency: float = 0.0,
    ) -> None:
        for name, value in (("username", username), ("secret", secret), ("api_secret", api_secret)):
            if not value:
                raise ValueError(f"{name} must not be empty")
        if latency < 0:
            raise ValueError(f"latency must be 0 or more seconds, got {latency}")

        self._data = MixpanelData(
            seed=seed,
            today=today or datetime.now(timezone.utc).date(),
            days=days,
            events_per_day=events_per_day,
            profiles=profiles,
            cohorts=cohorts,
            funnels=funnels,
            annotations=annotations,
            project_id=project_id,
        )
        self.project_id = project_id
        self._limiter = RateLimiter(limits, project_id)
        self._app = MixpanelApp(
            data=self._data,
            credentials=Credentials(username, secret, api_secret, project_id),
            endpoints=QueryEndpoints(self._data, project_id, max_page_size),
            limiter=self._limiter,
            faults=FaultInjector(faults),
            latency=latency,
        )
        self._server: ServerThread | None = None
        self._lifecycle_lock = threading.Lock()

    # Lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving in a daemon thread and return the base URL, ``http://HOST:PORT``.

        Port 0 picks a free port. Raises RuntimeError if the simulator is already running.
        """
        with self._lifecycle_lock:
            if self._server is not None:
                raise RuntimeError(f"the Mixpanel simulator is already running at {self._server.url}")
            server = ServerThread(self._app, host, port)
            server.start()
            self._server = server
        logger.info("Mixpanel simulator listening on %s (project_id %d)", server.url, self.project_id)
        return server.url

    def stop(self) -> None:
        """Stop serving and close the port; does nothing when not running."""
        with self._lifecycle_lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()
            logger.info("Mixpanel simulator at %s stopped", server.url)

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve until KeyboardInterrupt or :meth:`stop`, starting first unless already running."""
        server = self._server
        if server is None:
            self.start(host, port)
            server = self._server
        if server is None:
            return
        try:
            server.wait()
        except KeyboardInterrupt:
            logger.info("Interrupted; stopping the Mixpanel simulator")
        finally:
            self.stop()

    @property
    def url(self) -> str:
        """The base URL of the running server; raises RuntimeError before :meth:`start`."""
        if self._server is None:
            raise RuntimeError("the Mixpanel simulator is not running; call start() first")
        return self._server.url

    def __enter__(self) -> MixpanelSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # Simulated clock

    @property
    def today(self) -> date:
        """The simulated current UTC date; export accepts it as to_date, but it has no events yet."""
        return self._data.today

    @property
    def history_start(self) -> date:
        """The first day with events."""
        return self._data.history_start

    def add_day(self) -> date:
        """Complete the current day, move ``today`` forward by one, and return the completed day.

        The completed day's events appear; every earlier day stays identical.
        """
        completed = self._data.add_day()
        logger.info("Simulated day %s completed; today is now %s", completed, self._data.today)
        return completed

    # Expected data: deep copies of exactly what the server sends

    def events(
        self,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        event_names: Iterable[str] | None = None,
        *,
        time_in_ms: bool = False,
    ) -> list[dict[str, Any]]:
        """Return the export objects from ``from_date`` to ``to_date`` (inclusive), in export order.

        The range defaults to the whole history. ``event_names`` selects events by name.
        """
        first = _as_date(from_date, "from_date") if from_date is not None else self._data.history_start
        last = _as_date(to_date, "to_date") if to_date is not None else self._data.yesterday
        events = self._data.events(first, last, event_names)
        return [copy.deepcopy(event.render(time_in_ms)) for event in events]

    def profiles(self) -> list[dict[str, Any]]:
        """Return every engage result ``{"$distinct_id", "$properties"}``, in page order."""
        return copy.deepcopy(self._data.profiles())

    def cohorts(self) -> list[dict[str, Any]]:
        """Return the cohorts/list records."""
        return copy.deepcopy(self._data.cohorts())

    def cohort_members(self, cohort_id: int) -> list[dict[str, Any]]:
        """Return the engage results of a cohort's members; raises KeyError for an unknown id."""
        return copy.deepcopy(self._data.cohort_members(cohort_id))

    def funnels_list(self) -> list[dict[str, Any]]:
        """Return the funnels/list records ``{"funnel_id", "name"}``."""
        return [{"funnel_id": funnel.funnel_id, "name": funnel.name} for funnel in self._data.funnels()]

    def funnel_data(self, funnel_id: int, from_date: DateLike, to_date: DateLike) -> dict[str, Any]:
        """Return the funnel response's ``data`` object, keyed by ``YYYY-MM-DD`` up to yesterday.

        Raises KeyError for an unknown funnel id.
        """
        first = _as_date(from_date, "from_date")
        last = _as_date(to_date, "to_date")
        return copy.deepcopy(self._data.funnel_data(funnel_id, first, last))

    def annotations(self) -> list[dict[str, Any]]:
        """Return every App API annotation record, ordered by date."""
        return copy.deepcopy(self._data.annotations())

    def revenue(self, from_date: DateLike, to_date: DateLike) -> dict[str, Any]:
        """Return the revenue response's ``results``: ``$overall`` plus one key per date up to yesterday."""
        return self._data.revenue(_as_date(from_date, "from_date"), _as_date(to_date, "to_date"))

    # Traffic observed

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request received, in completion order."""
        return self._app.records

    def reset_requests(self) -> None:
        """Forget the requests received so far (rate-limit state is kept)."""
        self._app.reset_records()

    @property
    def violations(self) -> dict[str, int]:
        """Requests rejected per exceeded limit, e.g. ``{"query_window": 1}``; injected 429s are not counted."""
        return self._limiter.violations

    @property
    def max_concurrency_seen(self) -> dict[str, int]:
        """The maximum number of admitted requests in flight at once, per API ("query", "export", "app")."""
        return self._limiter.max_concurrency_seen


def _as_date(value: DateLike, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(value, name)
