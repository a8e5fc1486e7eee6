"""The request pipeline of the Mixpanel simulator: route, authenticate, rate-limit, inject faults, serve.

Every request is recorded with its merged parameters and final status, so tests can assert
on the traffic a loader sent.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from restgen.simulator.faults import Fault, FaultInjector, FaultKind
from restgen.simulator.mixpanel_auth import Credentials, Principal, authenticate
from restgen.simulator.mixpanel_data import MixpanelData
from restgen.simulator.mixpanel_export import export_events
from restgen.simulator.mixpanel_params import RequestRejected, json_response, merge_params
from restgen.simulator.mixpanel_query import QueryEndpoints
from restgen.simulator.rate_limits import RateLimiter
from restgen.simulator.server import SimRequest, SimResponse

logger = logging.getLogger(__name__)

Handler = Callable[[SimRequest, dict[str, Any]], SimResponse]

_ANNOTATIONS_PATH = re.compile(r"/api/app/projects/(?P<project>[^/]+)/annotations")


@dataclass(frozen=True)
class RequestRecord:
    """One request the simulator received.

    ``params`` merges the query string with a form or JSON body. ``counted`` is true when
    the request used rate-limit budget, and ``status`` is the status sent.
    """

    method: str
    path: str
    params: dict[str, Any]
    counted: bool
    status: int


@dataclass(frozen=True)
class Route:
    """An endpoint: its name, its API ("query", "export" or "app") and accepted methods.

    ``name`` is "export" or the name of the QueryEndpoints method that serves the route.
    ``budgeted`` requests use the API's window budget, but engage requests with a
    session_id never do.
    """

    name: str
    api: str
    methods: frozenset[str]
    budgeted: bool


_GET = frozenset({"GET"})
_GET_POST = frozenset({"GET", "POST"})

# Query API paths served under both /api/query/ and the legacy /api/2.0/.
_QUERY_ROUTES = {
    "engage": Route("engage", "query", _GET_POST, True),
    "engage/revenue": Route("revenue", "query", _GET_POST, True),
    "cohorts/list": Route("cohorts_list", "query", _GET_POST, True),
    "funnels": Route("funnel", "query", _GET_POST, True),
    "funnels/list": Route("funnels_list", "query", _GET_POST, True),
    "annotations": Route("legacy_annotations", "app", _GET_POST, False),
}
# Faults whose response replaces the endpoint's result; the others alter the result.
_REPLACING_FAULTS = frozenset({FaultKind.TOO_MANY_REQUESTS, FaultKind.SERVER_ERROR, FaultKind.ERROR_IN_200})

_EXPORT_ROUTE = Route("export", "export", _GET, True)
_APP_ANNOTATIONS_ROUTE = Route("annotations", "app", _GET, False)


class MixpanelApp:
    """The application callable that the HTTP server runs for every request."""

    def __init__(
        self,
        *,
        data: MixpanelData,
        credentials: Credentials,
        endpoints: QueryEndpoints,
        limiter: RateLimiter,
        faults: FaultInjector,
        latency: float,
    ) -> None:
        self.data = data
        self.credentials = credentials
        self.endpoints = endpoints
        self.limiter = limiter
        self.faults = faults
        self.latency = latency
        self._records_lock = threading.Lock()
        self._records: list[RequestRecord] = []

    @property
    def records(self) -> list[RequestRecord]:
        """A snapshot of the requests received so far, in completion order."""
        with self._records_lock:
            return list(self._records)

    def reset_records(self) -> None:
        """Forget the requests received so far."""
        with self._records_lock:
            self._records.clear()

    def __call__(self, request: SimRequest) -> SimResponse:
        """Serve one request and record it; the latency setting delays every response."""
        params = merge_params(request)
        counted = False
        try:
            response, counted = self._serve(request, params)
        except RequestRejected as rejected:
            response = rejected.response
            self._sleep()
        with self._records_lock:
            self._records.append(RequestRecord(request.method, request.path, params, counted, response.status))
        logger.debug("%s %s -> %d", request.method, request.path, response.status)
        return response

    def _serve(self, request: SimRequest, params: dict[str, Any]) -> tuple[SimResponse, bool]:
        route, path_project = _resolve(request.path)
        if route is None:
            raise RequestRejected(json_response(404, {"error": f"No API endpoint at {request.path}", "status": "error"}))
        if request.method not in route.methods:
            allowed = ", ".join(sorted(route.methods))
            raise RequestRejected(
                json_response(405, {"error": f"Method {request.method} is not allowed on {request.path}; use {allowed}",
                                    "status": "error"}, {"Allow": allowed})
            )

        principal = authenticate(request, params, self.credentials, project_in_path=path_project is not None)
        if route is _APP_ANNOTATIONS_ROUTE and principal is Principal.PROJECT_SECRET:
            # Mixpanel documents the App API for service accounts only. Its OpenAPI file lists
            # both 401 and 403, so the status for a project secret is a guess.
            raise RequestRejected(
                json_response(401, {"error": "The App API accepts service accounts only; the project secret can read "
                                             "/api/2.0/annotations", "status": "error"})
            )
        if path_project is not None and path_project != str(self.credentials.project_id):
            raise RequestRejected(
                json_response(404, {"error": f"Project {path_project} was not found", "status": "error"})
            )

        budgeted = route.budgeted and not (route.name == "engage" and params.get("session_id"))
        admission = self.limiter.acquire(route.api, budgeted)
        if not admission.admitted:
            raise RequestRejected(
                json_response(429, {"request": request.target, "error": admission.message}, admission.headers)
            )
        try:
            response = self._serve_admitted(request, params, route)
            self._sleep()
        finally:
            self.limiter.release(route.api)
        return response, admission.counted

    def _serve_admitted(self, request: SimRequest, params: dict[str, Any], route: Route) -> SimResponse:
        fault = self.faults.draw(route.api)
        if fault is not None and fault.kind in _REPLACING_FAULTS:
            return self._fault_response(request, route, fault)
        terminate_early = fault is not None and fault.kind is FaultKind.TERMINATED_EARLY
        try:
            if route.name == "export":
                response = export_events(request, params, self.data, terminate_early=terminate_early)
            else:
                handler: Handler = getattr(self.endpoints, route.name)
                response = handler(request, params)
        except RequestRejected as rejected:
            response = rejected.response
        response.cut = fault is not None and fault.kind is FaultKind.CUT
        return response

    def _fault_response(self, request: SimRequest, route: Route, fault: Fault) -> SimResponse:
        """Build the response that replaces the result for a 429, 5xx or error-in-200 fault."""
        if fault.kind is FaultKind.TOO_MANY_REQUESTS:
            label = "Export" if route.api == "export" else "Query"
            message = (
                f"{label} rate limit exceeded for project_id: {self.credentials.project_id}. "
                "The server is shedding load; retry after the Retry-After delay."
            )
            return json_response(429, {"request": request.target, "error": message},
                                 {"Retry-After": self.faults.faults.retry_after})
        if fault.kind is FaultKind.SERVER_ERROR:
            return json_response(fault.status, {"request": request.target,
                                                "error": "unknown error, please retry the request"})
        return json_response(200, {"error": "Internal query failure; the results are unavailable, retry the request",
                                   "status": "error"})

    def _sleep(self) -> None:
        if self.latency > 0:
            time.sleep(self.latency)


def _resolve(path: str) -> tuple[Route | None, str | None]:
    """Return the route of ``path`` and, for App API paths, the project id in the path."""
    path = path.rstrip("/")
    if path == "/api/2.0/export":
        return _EXPORT_ROUTE, None
    match = _ANNOTATIONS_PATH.fullmatch(path)
    if match:
        return _APP_ANNOTATIONS_ROUTE, match["project"]
    for prefix in ("/api/query/", "/api/2.0/"):
        if path.startswith(prefix):
            return _QUERY_ROUTES.get(path[len(prefix):]), None
    return None, None
