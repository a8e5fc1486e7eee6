"""Parents that are not selected but feed a selected child endpoint, read inside the child's resource.

Loaded alone (``--endpoint comments``), a child still needs its parent's records. dlt would
run the parent as an unselected resource and save its cursor, although none of its rows load,
so the next full run would skip those rows. dlt also counts that parent as extracted, so
``--full-refresh`` would drop its tables. restgen instead reads such parents inline: their
rows are not loaded, their cursors are read but never saved, and the dlt source contains
only the child.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import dlt

from restgen.engine.endpoint import EndpointRunner, SkipParent
from restgen.incremental import STATE_KEY

Row = dict[str, Any]

# Set in a child's resource state when it runs. Until a load has saved it (the first run, or
# the first after --full-refresh, which clears the child's state), feeders read every parent.
CHILD_RAN_KEY = "restgen_child_ran"


def child_pages(runner: EndpointRunner, parent: Mapping[str, Any], state: dict[str, Any] | None) -> list[list[Row]]:
    """Return the pages of one parent's child requests, or none when the parent is skipped."""
    try:
        runner.check_parent(parent)
    except SkipParent:
        return []
    return list(runner.sequences(parent, state))


class Feeders:
    """The unselected endpoints between a selected child and its nearest selected ancestor.

    ``runners`` go from the outermost, a root endpoint or a child of the selected ancestor,
    to the child's direct parent.
    """

    def __init__(self, runners: list[EndpointRunner]) -> None:
        self.runners = runners
        # The load id of the run that the states belong to, and the states.
        self._run: tuple[str, list[dict[str, Any] | None]] | None = None

    def states(self) -> list[dict[str, Any] | None]:
        """Return each feeder's cursors for this run: copies, so that nothing saves them.

        A child that has run before gets copies of the stored cursors, so it is asked only
        for the parents that changed since the parent's last load. A child that has not gets
        empty cursors, so it is asked for every parent. Call from within the child's resource;
        a transformer calls it once per batch, and every batch of a run gets the same states.
        """
        load_id = dlt.current.load_package_state()["load_id"]
        if self._run is None or self._run[0] != load_id:
            self._run = (load_id, self._new_states())
        return self._run[1]

    def _new_states(self) -> list[dict[str, Any] | None]:
        child_state = dlt.current.resource_state()
        ran_before = bool(child_state.get(CHILD_RAN_KEY))
        child_state[CHILD_RAN_KEY] = True
        stored = dlt.current.source_state().get("resources", {})
        states: list[dict[str, Any] | None] = []
        for runner in self.runners:
            if runner.incremental is None:
                states.append(None)
            elif ran_before:
                states.append(copy.deepcopy(stored.get(runner.name, {}).get(STATE_KEY, {})))
            else:
                states.append({})
        return states

    def records(self, parents: list[Row] | None, states: list[dict[str, Any] | None]) -> Iterator[list[Row]]:
        """Yield pages of the innermost feeder's records for ``parents``.

        ``parents`` are records of the selected ancestor, or None when the outermost feeder is
        a root endpoint.
        """
        return self._level(0, parents, states)

    def _level(self, depth: int, parents: list[Row] | None, states: list[dict[str, Any] | None]) -> Iterator[list[Row]]:
        runner, state = self.runners[depth], states[depth]
        if parents is None:
            pages: Iterator[list[Row]] = runner.sequences(None, state)
        else:
            pages = (page for parent in parents for page in child_pages(runner, parent, state))
        for page in pages:
            if depth + 1 == len(self.runners):
                yield page
            else:
                yield from self._level(depth + 1, page, states)
