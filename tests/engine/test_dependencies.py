"""Parent/child endpoints: parameters from parents, chains, missing fields, skips and concurrency."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from .conftest import ApiServer, Engine, RecordedRequest

USERS = [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}]


def orders_for(request: RecordedRequest) -> list[dict[str, Any]]:
    user = int(request.arg("user_id") or 0)
    return [{"order": user * 100 + number, "total": number} for number in range(1, 3)]


def test_param_mapping_from_dependencies(engine: Engine, api: ApiServer) -> None:
    api.json_route("/users", lambda request: USERS)
    api.json_route("/orders", orders_for)
    endpoints = [{"name": "users", "path": "users"}, {"name": "orders", "path": "orders", "primary_key": "order"}]
    dependencies = [{"endpoint": "orders", "depends_on": "users", "param_mapping": {"user_id": "id"}, "include_from_parent": {"user_name": "name"}}]
    spec = engine.write_spec(endpoints, dependencies=dependencies)

    engine.run(spec)

    assert sorted(request.arg("user_id") for request in api.requests_to("/orders")) == ["1", "2", "3"]
    assert engine.query('SELECT "order", user_name FROM orders ORDER BY 1') == [
        (101, "ada"), (102, "ada"), (201, "bob"), (202, "bob"), (301, "cy"), (302, "cy"),
    ]
    assert engine.count("users") == 3


def test_parent_field_in_form_string(engine: Engine, api: ApiServer) -> None:
    api.json_route("/cohorts", lambda request: [{"id": 5, "name": "a"}, {"id": 6, "name": "b"}])

    def members(request: RecordedRequest) -> dict[str, Any]:
        cohort = request.form()["filter_by_cohort"]
        return {"results": [{"distinct_id": f"{cohort}-member"}]}

    api.json_route("/engage", members)
    child = {
        "name": "cohort_members",
        "path": "engage",
        "method": "POST",
        "depends_on": "cohorts",
        "form": {"filter_by_cohort": '{"id": ${parent.id}}'},
        "include_from_parent": {"cohort_id": "id"},
        "data_selector": "results",
    }
    spec = engine.write_spec([{"name": "cohorts", "path": "cohorts"}, child])

    engine.run(spec)

    forms = sorted(request.form()["filter_by_cohort"] for request in api.requests_to("/engage"))
    assert forms == ['{"id": 5}', '{"id": 6}']
    assert engine.query("SELECT cohort_id, distinct_id FROM cohort_members ORDER BY 1") == [
        (5, '{"id": 5}-member'),
        (6, '{"id": 6}-member'),
    ]


def three_level_spec(engine: Engine, api: ApiServer) -> Any:
    api.json_route("/orgs", lambda request: [{"id": "o1"}, {"id": "o2"}])
    for org in ("o1", "o2"):
        api.json_route(f"/orgs/{org}/projects", lambda request, org=org: [{"id": f"{org}-p1"}, {"id": f"{org}-p2"}])
        for project in ("p1", "p2"):
            key = f"{org}-{project}"
            api.json_route(f"/projects/{key}/tasks", lambda request, key=key: {"tasks": [{"task": f"{key}-t1"}]})
    endpoints = [
        {"name": "orgs", "path": "orgs"},
        {"name": "projects", "path": "orgs/${parent.id}/projects", "depends_on": "orgs", "include_from_parent": {"org_id": "id"}},
        {"name": "tasks", "path": "projects/${parent.id}/tasks", "depends_on": "projects", "include_from_parent": {"project_id": "id", "org_id": "org_id"}},
    ]
    return engine.write_spec(endpoints)


@pytest.mark.parametrize("selected", [["orgs", "tasks"], ["tasks"]], ids=["middle-unselected", "only-grandchild"])
def test_unselected_ancestors_feed_child(engine: Engine, api: ApiServer, selected: list[str]) -> None:
    spec = three_level_spec(engine, api)

    engine.run(spec, endpoints=selected)

    assert engine.count("tasks") == 4
    assert engine.tables() - {"_dlt_loads", "_dlt_pipeline_state", "_dlt_version"} == set(selected)
    assert len(api.requests_to("/orgs")) == 1


def test_three_level_chain(engine: Engine, api: ApiServer) -> None:
    spec = three_level_spec(engine, api)

    engine.run(spec)

    assert engine.count("orgs") == 2
    assert engine.query("SELECT org_id, id FROM projects ORDER BY 2") == [("o1", "o1-p1"), ("o1", "o1-p2"), ("o2", "o2-p1"), ("o2", "o2-p2")]
    assert engine.query("SELECT org_id, project_id, task FROM tasks ORDER BY 3") == [
        ("o1", "o1-p1", "o1-p1-t1"),
        ("o1", "o1-p2", "o1-p2-t1"),
        ("o2", "o2-p1", "o2-p1-t1"),
        ("o2", "o2-p2", "o2-p2-t1"),
    ]


def missing_field_spec(engine: Engine, api: ApiServer, mode: str) -> Any:
    api.json_route("/items", lambda request: [{"id": 1}, {"name": "no id here"}, {"id": 3}])
    api.json_route("/details", lambda request: [{"detail": f"d{request.arg('item')}"}])
    child = {"name": "details", "path": "details", "depends_on": "items", "param_mapping": {"item": "id"}, "on_missing_parent_field": mode}
    return engine.write_spec([{"name": "items", "path": "items"}, child])


def test_missing_parent_field_raise(engine: Engine, api: ApiServer) -> None:
    spec = missing_field_spec(engine, api, "raise")

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "details: " in err
    assert "no field 'id'" in err
    assert "on_missing_parent_field: skip" in err
    assert "Traceback" not in err


def test_missing_parent_field_skip(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture) -> None:
    spec = missing_field_spec(engine, api, "skip")

    with caplog.at_level(logging.WARNING):
        engine.run(spec)

    assert engine.column("details", "detail") == ["d1", "d3"]
    assert engine.count("items") == 3
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING and "skipping that parent" in record.getMessage()]
    assert len(warnings) == 1
    assert "'id'" in warnings[0]


def skipping_child_spec(engine: Engine, path: str) -> Any:
    """Write a spec of ``items`` and a child ``details`` at ``path`` that skips 404 responses."""
    child = {
        "name": "details",
        "path": path,
        "depends_on": "items",
        "response": {"rules": [{"status": 404, "action": "skip", "message": "the item was deleted"}]},
    }
    return engine.write_spec([{"name": "items", "path": "items"}, child])


def test_child_404_skipped_by_rule(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture) -> None:
    api.json_route("/items", lambda request: [{"id": 1}, {"id": 2}, {"id": 3}])
    for item in (1, 3):
        api.json_route(f"/items/{item}/details", lambda request, item=item: {"details": [{"detail": f"d{item}"}]})
    spec = skipping_child_spec(engine, "items/${parent.id}/details")

    with caplog.at_level(logging.WARNING):
        engine.run(spec)

    assert engine.column("details", "detail") == ["d1", "d3"]
    assert len(api.requests_to("/items/2/details")) == 1
    assert any("the item was deleted" in record.getMessage() for record in caplog.records)


def test_all_responses_skipped_warns(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture) -> None:
    # A typo in the child path: every child request gets the test server's 404.
    api.json_route("/items", lambda request: [{"id": number} for number in range(1, 9)])
    spec = skipping_child_spec(engine, "items/${parent.id}/detials")

    with caplog.at_level(logging.WARNING):
        result = engine.run(spec)

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    skip_lines = [message for message in warnings if "skipping the response" in message]
    assert len(skip_lines) == 5
    assert skip_lines[-1].endswith("; the summary counts further skips")
    assert (
        "details: a response rule skipped all 8 responses, so nothing was loaded from it; check the endpoint's path and parameters; "
        "after a fix, --endpoint details --full-refresh reloads it for every parent"
    ) in warnings
    assert [stats.skipped for stats in result.stats] == [0, 8]


def test_child_404_without_rule_fails(engine: Engine, api: ApiServer) -> None:
    api.json_route("/items", lambda request: [{"id": 1}, {"id": 2}])
    api.json_route("/items/1/details", lambda request: [{"detail": "d1"}])
    spec = engine.write_spec([{"name": "items", "path": "items"}, {"name": "details", "path": "items/${parent.id}/details", "depends_on": "items"}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "details: " in err
    assert "404" in err


def slow_children(api: ApiServer, parents: int, overlap: int, wait: float) -> None:
    """Serve /parents and /children, where each child request waits for ``overlap`` in flight."""
    api.json_route("/parents", lambda request: [{"id": number} for number in range(1, parents + 1)])

    def child(request: RecordedRequest) -> list[dict[str, Any]]:
        api.wait_for_in_flight(overlap, timeout=wait)
        return [{"child": int(request.arg("parent") or 0)}]

    api.json_route("/children", child)


def concurrency_spec(engine: Engine, client: dict[str, Any] | None = None) -> Any:
    child = {"name": "children", "path": "children", "depends_on": "parents", "param_mapping": {"parent": "id"}, "parent_concurrency": 4}
    return engine.write_spec([{"name": "parents", "path": "parents"}, child], client=client)


def test_child_requests_run_concurrently(engine: Engine, api: ApiServer) -> None:
    slow_children(api, parents=4, overlap=2, wait=5.0)
    spec = concurrency_spec(engine)

    engine.run(spec)

    assert api.max_in_flight >= 2
    assert engine.column("children", "child") == [1, 2, 3, 4]


def test_child_concurrency_within_limit(engine: Engine, api: ApiServer) -> None:
    # Each child waits briefly for a third request in flight; the limit must keep it from coming.
    slow_children(api, parents=6, overlap=3, wait=0.3)
    spec = concurrency_spec(engine, client={"rate_limit": {"max_concurrency": 2}})

    engine.run(spec)

    assert api.max_in_flight == 2
    assert engine.column("children", "child") == [1, 2, 3, 4, 5, 6]


def test_nested_parent_field(engine: Engine, api: ApiServer) -> None:
    api.json_route("/repos", lambda request: [{"name": "a", "owner": {"login": "ann"}}, {"name": "b", "owner": {"login": "ben"}}])
    for login in ("ann", "ben"):
        api.json_route(f"/users/{login}/keys", lambda request, login=login: [{"key": f"{login}-key"}])
    child = {"name": "keys", "path": "users/${parent.owner.login}/keys", "depends_on": "repos", "include_from_parent": {"repo": "name"}}
    spec = engine.write_spec([{"name": "repos", "path": "repos"}, child])

    engine.run(spec)

    assert engine.query("SELECT repo, key FROM keys ORDER BY 1") == [("a", "ann-key"), ("b", "ben-key")]


def test_child_selected_alone(engine: Engine, api: ApiServer) -> None:
    api.json_route("/items", lambda request: [{"id": 1}, {"id": 2}])
    api.json_route("/details", lambda request: [{"detail": f"d{request.arg('item')}"}])
    child = {"name": "details", "path": "details", "depends_on": "items", "param_mapping": {"item": "id"}}
    spec = engine.write_spec([{"name": "items", "path": "items"}, child])

    engine.run(spec, endpoints=["details"])

    assert engine.column("details", "detail") == ["d1", "d2"]
    assert len(api.requests_to("/items")) == 1
    assert "items" not in engine.tables()


def test_child_failure_stops_other_parents(engine: Engine, api: ApiServer) -> None:
    api.json_route("/parents", lambda request: [{"id": number} for number in range(1, 11)])

    def child(exchange: Any) -> None:
        if exchange.request.arg("parent") == "1":
            exchange.send_json({"error": "invalid parent"}, status=400)
            return
        # Slow enough that the failure is seen while most parents still wait in the queue.
        api.wait_for_in_flight(99, timeout=0.2)
        exchange.send_json([{"child": 1}])

    api.route("/children", child)
    child_spec = {"name": "children", "path": "children", "depends_on": "parents", "param_mapping": {"parent": "id"}, "parent_concurrency": 2}
    spec = engine.write_spec([{"name": "parents", "path": "parents"}, child_spec])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "children: " in err
    assert "400" in err
    assert len(api.requests_to("/children")) <= 4


def test_include_from_parent_collision_fails(engine: Engine, api: ApiServer) -> None:
    api.json_route("/users", lambda request: USERS)
    api.json_route("/orders", lambda request: [{"order": 1, "user_name": "someone else"}])
    endpoints = [
        {"name": "users", "path": "users"},
        {"name": "orders", "path": "orders", "depends_on": "users", "param_mapping": {"user_id": "id"}, "include_from_parent": {"user_name": "name"}},
    ]
    spec = engine.write_spec(endpoints)

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "include_from_parent would overwrite the field 'user_name'" in err
    assert "Traceback" not in err
    assert "orders" not in engine.tables()


class Tickets:
    """Tickets served by updated_since, each with one comment; ``touch`` changes a ticket."""

    def __init__(self, api: ApiServer) -> None:
        self.updated = {number: f"2024-01-0{number}T00:00:00Z" for number in range(1, 5)}
        api.json_route("/tickets", self.tickets)
        api.json_route("/comments", lambda request: [{"comment": f"c{request.arg('ticket')}"}])

    def tickets(self, request: RecordedRequest) -> list[dict[str, Any]]:
        since = request.arg("updated_since") or ""
        return [{"id": number, "updated_at": updated} for number, updated in self.updated.items() if updated >= since]

    def touch(self, number: int) -> None:
        self.updated[number] = "2024-02-01T00:00:00Z"


def ticket_spec(engine: Engine) -> Any:
    tickets = {
        "name": "tickets",
        "path": "tickets",
        "params": {"updated_since": "${incremental.start}"},
        "incremental": {"cursor_path": "updated_at", "initial_value": "2024-01-01T00:00:00Z"},
        "primary_key": "id",
        "write_disposition": "merge",
    }
    comments = {
        "name": "comments",
        "path": "comments",
        "depends_on": "tickets",
        "param_mapping": {"ticket": "id"},
        "include_from_parent": {"ticket_id": "id"},
        "primary_key": "ticket_id",
        "write_disposition": "merge",
    }
    return engine.write_spec([tickets, comments])


def test_child_alone_keeps_parent_cursor(engine: Engine, api: ApiServer) -> None:
    server = Tickets(api)
    spec = ticket_spec(engine)
    engine.run(spec)
    server.touch(2)

    engine.run(spec, endpoints=["comments"])

    # The child was asked only for the changed ticket: ticket 4, at the stored cursor, comes back
    # from /tickets but was loaded before. The tickets cursor did not move.
    assert [request.arg("ticket") for request in api.requests_to("/comments")][4:] == ["2"]
    assert engine.cursors("tickets") == {"": "2024-01-04T00:00:00+00:00"}

    engine.run(spec)

    assert engine.query("SELECT id FROM tickets WHERE updated_at >= TIMESTAMPTZ '2024-02-01 00:00:00+00'") == [(2,)]


def test_child_full_refresh_keeps_parent_table(engine: Engine, api: ApiServer) -> None:
    Tickets(api)
    spec = ticket_spec(engine)
    engine.run(spec)

    engine.run(spec, endpoints=["comments"], full_refresh=True)

    # Every ticket's comments were requested again, and the tickets table and cursor stayed.
    assert sorted(request.arg("ticket") for request in api.requests_to("/comments")[4:]) == ["1", "2", "3", "4"]
    assert engine.count("tickets") == 4
    assert engine.count("comments") == 4
    assert engine.cursors("tickets") == {"": "2024-01-04T00:00:00+00:00"}

    engine.run(spec)

    assert engine.count("tickets") == 4


def test_parent_alone_warns_about_children(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture) -> None:
    Tickets(api)
    spec = ticket_spec(engine)

    with caplog.at_level(logging.WARNING):
        engine.run(spec, endpoints=["tickets"])

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "tickets: its child endpoints comments are not selected, so no run will ask them for the records this run loads; "
        "select them too, or reload them later with --endpoint comments --full-refresh"
    ]
