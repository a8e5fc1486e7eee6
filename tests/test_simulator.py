"""Tests of the Mixpanel simulator, talking to it over HTTP on 127.0.0.1 like a client would."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from restgen.simulator import Faults, Limits, MixpanelSimulator
from restgen.simulator.rate_limits import RateLimiter

TODAY = date(2024, 3, 15)
YESTERDAY = TODAY - timedelta(days=1)
PROJECT_ID = 4242
SERVICE_AUTH = ("demo-user", "demo-secret")


def basic_header(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def small_simulator(**overrides: Any) -> MixpanelSimulator:
    """Return a simulator with 5 days of 40 events and 25 profiles, ending yesterday."""
    settings: dict[str, Any] = {"today": TODAY, "days": 5, "events_per_day": 40, "profiles": 25, **overrides}
    return MixpanelSimulator(**settings)


@pytest.fixture
def sim() -> Iterator[MixpanelSimulator]:
    with small_simulator() as simulator:
        yield simulator


def get(sim: MixpanelSimulator, path: str, **params: Any) -> requests.Response:
    return requests.get(sim.url + path, params={"project_id": PROJECT_ID, **params}, auth=SERVICE_AUTH, timeout=10)


def export(sim: MixpanelSimulator, **params: Any) -> requests.Response:
    return get(sim, "/api/2.0/export", **params)


def utc_day(epoch_seconds: int) -> date:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).date()


def utc_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def jsonl(response: requests.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.text.splitlines()]


# Authentication


def test_auth_service_account_accepted(sim: MixpanelSimulator) -> None:
    response = get(sim, "/api/query/cohorts/list")
    assert response.status_code == 200
    assert response.json() == sim.cohorts()


@pytest.mark.parametrize("raw", ["demo-api-secret:", "demo-api-secret"])
def test_auth_project_secret_forms(sim: MixpanelSimulator, raw: str) -> None:
    response = requests.get(sim.url + "/api/query/cohorts/list", headers=basic_header(raw), timeout=10)
    assert response.status_code == 200
    assert response.json() == sim.cohorts()


def test_auth_plain_text_credentials(sim: MixpanelSimulator) -> None:
    headers = {"Authorization": "Basic demo-user:demo-secret"}
    response = requests.get(sim.url + "/api/query/funnels/list", params={"project_id": PROJECT_ID},
                            headers=headers, timeout=10)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic_header("demo-user:wrong"),
        basic_header("wrong-secret"),
        {"Authorization": "Bearer demo-api-secret"},
    ],
    ids=["missing", "wrong-secret", "wrong-api-secret", "bearer"],
)
def test_auth_bad_credentials_401(sim: MixpanelSimulator, headers: dict[str, str]) -> None:
    response = requests.get(sim.url + "/api/query/engage", params={"project_id": PROJECT_ID},
                            headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json()["status"] == "error"
    assert "demo-secret" not in response.text


def test_auth_service_account_needs_project_id(sim: MixpanelSimulator) -> None:
    response = requests.get(sim.url + "/api/query/engage", auth=SERVICE_AUTH, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"].startswith("project_id is required")


def test_auth_wrong_project_id_403(sim: MixpanelSimulator) -> None:
    response = requests.get(sim.url + "/api/query/engage", params={"project_id": 1}, auth=SERVICE_AUTH, timeout=10)
    assert response.status_code == 403
    assert response.json()["status"] == "error"


# Export


def test_export_dates_inclusive(sim: MixpanelSimulator) -> None:
    first, last = YESTERDAY - timedelta(days=1), YESTERDAY
    events = jsonl(export(sim, from_date=first.isoformat(), to_date=last.isoformat()))
    days = {utc_day(event["properties"]["time"]) for event in events}
    assert len(events) == 80
    assert days == {first, last}
    assert events == sim.events(first, last)


def test_export_whole_history(sim: MixpanelSimulator) -> None:
    events = jsonl(export(sim, from_date="2024-01-01", to_date=TODAY.isoformat()))
    assert len(events) == 5 * 40
    assert events == sim.events()
    times = [event["properties"]["time"] for event in events]
    assert times == sorted(times)


def test_export_body_is_jsonl_text(sim: MixpanelSimulator) -> None:
    response = export(sim, from_date=YESTERDAY.isoformat(), to_date=YESTERDAY.isoformat())
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.endswith("}\n")
    assert response.text.count("\n") == 40


def test_export_today_has_no_events(sim: MixpanelSimulator) -> None:
    response = export(sim, from_date=TODAY.isoformat(), to_date=TODAY.isoformat())
    assert response.status_code == 200
    assert response.text == ""


def test_export_event_filter(sim: MixpanelSimulator) -> None:
    wanted = ["Purchase", "Sign up"]
    events = jsonl(export(sim, from_date="2024-03-10", to_date="2024-03-14", event=json.dumps(wanted)))
    assert events
    assert {event["event"] for event in events} <= set(wanted)
    assert events == sim.events("2024-03-10", "2024-03-14", wanted)


def test_export_future_to_date_plain_text(sim: MixpanelSimulator) -> None:
    response = export(sim, from_date=TODAY.isoformat(), to_date=(TODAY + timedelta(days=1)).isoformat())
    assert response.status_code == 400
    assert response.text == "to_date cannot be later than today"
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"from_date": "2024-03-12"},
        {"from_date": "2024-3-12", "to_date": "2024-03-13"},
        {"from_date": "2024-02-30", "to_date": "2024-03-13"},
        {"from_date": "2024-03-13", "to_date": "2024-03-12"},
        {"from_date": "2024-03-12", "to_date": "2024-03-13", "event": "Purchase"},
        {"from_date": "2024-03-12", "to_date": "2024-03-13", "limit": "100001"},
        {"from_date": "2024-03-12", "to_date": "2024-03-13", "where": "properties['x'] = 1"},
    ],
    ids=["missing-to", "bad-format", "bad-day", "reversed", "event-not-json", "limit-too-big", "bad-where"],
)
def test_export_invalid_params_400(sim: MixpanelSimulator, params: dict[str, str]) -> None:
    response = export(sim, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["request"].startswith("/api/2.0/export?")
    assert body["error"]


def test_export_limit_and_time_in_ms(sim: MixpanelSimulator) -> None:
    events = jsonl(export(sim, from_date="2024-03-14", to_date="2024-03-14", limit=5, time_in_ms="true"))
    assert len(events) == 5
    assert events == sim.events("2024-03-14", "2024-03-14", time_in_ms=True)[:5]
    seconds = sim.events("2024-03-14", "2024-03-14")[:5]
    for in_ms, in_seconds in zip(events, seconds):
        assert in_ms["properties"]["time"] // 1000 == in_seconds["properties"]["time"]


def test_export_where_time_filter(sim: MixpanelSimulator) -> None:
    cutoff = utc_midnight(YESTERDAY) + 12 * 3600
    events = jsonl(export(sim, from_date="2024-03-10", to_date="2024-03-14",
                          where=f'properties["$time"]>=datetime({cutoff})'))
    expected = [event for event in sim.events("2024-03-10", "2024-03-14") if event["properties"]["time"] >= cutoff]
    assert events == expected
    assert 0 < len(events) < 40


def test_export_gzip_when_accepted(sim: MixpanelSimulator) -> None:
    params: dict[str, Any] = {"project_id": PROJECT_ID, "from_date": "2024-03-14", "to_date": "2024-03-14"}
    response = requests.get(sim.url + "/api/2.0/export", params=params, auth=SERVICE_AUTH,
                            headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    raw = response.raw.read()
    assert response.headers["Content-Encoding"] == "gzip"
    assert int(response.headers["Content-Length"]) == len(raw)
    assert gzip.decompress(raw).decode().count("\n") == 40


def test_export_plain_without_accept_gzip_or_small(sim: MixpanelSimulator) -> None:
    params: dict[str, Any] = {"project_id": PROJECT_ID, "from_date": "2024-03-14", "to_date": "2024-03-14"}
    identity = requests.get(sim.url + "/api/2.0/export", params=params, auth=SERVICE_AUTH,
                            headers={"Accept-Encoding": "identity"}, timeout=10)
    small = requests.get(sim.url + "/api/2.0/export", params={**params, "limit": 1}, auth=SERVICE_AUTH,
                         headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert "Content-Encoding" not in identity.headers
    assert "Content-Encoding" not in small.headers
    assert len(small.content) <= 1400


def test_export_rows_without_insert_id_are_distinct() -> None:
    simulator = MixpanelSimulator(today=TODAY, days=10, events_per_day=200, profiles=5)
    events = simulator.events()
    missing = [event for event in events if "$insert_id" not in event["properties"]]
    assert 0.01 < len(missing) / len(events) < 0.06
    contents = {json.dumps(event, sort_keys=True) for event in missing}
    assert len(contents) == len(missing)
    keys = {(event["event"], event["properties"]["distinct_id"], event["properties"]["time"]) for event in events}
    assert len(keys) == len(events)


def test_export_events_carry_documented_properties(sim: MixpanelSimulator) -> None:
    events = sim.events()
    profile_ids = {profile["$distinct_id"] for profile in sim.profiles()}
    for event in events:
        properties = event["properties"]
        assert isinstance(properties["time"], int)
        assert properties["distinct_id"] in profile_ids
        assert isinstance(properties["mp_processing_time_ms"], int)
        for name in ("$browser", "$city", "$current_url", "mp_lib"):
            assert name in properties
    assert any("browser" in event["properties"] for event in events)
    assert any(isinstance(event["properties"].get("cart"), dict) for event in events)
    assert any(isinstance(event["properties"].get("categories"), list) for event in events)
    assert len({event["event"] for event in events}) >= 4


# Engage


def test_engage_paging_caps_page_size() -> None:
    with small_simulator(max_page_size=8) as simulator:
        first = get(simulator, "/api/query/engage", page_size=10).json()
        assert first["page"] == 0
        assert first["page_size"] == 8
        assert first["total"] == 25
        assert first["status"] == "ok"
        results = list(first["results"])
        pages = [first]
        for page in (1, 2, 3):
            body = get(simulator, "/api/query/engage", page=page, page_size=10, session_id=first["session_id"]).json()
            assert "total" not in body
            assert body["page"] == page
            assert body["page_size"] == 8
            assert body["session_id"] == first["session_id"]
            results.extend(body["results"])
            pages.append(body)
        assert [len(body["results"]) for body in pages] == [8, 8, 8, 1]
        assert results == simulator.profiles()


def test_engage_page_without_session_400(sim: MixpanelSimulator) -> None:
    response = get(sim, "/api/query/engage", page=1)
    assert response.status_code == 400
    assert "session_id" in response.json()["error"]


def test_engage_unknown_session_400(sim: MixpanelSimulator) -> None:
    response = get(sim, "/api/query/engage", page=1, session_id="123-NOPE")
    assert response.status_code == 400


def test_engage_post_form_and_legacy_path(sim: MixpanelSimulator) -> None:
    response = requests.post(sim.url + "/api/2.0/engage", data={"project_id": PROJECT_ID, "page_size": 5},
                             auth=SERVICE_AUTH, timeout=10)
    body = response.json()
    assert body["results"] == sim.profiles()[:5]


def test_engage_profile_properties(sim: MixpanelSimulator) -> None:
    profiles = get(sim, "/api/query/engage").json()["results"]
    assert profiles[0]["$distinct_id"] == "user-00001"
    for profile in profiles:
        properties = profile["$properties"]
        for name in ("$created", "$email", "$first_name", "$last_name", "$last_seen", "$city", "plan"):
            assert name in properties
        assert "T" in properties["$last_seen"]
        assert "+" not in properties["$last_seen"]
    custom = [profile for profile in MixpanelSimulator(today=TODAY).profiles() if "email" in profile["$properties"]]
    assert custom
    assert all(profile["$properties"]["email"] != profile["$properties"]["$email"] for profile in custom)


def test_engage_where_last_seen(sim: MixpanelSimulator) -> None:
    cutoff = "2024-03-12T00:00:00"
    body = get(sim, "/api/query/engage", where=f'properties["$last_seen"] >= "{cutoff}"').json()
    expected = [profile for profile in sim.profiles() if profile["$properties"]["$last_seen"] >= cutoff]
    assert body["results"] == expected
    assert body["total"] == len(expected)


def test_cohort_members_form_body(sim: MixpanelSimulator) -> None:
    cohort = sim.cohorts()[0]
    response = requests.post(
        sim.url + "/api/query/engage",
        params={"project_id": PROJECT_ID},
        data={"filter_by_cohort": json.dumps({"id": cohort["id"]})},
        auth=SERVICE_AUTH,
        timeout=10,
    )
    body = response.json()
    assert body["total"] == cohort["count"]
    assert body["results"] == sim.cohort_members(cohort["id"])


def test_cohort_members_json_body(sim: MixpanelSimulator) -> None:
    cohort = sim.cohorts()[1]
    response = requests.post(
        sim.url + "/api/query/engage",
        params={"project_id": PROJECT_ID, "page": 0, "page_size": 2},
        json={"filter_by_cohort": json.dumps({"id": cohort["id"]})},
        auth=SERVICE_AUTH,
        timeout=10,
    )
    body = response.json()
    assert body["results"] == sim.cohort_members(cohort["id"])[:2]
    assert body["total"] == cohort["count"]
    assert sim.requests[-1].params["filter_by_cohort"] == json.dumps({"id": cohort["id"]})


def test_cohort_members_unknown_cohort_400(sim: MixpanelSimulator) -> None:
    response = get(sim, "/api/query/engage", filter_by_cohort='{"id": 999}')
    assert response.status_code == 400
    assert "999" in response.json()["error"]


def test_cohorts_list_shape(sim: MixpanelSimulator) -> None:
    cohorts = requests.post(sim.url + "/api/query/cohorts/list", params={"project_id": PROJECT_ID},
                            auth=SERVICE_AUTH, timeout=10).json()
    assert isinstance(cohorts, list)
    assert len(cohorts) == 4
    for cohort in cohorts:
        assert set(cohort) == {"count", "is_visible", "description", "created", "project_id", "id", "name",
                               "data_group_id"}
        assert cohort["count"] == len(sim.cohort_members(cohort["id"]))
        assert cohort["is_visible"] in (0, 1)
        assert cohort["data_group_id"] is None
        assert datetime.strptime(cohort["created"], "%Y-%m-%d %H:%M:%S")


# Funnels, annotations, revenue


def test_funnels_list_and_data(sim: MixpanelSimulator) -> None:
    funnels = get(sim, "/api/query/funnels/list").json()
    assert funnels == sim.funnels_list()
    assert len(funnels) == 3
    funnel_id = funnels[1]["funnel_id"]
    body = get(sim, "/api/query/funnels", funnel_id=funnel_id, from_date="2024-03-13",
               to_date="2024-03-16", unit="day").json()
    assert body["meta"]["dates"] == ["2024-03-13", "2024-03-14"]
    assert body["data"] == sim.funnel_data(funnel_id, date(2024, 3, 13), date(2024, 3, 16))
    steps = body["data"]["2024-03-13"]["steps"]
    assert steps[0]["avg_time"] is None
    assert all(isinstance(step["avg_time"], int) for step in steps[1:])
    for name in ("count", "avg_time_from_start", "step_conv_ratio", "overall_conv_ratio", "goal", "event", "step_label"):
        assert name in steps[0]
    assert set(body["data"]["2024-03-13"]["analysis"]) == {"completion", "starting_amount", "steps", "worst"}


def test_funnels_legacy_path_and_unknown_id(sim: MixpanelSimulator) -> None:
    legacy = get(sim, "/api/2.0/funnels", funnel_id=7501, from_date="2024-03-14", to_date="2024-03-14")
    unknown = get(sim, "/api/query/funnels", funnel_id=1, from_date="2024-03-14", to_date="2024-03-14")
    assert legacy.status_code == 200
    assert list(legacy.json()["data"]) == ["2024-03-14"]
    assert unknown.status_code == 400


def test_annotations_app_api(sim: MixpanelSimulator) -> None:
    body = get(sim, f"/api/app/projects/{PROJECT_ID}/annotations").json()
    assert body["status"] == "ok"
    assert body["results"] == sim.annotations()
    assert len(body["results"]) == 7
    record = body["results"][0]
    assert set(record) == {"id", "date", "description", "user", "tags"}
    assert set(record["user"]) == {"id", "first_name", "last_name"}


def test_annotations_date_filter(sim: MixpanelSimulator) -> None:
    body = get(sim, f"/api/app/projects/{PROJECT_ID}/annotations", fromDate="2024-03-12", toDate="2024-03-13").json()
    expected = [record for record in sim.annotations() if "2024-03-12" <= record["date"][:10] <= "2024-03-13"]
    assert body["results"] == expected


def test_annotations_other_project_404(sim: MixpanelSimulator) -> None:
    response = requests.get(sim.url + "/api/app/projects/1/annotations", auth=SERVICE_AUTH, timeout=10)
    assert response.status_code == 404
    assert response.json()["status"] == "error"


def test_annotations_path_project_replaces_param(sim: MixpanelSimulator) -> None:
    response = requests.get(sim.url + f"/api/app/projects/{PROJECT_ID}/annotations", auth=SERVICE_AUTH, timeout=10)
    assert response.status_code == 200


def test_annotations_app_api_rejects_project_secret(sim: MixpanelSimulator) -> None:
    app = requests.get(sim.url + f"/api/app/projects/{PROJECT_ID}/annotations", headers=basic_header("demo-api-secret:"), timeout=10)
    legacy = requests.get(sim.url + "/api/2.0/annotations", headers=basic_header("demo-api-secret:"), timeout=10)

    assert app.status_code == 401
    assert app.json()["status"] == "error"
    assert "service accounts only" in app.json()["error"]
    assert legacy.status_code == 200
    assert [record["id"] for record in legacy.json()["annotations"]] == [record["id"] for record in sim.annotations()]


def test_revenue_shape(sim: MixpanelSimulator) -> None:
    for path in ("/api/2.0/engage/revenue", "/api/query/engage/revenue"):
        body = get(sim, path, from_date="2024-03-10", to_date="2024-03-14", unit="day").json()
        assert body["status"] == "ok"
        assert body["session_id"]
        assert body["computed_at"]
        assert body["results"] == sim.revenue("2024-03-10", "2024-03-14")
        assert list(body["results"]) == ["$overall", "2024-03-10", "2024-03-11", "2024-03-12", "2024-03-13", "2024-03-14"]
        daily = [value for key, value in body["results"].items() if key != "$overall"]
        assert body["results"]["$overall"]["count"] == sum(day["count"] for day in daily)


def test_unknown_path_404(sim: MixpanelSimulator) -> None:
    response = get(sim, "/api/query/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]


def test_export_rejects_post(sim: MixpanelSimulator) -> None:
    response = requests.post(sim.url + "/api/2.0/export", auth=SERVICE_AUTH, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


# Faults


def test_fault_5xx_then_retry_succeeds() -> None:
    with small_simulator(faults=Faults(every_nth_5xx=2)) as simulator:
        statuses = [get(simulator, "/api/query/cohorts/list").status_code for _ in range(6)]
    assert statuses == [200, 500, 200, 502, 200, 503]


def test_fault_429_with_retry_after() -> None:
    with small_simulator(faults=Faults(every_nth_429=2, retry_after="0")) as simulator:
        first = get(simulator, "/api/query/funnels/list")
        limited = get(simulator, "/api/query/funnels/list")
        retry = get(simulator, "/api/query/funnels/list")
        assert first.status_code == 200
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "0"
        assert "rate limit exceeded" in limited.json()["error"]
        assert retry.status_code == 200
        assert simulator.violations == {}


def test_fault_cut_connection_then_retry() -> None:
    with small_simulator(faults=Faults(every_nth_cut=2)) as simulator:
        params = {"from_date": "2024-03-14", "to_date": "2024-03-14"}
        assert export(simulator, **params).status_code == 200
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
            export(simulator, **params)
        retry = export(simulator, **params)
        assert jsonl(retry) == simulator.events("2024-03-14", "2024-03-14")


def test_fault_terminated_early_then_retry() -> None:
    with small_simulator(faults=Faults(every_nth_terminated_early=2)) as simulator:
        params = {"from_date": "2024-03-14", "to_date": "2024-03-14"}
        get(simulator, "/api/query/cohorts/list")
        full = export(simulator, **params).text.splitlines()
        truncated = export(simulator, **params).text.splitlines()
        retry = export(simulator, **params).text.splitlines()
    assert len(full) == 40
    assert truncated[-1] == "terminated early"
    assert truncated[:-1] == full[:20]
    assert retry == full


def test_fault_error_in_200_query_only() -> None:
    with small_simulator(faults=Faults(error_in_200_every=2)) as simulator:
        first = get(simulator, "/api/query/engage")
        failed = get(simulator, "/api/query/engage")
        retry = get(simulator, "/api/query/engage")
        exports = [export(simulator, from_date="2024-03-14", to_date="2024-03-14") for _ in range(2)]
    assert first.json()["status"] == "ok"
    assert failed.status_code == 200
    assert failed.json()["status"] == "error"
    assert failed.json()["error"]
    assert retry.json()["status"] == "ok"
    assert [len(jsonl(response)) for response in exports] == [40, 40]


def test_faults_skip_unauthenticated_requests() -> None:
    with small_simulator(faults=Faults(every_nth_5xx=2)) as simulator:
        assert get(simulator, "/api/query/funnels/list").status_code == 200
        rejected = requests.get(simulator.url + "/api/query/funnels/list", headers=basic_header("x:y"), timeout=10)
        unknown = get(simulator, "/api/query/unknown")
        assert rejected.status_code == 401
        assert unknown.status_code == 404
        assert get(simulator, "/api/query/funnels/list").status_code == 500


# Rate limits


def test_query_window_violation_counted() -> None:
    limits = Limits(query_per_window=2, window_seconds=2.0)
    with small_simulator(limits=limits) as simulator:
        first = get(simulator, "/api/query/engage", page_size=10)
        session_id = first.json()["session_id"]
        get(simulator, "/api/query/cohorts/list")
        free_page = get(simulator, "/api/query/engage", page=1, page_size=10, session_id=session_id)
        free_annotations = get(simulator, f"/api/app/projects/{PROJECT_ID}/annotations")
        limited = get(simulator, "/api/query/funnels/list")

        assert free_page.status_code == 200
        assert free_annotations.status_code == 200
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 2
        assert limited.headers["RateLimit-Policy"] == '"project";q=2;w=2'
        assert limited.headers["RateLimit"].startswith('"project";r=0;t=')
        body = limited.json()
        assert body["request"].startswith("/api/query/funnels/list?")
        assert body["error"].startswith(f"Query rate limit exceeded for project_id: {PROJECT_ID}.")
        assert simulator.violations == {"query_window": 1}
        assert [record.counted for record in simulator.requests] == [True, True, False, False, False]


def test_export_per_second_violation() -> None:
    with small_simulator(limits=Limits(export_per_second=1)) as simulator:
        statuses = [export(simulator, from_date="2024-03-14", to_date="2024-03-14").status_code for _ in range(2)]
        assert statuses == [200, 429]
        assert simulator.violations == {"export_second": 1}


def test_query_concurrency_violation() -> None:
    # The latency keeps the first request in flight while the second arrives.
    with small_simulator(limits=Limits(query_concurrency=1), latency=0.5) as simulator:
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def call() -> None:
            barrier.wait()
            statuses.append(get(simulator, "/api/query/cohorts/list").status_code)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 429]
        assert simulator.violations == {"query_concurrency": 1}
        assert simulator.max_concurrency_seen["query"] == 1


def test_rate_window_frees_after_window() -> None:
    now = [100.0]
    limiter = RateLimiter(Limits(query_per_window=1, window_seconds=10.0), PROJECT_ID, clock=lambda: now[0])
    assert limiter.acquire("query", budgeted=True).admitted
    limiter.release("query")
    now[0] = 104.0
    rejected = limiter.acquire("query", budgeted=True)
    assert not rejected.admitted
    assert rejected.retry_after == 6
    now[0] = 110.0
    assert limiter.acquire("query", budgeted=True).admitted


# Time and determinism


def test_add_day_keeps_old_days() -> None:
    simulator = small_simulator()
    before = simulator.events()
    completed = simulator.add_day()
    after = simulator.events()
    assert completed == TODAY
    assert simulator.today == TODAY + timedelta(days=1)
    assert after[: len(before)] == before
    assert after[len(before):] == simulator.events(TODAY, TODAY)
    assert len(after) == len(before) + 40


def test_add_day_served_over_http(sim: MixpanelSimulator) -> None:
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert export(sim, from_date=TODAY.isoformat(), to_date=tomorrow).status_code == 400
    sim.add_day()
    events = jsonl(export(sim, from_date=TODAY.isoformat(), to_date=tomorrow))
    assert len(events) == 40
    funnel = get(sim, "/api/query/funnels", funnel_id=7501, from_date=TODAY.isoformat(), to_date=tomorrow).json()
    assert funnel["meta"]["dates"] == [TODAY.isoformat()]


def test_same_seed_same_data() -> None:
    first = small_simulator(seed=7)
    second = small_simulator(seed=7)
    other = small_simulator(seed=8)
    assert first.events() == second.events()
    assert first.profiles() == second.profiles()
    assert first.cohorts() == second.cohorts()
    assert first.annotations() == second.annotations()
    assert first.funnel_data(7501, YESTERDAY, YESTERDAY) == second.funnel_data(7501, YESTERDAY, YESTERDAY)
    assert first.events() != other.events()


def test_expected_data_is_a_copy(sim: MixpanelSimulator) -> None:
    sim.events()[0]["properties"]["time"] = 0
    sim.profiles()[0]["$properties"].clear()
    assert jsonl(export(sim, from_date="2024-03-10", to_date="2024-03-14")) == sim.events()
    assert get(sim, "/api/query/engage", page_size=1).json()["results"] == sim.profiles()[:1]


def test_requests_recorded_and_reset(sim: MixpanelSimulator) -> None:
    requests.post(sim.url + "/api/query/engage", params={"project_id": PROJECT_ID}, json={"page_size": 3},
                  auth=SERVICE_AUTH, timeout=10)
    record = sim.requests[-1]
    assert record.method == "POST"
    assert record.path == "/api/query/engage"
    assert record.params == {"project_id": str(PROJECT_ID), "page_size": 3}
    assert record.counted is True
    assert record.status == 200
    sim.reset_requests()
    assert sim.requests == []


def test_utf8_city_survives(sim: MixpanelSimulator) -> None:
    simulator = MixpanelSimulator(today=TODAY, days=3)
    with simulator:
        events = jsonl(export(simulator, from_date="2024-03-12", to_date="2024-03-14"))
    assert any(event["properties"]["$city"] == "São Paulo" for event in events)


def test_serve_forever_returns_after_stop() -> None:
    simulator = small_simulator()
    url = simulator.start()
    runner = threading.Thread(target=simulator.serve_forever)
    runner.start()
    assert requests.get(url + "/api/query/funnels/list", params={"project_id": PROJECT_ID},
                        auth=SERVICE_AUTH, timeout=10).status_code == 200
    simulator.stop()
    runner.join(timeout=10)
    assert not runner.is_alive()
    with pytest.raises(RuntimeError):
        simulator.url
