"""The simulated Query API and App API endpoints: engage, cohorts, funnels, revenue, annotations."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from typing import Any

from restgen.simulator.mixpanel_data import MixpanelData
from restgen.simulator.mixpanel_params import (
    app_error,
    integer_param,
    json_response,
    parse_date,
    query_error,
    require_day_unit,
    required_date,
)
from restgen.simulator.mixpanel_where import parse_where
from restgen.simulator.server import SimRequest, SimResponse

DEFAULT_ENGAGE_PAGE_SIZE = 1000


class QueryEndpoints:
    """Handlers of the Query and App APIs; each returns a response or raises RequestRejected."""

    def __init__(self, data: MixpanelData, project_id: int, max_page_size: int) -> None:
        if max_page_size < 1:
            raise ValueError(f"max_page_size must be 1 or more, got {max_page_size}")
        self.data = data
        self.project_id = project_id
        self.max_page_size = max_page_size
        self._session_lock = threading.Lock()
        self._session_numbers = itertools.count(1)
        self._sessions: set[str] = set()

    def new_session_id(self) -> str:
        """Issue a session id shaped like Mixpanel's (``1234567890-EXAMPL``); deterministic per seed."""
        with self._session_lock:
            number = next(self._session_numbers)
            suffix = hashlib.sha256(f"{self.data.seed}:{number}".encode()).hexdigest()[:6].upper()
            session_id = f"{1_700_000_000 + number}-{suffix}"
            self._sessions.add(session_id)
        return session_id

    def engage(self, request: SimRequest, params: dict[str, Any]) -> SimResponse:
        """Return one page of profiles, or of a cohort's members with ``filter_by_cohort``.

        Pages start at 0, and a page after the first needs the session_id of the first.
        ``page_size`` is capped at ``max_page_size`` and the capped value is echoed. Only
        page 0 carries ``total``.
        """
        page = integer_param(request, params, "page", 0, 0) or 0
        requested_size = integer_param(request, params, "page_size", DEFAULT_ENGAGE_PAGE_SIZE, 1)
        page_size = min(requested_size or DEFAULT_ENGAGE_PAGE_SIZE, self.max_page_size)
        session_id = str(params.get("session_id") or "")
        if page > 0 and not session_id:
            raise query_error(request, 400, f"session_id is required for page {page}; send the session_id returned with page 0")
        if session_id:
            with self._session_lock:
                known = session_id in self._sessions
            if not known:
                raise query_error(request, 400, f"session_id {session_id!r} is unknown or expired; start again at page 0")
        else:
            session_id = self.new_session_id()

        profiles = self._engage_population(request, params)
        start = page * page_size
        payload: dict[str, Any] = {"page": page, "page_size": page_size, "session_id": session_id, "status": "ok"}
        if page == 0:
            payload["total"] = len(profiles)
        payload["results"] = profiles[start:start + page_size]
        return json_response(200, payload)

    def _engage_population(self, request: SimRequest, params: dict[str, Any]) -> list[dict[str, Any]]:
        cohort_filter = params.get("filter_by_cohort")
        if cohort_filter in (None, ""):
            profiles = self.data.profiles()
        else:
            cohort_id = _cohort_id(request, cohort_filter)
            try:
                profiles = self.data.cohort_members(cohort_id)
            except KeyError:
                raise query_error(request, 400, f"cohort {cohort_id} does not exist in project {self.project_id}") from None

        where = params.get("where")
        if where:
            try:
                matches = parse_where(str(where))
            except ValueError as exc:
                raise query_error(request, 400, str(exc)) from None
            profiles = [profile for profile in profiles if matches(profile["$properties"])]
        return profiles

    def cohorts_list(self, request: SimRequest, params: dict[str, Any]) -> SimResponse:
        """Return every cohort as a bare JSON array."""
        return json_response(200, self.data.cohorts())

    def funnels_list(self, request: SimRequest, params: dict[str, Any]) -> SimResponse:
        """Return ``[{"funnel_id", "name"}]`` for every saved funnel."""
        return json_response(200, [{"funnel_id": funnel.funnel_id, "name": funnel.name} for funnel in self.data.funnels()])

    def funnel(self, request: SimRequest, params: dict[str, Any]) -> SimResponse:
        """Return one funnel's daily results keyed by date, with the dates listed in ``meta``."""
        funnel_id = integer_param(request, params, "funnel_id", None, 0)
        if funnel_id is None:
            raise query_error(request, 400, "funnel_id is required; list funnels with /api/query/funnels/list")
        first = required_date(request, params, "from_date")
        last = required_date(request, params, "to_date")
        if first > last:
            raise query_error(request, 400, f"from_date {first} is later than to_date {last}")
        require_day_unit(request, params)
        try:
            results = self.data.funnel_data(funnel_id, first, last)
        except KeyError:
            raise query_error(request, 400, f"funnel_id {funnel_id} does not exist in project {self.project_id}") from None
        return json_response(200, {"meta": {"dates": list(results)}, "data": results})

    def revenue(self, request: SimRequest, params: dict[str, Any]) -> SimResponse:
        """Return revenue keyed by date plus ``$overall``, in the legacy engage/revenue shape."""
        first = required_date(request, params, "from_date")
        last = required_date(request, params, "to_date")
        if first > last:
            raise query_error(request, 400, f"from_date {first} is later than to_date {last}")
        require_day_unit(request, params)
        payload = {
            "computed_at": f"{self.data.today.isoformat()}T00:00:00+00:00",
            "results": self.data.revenue(first, last),
            "session_id": self.new_session_id(),
            "status": "ok",
        }
        return json_response(200, payload)

    def annotations(self, request: SimRequest, params: dict[str, Any]) -> SimResponse:
        """Return App API annotations, filtered by the optional inclusive ``fromDate``/``toDate``."""
        try:
            first = parse_date(params["fromDate"], "fromDate") if params.get("fromDate") else None
            last = parse_date(params["toDate"], "toDate") if params.get("toDate") else None
        except ValueError as exc:
            raise app_error(400, str(exc)) from None
        return json_response(200, {"status": "ok", "results": self.data.annotations(first, last)})

    def legacy_annotations(self, request: SimRequest, params: dict[str, Any]) -> SimResponse:
        """Return annotations in the legacy shape: ``{"annotations": [{date, project_id, id, description}]}``."""
        try:
            first = parse_date(params["from_date"], "from_date") if params.get("from_date") else None
            last = parse_date(params["to_date"], "to_date") if params.get("to_date") else None
        except ValueError as exc:
            raise query_error(request, 400, str(exc)) from None
        records = [
            {"date": record["date"], "project_id": self.project_id, "id": record["id"], "description": record["description"]}
            for record in self.data.annotations(first, last)
        ]
        return json_response(200, {"annotations": records})


def _cohort_id(request: SimRequest, value: Any) -> int:
    """Read the id from ``filter_by_cohort``: a JSON string such as ``{"id": 5001}``, or an object."""
    decoded = value
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
    cohort_id = decoded.get("id") if isinstance(decoded, dict) else None
    if isinstance(cohort_id, bool) or not isinstance(cohort_id, (int, str)) or not str(cohort_id).strip().isdigit():
        raise query_error(request, 400, f'filter_by_cohort must be a JSON object like {{"id": 123}}, got {value!r}')
    return int(cohort_id)
