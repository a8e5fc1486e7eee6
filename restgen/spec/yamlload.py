"""Load a YAML spec into plain Python values and remember where each value was written.

PyYAML's own loaders drop positions and silently keep the last of two duplicate keys, so
restgen composes the node tree and builds the values itself. Only the YAML core types are
built: a tag that would construct a Python object is an error, not a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from restgen.errors import SpecError, SpecIssue

PathKey = tuple[str | int, ...]

# libyaml's parser builds the same node tree with the same marks about ten times faster than
# the pure-Python one; PyYAML ships it in its wheels, and the fallback covers builds without it.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Tags built from scalars; a YAML timestamp stays a string, because specs treat dates as text.
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


@dataclass
class Positions:
    """1-based line and column of each value and each mapping key, by path."""

    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def of_value(self, path: PathKey) -> tuple[int, int]:
        """Return the position of the value at ``path``, or of its nearest written ancestor."""
        for cut in range(len(path), -1, -1):
            found = self.values.get(path[:cut])
            if found:
                return found
        return (1, 1)

    def of_key(self, path: PathKey) -> tuple[int, int]:
        """Return the position of the key that names ``path``, or of the value if unknown."""
        return self.keys.get(path) or self.of_value(path)


def format_path(path: PathKey) -> str:
    """Write a path the way a user reads YAML: ``endpoints[2].pagination.type``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _mark(node: Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, file: str, loader: Any) -> None:
        self.file = file
        self.loader = loader
        self.positions = Positions()
        self.issues: list[SpecIssue] = []

    def issue(self, node: Node, path: PathKey, message: str) -> None:
        line, column = _mark(node)
        self.issues.append(SpecIssue(self.file, line, column, format_path(path), message))

    def build(self, node: Node, path: PathKey) -> Any:
        self.positions.values[path] = _mark(node)
        if isinstance(node, MappingNode):
            return self.build_mapping(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.issue(node, path, f"the YAML tag {node.tag!r} is not allowed; write a plain list")
                return []
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.build_scalar(node, path)

    def build_scalar(self, node: ScalarNode, path: PathKey) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.issue(node, path, f"the YAML tag {node.tag!r} is not allowed; write a plain value")
            return None
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        return self.loader.construct_object(node, deep=True)

    def build_mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        if node.tag != "tag:yaml.org,2002:map":
            self.issue(node, path, f"the YAML tag {node.tag!r} is not allowed; write a plain mapping")
            return {}
        self.loader.flatten_mapping(node)  # applies `<<` merge keys
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.issue(key_node, path, "a mapping key must be a plain string")
                continue
            key = str(self.build_scalar(key_node, path))
            key_path = (*path, key)
            if key in first_seen:
                self.issue(key_node, key_path, f"duplicate key {key!r}; it is already set at line {first_seen[key]}")
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self.positions.keys[key_path] = _mark(key_node)
            result[key] = self.build(value_node, key_path)
        return result


def load_yaml(text: str, file: str) -> tuple[Any, Positions]:
    """Parse ``text`` and return its value with the position of every value and key.

    Raises SpecError with every problem found: a syntax error (tabs used for indentation,
    bad indentation, an unclosed quote), a duplicate key, or a tag that is not plain YAML.
    """
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError:
        # Parse again with the pure-Python parser, whose messages are the ones restgen words.
        loader.dispose()
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise SpecError([_syntax_issue(exc, text, file)]) from exc
        except yaml.YAMLError as exc:
            raise SpecError([SpecIssue(file, 1, 1, "", f"invalid YAML: {exc}")]) from exc
    finally:
        loader.dispose()

    if root is None:
        raise SpecError([SpecIssue(file, 1, 1, "", "the file is empty; a spec starts with 'restgen: 1'")])
    builder = _Builder(file, loader)
    value = builder.build(root, ())
    if builder.issues:
        raise SpecError(builder.issues)
    return value, builder.positions


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str, file: str) -> SpecIssue:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    problem = exc.problem or "invalid YAML"
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    if "but found another document" in problem:
        return SpecIssue(file, line, column, "", "invalid YAML: a spec is one YAML document, but a second one starts here; remove the '---' line")
    if "\t" in source_line[: max(column, 1)] or "'\\t'" in problem:
        message = "a tab character is used for indentation; YAML allows only spaces"
    else:
        message = f"invalid YAML: {problem}"
        if exc.context:
            message += f" ({exc.context}"
            if exc.context_mark and exc.context_mark is not mark:
                message += f" at line {exc.context_mark.line + 1}"
            message += ")"
    return SpecIssue(file, line, column, "", message)
