"""Response rules: errors disguised as success, and errors a spec chooses to tolerate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jmespath
from jmespath.parser import ParsedResult


@dataclass(frozen=True)
class ResponseRule:
    """One ``response.rules`` item: conditions that all must hold, and the action."""

    statuses: frozenset[int] | None
    body_contains: str | None
    body_path: ParsedResult | None
    action: Literal["fail", "skip"]
    message: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ResponseRule:
        status = config.get("status")
        statuses: frozenset[int] | None = None
        if isinstance(status, int):
            statuses = frozenset([status])
        elif status is not None:
            statuses = frozenset(status)
        path = config.get("body_path")
        return cls(
            statuses=statuses,
            body_contains=config.get("body_contains"),
            body_path=jmespath.compile(path) if path else None,
            action=config["action"],
            message=config.get("message") or ("response skipped by a rule" if config["action"] == "skip" else "response rejected by a rule"),
        )

    def matches(self, status: int, text: str | None, body: Any = None) -> bool:
        if self.statuses is not None and status not in self.statuses:
            return False
        if self.body_contains is not None and (text is None or self.body_contains not in text):
            return False
        if self.body_path is not None:
            if not isinstance(body, (dict, list)):
                return False
            return bool(self.body_path.search(body))
        return True


def first_match(rules: list[ResponseRule], status: int, text: str | None, body: Any = None) -> ResponseRule | None:
    for rule in rules:
        if rule.matches(status, text, body):
            return rule
    return None
