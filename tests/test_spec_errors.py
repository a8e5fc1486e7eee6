"""Invalid specs and the exact located issues that read_spec and load_spec report for them.

Each spec is written to ``spec.yaml`` in a temporary directory that is the working directory,
so every issue starts with ``spec.yaml:LINE:COL``. YAML texts sit at column 0 of this file
exactly as they are written to disk, so their lines and columns can be counted here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from restgen.errors import SpecError, UsageError, VariableError
from restgen.spec import load_spec, read_spec

# The smallest valid spec. Most cases append endpoint keys to it, starting at line 6.
MINIMAL = """\
restgen: 1
source: demo
endpoints:
  - name: items
    path: items
"""


def extend(lines: str) -> str:
    """Return MINIMAL with ``lines`` appended as written, so the first appended line is line 6."""
    return MINIMAL + lines


@pytest.fixture
def spec_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Return a function that writes YAML text to ./spec.yaml and returns the relative path."""
    monkeypatch.chdir(tmp_path)

    def write(text: str) -> str:
        Path("spec.yaml").write_text(text, encoding="utf-8")
        return "spec.yaml"

    return write


def issues_of(path: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        read_spec(path)
    return [str(issue) for issue in caught.value.issues]



INVALID_SPECS = [
    # Keys, required keys and types.
    pytest.param(
        extend("""\
    data_selectr: results
"""),
        ["spec.yaml:6:5: endpoints[0].data_selectr: unknown key 'data_selectr' (did you mean 'data_selector'?)"],
        id="key-typo",
    ),
    pytest.param(
        extend("""\
    pagination: {type: cursor, cursor_path: next, zzz: 1}
"""),
        [
            "spec.yaml:6:51: endpoints[0].pagination.zzz: unknown key 'zzz'; "
            "allowed keys: carry, cursor_header, cursor_param, cursor_path, has_more_path, location, max_pages, type"
        ],
        id="unknown-key-without-close-match",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
endpoints:
  - name: items
    method: GET
""",
        ["spec.yaml:4:5: endpoints[0]: missing required key 'path'"],
        id="missing-path",
    ),
    pytest.param(
        extend("""\
    params: [limit, 10]
"""),
        ["spec.yaml:6:13: endpoints[0].params: expected a mapping, got list ['limit', 10]"],
        id="wrong-type-list-for-mapping",
    ),
    pytest.param(
        extend("""\
    enabled: sometimes
"""),
        ["spec.yaml:6:14: endpoints[0].enabled: expected true, false or a '${variable}' placeholder, got 'sometimes'"],
        id="wrong-type-string-for-boolean",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
endpoints: {items: {path: items}}
""",
        ["spec.yaml:3:12: endpoints: expected a list, got mapping {'items': {'path': 'items'}}"],
        id="endpoints-as-mapping",
    ),
    pytest.param(
        "restgen: 1\nsource: demo\n",
        ["spec.yaml:1:1: missing required key 'endpoints'"],
        id="missing-endpoints",
    ),
    pytest.param(
        MINIMAL.replace("restgen: 1", "restgen: 2"),
        ["spec.yaml:1:10: restgen: must be 1, not 2"],
        id="restgen-version-2",
    ),
    # Pagination.
    pytest.param(
        extend("""\
    pagination: {type: pages}
"""),
        [
            "spec.yaml:6:24: endpoints[0].pagination.type: "
            "'pages' is not one of 'single_page', 'page_number', 'offset', 'cursor', 'next_url', 'link_header'"
        ],
        id="pagination-type-unknown",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: cursr
      cursor_path: next
"""),
        [
            "spec.yaml:7:13: endpoints[0].pagination.type: "
            "'cursr' is not one of 'single_page', 'page_number', 'offset', 'cursor', 'next_url', 'link_header' "
            "(did you mean 'cursor'?)"
        ],
        id="pagination-type-typo",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: page_number
      location: body
"""),
        ["spec.yaml:8:17: endpoints[0].pagination.location: 'body' is not one of 'query', 'json', 'form'"],
        id="pagination-location-enum",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: page_number
      stop_on_empty_page: false
      stop_on_short_page: false
"""),
        [
            "spec.yaml:7:7: endpoints[0].pagination: page_number pagination has no way to stop; "
            "set total_pages_path or total_items_path, or leave stop_on_empty_page or stop_on_short_page true"
        ],
        id="page-number-cannot-stop",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: page_number
      page_size_param: size
"""),
        ["spec.yaml:7:7: endpoints[0].pagination: page_size_param is set but page_size is not; set the page size to request"],
        id="page-size-param-without-page-size",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: offset
      limit: 100
      stop_on_empty_page: false
"""),
        ["spec.yaml:7:7: endpoints[0].pagination: offset pagination has no way to stop; set total_path or leave stop_on_empty_page true"],
        id="offset-cannot-stop",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: cursor
"""),
        ["spec.yaml:7:7: endpoints[0].pagination: cursor pagination needs cursor_path (a jmespath into the body) or cursor_header"],
        id="cursor-without-source",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: cursor
      cursor_path: next
      cursor_header: X-Next-Cursor
"""),
        ["spec.yaml:7:7: endpoints[0].pagination: set cursor_path or cursor_header, not both"],
        id="cursor-with-both-sources",
    ),
    # jmespath expressions.
    pytest.param(
        extend("""\
    data_selector: 'results[.'
"""),
        ["spec.yaml:6:20: endpoints[0].data_selector: invalid jmespath expression 'results[.': Expecting: star, got: dot"],
        id="jmespath-data-selector",
    ),
    pytest.param(
        extend("""\
    pagination:
      type: cursor
      cursor_path: 'meta..next'
"""),
        [
            "spec.yaml:8:20: endpoints[0].pagination.cursor_path: invalid jmespath expression 'meta..next': "
            "Expecting: ['quoted_identifier', 'unquoted_identifier', 'lbracket', 'lbrace'], got: dot"
        ],
        id="jmespath-paginator-path",
    ),
    # Auth and transforms.
    pytest.param(
        """\
restgen: 1
source: demo
client:
  auth:
    type: oauth
endpoints:
  - name: items
    path: items
""",
        ["spec.yaml:5:11: client.auth.type: 'oauth' is not one of 'none', 'basic', 'bearer', 'api_key'"],
        id="auth-type-unknown",
    ),
    pytest.param(
        extend("""\
    transforms:
      - flatten: {field: properties}
"""),
        [
            "spec.yaml:7:9: endpoints[0].transforms[0].flatten: unknown transform 'flatten'; "
            "allowed: explode, hoist, rename_prefix, rename, add_fields, drop, to_timestamp, fill_key"
        ],
        id="transform-unknown",
    ),
    pytest.param(
        extend("""\
    transforms:
      - drop: [internal]
        hoist: {field: properties}
"""),
        ["spec.yaml:7:9: endpoints[0].transforms[0]: write exactly one transform per list item, e.g. '- drop: [field]'"],
        id="transform-item-with-two-keys",
    ),
    # Incremental loading.
    pytest.param(
        extend("""\
    params: {since: '${incremental.start}'}
    incremental:
      cursor_path: updated_at
      initial_value: '2024-01-01'
      window: 1w
"""),
        ["spec.yaml:10:15: endpoints[0].incremental.window: '1w' is not a duration such as '30s', '15m', '6h' or '1d'"],
        id="duration-invalid",
    ),
    pytest.param(
        extend("""\
    incremental:
      cursor_path: updated_at
      cursor_format: epoch
      initial_value: '2024-01-01'
"""),
        [
            "spec.yaml:8:22: endpoints[0].incremental.cursor_format: "
            "'epoch' is not one of 'unix_seconds', 'unix_ms', 'iso8601', 'date', or a strftime pattern containing '%'"
        ],
        id="time-format-invalid",
    ),
    pytest.param(
        extend("""\
    incremental:
      cursor_path: updated_at
      initial_value: '2024-01-01'
      window: 1d
"""),
        [
            "spec.yaml:9:15: endpoints[0].incremental.window: a window has no effect unless the request uses "
            "${incremental.start} or ${incremental.end}; add them to params, json or form"
        ],
        id="window-without-incremental-placeholders",
    ),
    # Enums and request bodies.
    pytest.param(
        extend("""\
    write_disposition: upsert
"""),
        ["spec.yaml:6:24: endpoints[0].write_disposition: 'upsert' is not one of 'append', 'replace', 'merge'"],
        id="write-disposition-enum",
    ),
    pytest.param(
        extend("""\
    method: PUT
"""),
        ["spec.yaml:6:13: endpoints[0].method: 'PUT' is not one of 'GET', 'POST'"],
        id="method-enum",
    ),
    pytest.param(
        extend("""\
    write_disposition: merge
"""),
        ["spec.yaml:6:24: endpoints[0].write_disposition: write_disposition 'merge' needs primary_key or merge_key, or rows are only appended"],
        id="merge-without-keys",
    ),
    pytest.param(
        extend("""\
    json: {query: all}
"""),
        ["spec.yaml:6:11: endpoints[0].json: a GET request has no body; set method: POST or move the values to params"],
        id="get-with-json-body",
    ),
    pytest.param(
        extend("""\
    method: POST
    json: {query: all}
    form: {query: all}
"""),
        ["spec.yaml:8:11: endpoints[0].form: set json or form, not both"],
        id="json-and-form",
    ),
    # Variables and placeholders.
    pytest.param(
        """\
restgen: 1
source: demo
variables:
  limit: {default: 10}
  page-size: {default: 100}
endpoints:
  - name: items
    path: items
""",
        [
            "spec.yaml:5:3: variables.page-size: invalid variable name 'page-size'; "
            "use letters, digits and underscores, and do not start with a digit"
        ],
        id="variable-name-invalid",
    ),
    pytest.param(
        extend("""\
    params: {limit: '${page_size}'}
"""),
        ["spec.yaml:6:21: endpoints[0].params.limit: unknown variable '${page_size}'; declare it under variables (declared: none)"],
        id="placeholder-unknown-variable",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
variables:
  region: {default: us}
endpoints:
  - name: items
    path: items
    params: {r: '${region.code}'}
""",
        ["spec.yaml:8:17: endpoints[0].params.r: '${region.code}': a variable has no fields; write '${region}'"],
        id="placeholder-field-of-variable",
    ),
    pytest.param(
        extend("""\
    params: {id: '${parent.id}'}
"""),
        ["spec.yaml:6:18: endpoints[0].params.id: '${parent.id}' needs depends_on naming the parent endpoint"],
        id="parent-placeholder-without-depends-on",
    ),
    pytest.param(
        extend("""\
    depends_on: users
    params: {id: '${parent}'}
  - name: users
    path: users
"""),
        ["spec.yaml:7:18: endpoints[0].params.id: write '${parent.<field>}' with the parent record's field name"],
        id="parent-placeholder-without-field",
    ),
    pytest.param(
        extend("""\
    params: {since: '${incremental.start}'}
"""),
        ["spec.yaml:6:21: endpoints[0].params.since: '${incremental.start}' needs an incremental block on this endpoint"],
        id="incremental-placeholder-without-incremental",
    ),
    pytest.param(
        extend("""\
    params: {since: '${incremental.foo}'}
    incremental:
      cursor_path: updated_at
      initial_value: '2024-01-01'
"""),
        [
            "spec.yaml:6:21: endpoints[0].params.since: unknown placeholder '${incremental.foo}'; "
            "use ${incremental.start} or ${incremental.end}"
        ],
        id="incremental-placeholder-unknown",
    ),
    pytest.param(
        extend("""\
    params: {v: '${restgen.foo}'}
"""),
        [
            "spec.yaml:6:17: endpoints[0].params.v: unknown placeholder '${restgen.foo}'; "
            "built-in values: ${restgen.today}, ${restgen.version}, ${restgen.yesterday}"
        ],
        id="restgen-placeholder-unknown",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
variables:
  region:
    default: ap
    enum: [us, eu]
endpoints:
  - name: items
    path: items
""",
        ["spec.yaml:5:14: variables.region.default: default 'ap' is not one of the allowed values ['us', 'eu']"],
        id="variable-default-not-in-enum",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
variables:
  limit: {type: integer, default: abc}
endpoints:
  - name: items
    path: items
""",
        ["spec.yaml:4:35: variables.limit.default: expected an integer, got 'abc'"],
        id="variable-default-wrong-type",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
variables:
  limit: {type: int}
endpoints:
  - name: items
    path: items
""",
        [
            "spec.yaml:4:17: variables.limit.type: "
            "'int' is not one of 'string', 'integer', 'number', 'boolean', 'date' (did you mean 'integer'?)"
        ],
        id="variable-type-typo",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
variables:
  host:
    default_by:
      variable: region
      values: {us: https://us.example.invalid}
endpoints:
  - name: items
    path: items
""",
        ["spec.yaml:6:17: variables.host.default_by.variable: unknown variable 'region'; variables declared: host"],
        id="default-by-unknown-variable",
    ),
    pytest.param(
        """\
restgen: 1
source: demo
variables:
  parent: {default: x}
endpoints:
  - name: items
    path: items
""",
        ["spec.yaml:4:3: variables.parent: variable name 'parent' is reserved for ${parent.…} placeholders; choose another name"],
        id="variable-name-reserved",
    ),
    # Endpoint names and dependencies.
    pytest.param(
        MINIMAL.replace("name: items", "name: my-items"),
        [
            "spec.yaml:4:11: endpoints[0].name: invalid endpoint name 'my-items'; "
            "use letters, digits and underscores, and do not start with a digit"
        ],
        id="endpoint-name-invalid",
    ),
    pytest.param(
        extend("""\
  - name: items
    path: other
"""),
        ["spec.yaml:6:11: endpoints[1].name: duplicate endpoint name 'items'; endpoints[0] already uses it"],
        id="duplicate-endpoint-name",
    ),
    pytest.param(
        extend("""\
    depends_on: users
"""),
        ["spec.yaml:6:17: endpoints[0].depends_on: unknown parent endpoint 'users'; endpoints defined: items"],
        id="unknown-parent-endpoint",
    ),
    pytest.param(
        extend("""\
    depends_on: items
"""),
        ["spec.yaml:6:17: endpoints[0].depends_on: endpoint 'items' cannot depend on itself"],
        id="depends-on-itself",
    ),
    pytest.param(
        extend("""\
    depends_on: b
  - name: b
    path: b
    depends_on: items
"""),
        ["spec.yaml:6:17: endpoints[0].depends_on: dependency cycle: items -> b -> items"],
        id="dependency-cycle-of-two",
    ),
    pytest.param(
        extend("""\
    depends_on: c
  - name: b
    path: b
    depends_on: items
  - name: c
    path: c
    depends_on: b
"""),
        ["spec.yaml:6:17: endpoints[0].depends_on: dependency cycle: items -> c -> b -> items"],
        id="dependency-cycle-of-three",
    ),
    pytest.param(
        extend("""\
    include_from_parent: {parent_id: id}
"""),
        ["spec.yaml:6:26: endpoints[0].include_from_parent: include_from_parent needs depends_on naming the parent endpoint"],
        id="include-from-parent-without-depends-on",
    ),
    pytest.param(
        extend("""\
dependencies:
  - endpoint: users
    depends_on: items
"""),
        ["spec.yaml:7:15: dependencies[0].endpoint: unknown endpoint 'users'; endpoints defined: items"],
        id="dependencies-unknown-endpoint",
    ),
    pytest.param(
        extend("""\
    depends_on: b
  - name: b
    path: b
dependencies:
  - endpoint: items
    depends_on: b
"""),
        ["spec.yaml:10:15: dependencies[0].endpoint: endpoint 'items' already sets depends_on in endpoints[0]; keep one of the two"],
        id="dependency-inline-and-in-section",
    ),
    pytest.param(
        extend("""\
  - name: b
    path: b
dependencies:
  - endpoint: b
    depends_on: items
  - endpoint: b
    depends_on: items
"""),
        ["spec.yaml:11:15: dependencies[1].endpoint: endpoint 'b' is already listed in dependencies[0]; keep one of the two"],
        id="dependency-listed-twice-in-section",
    ),
    # YAML itself.
    pytest.param(
        "",
        ["spec.yaml:1:1: the file is empty; a spec starts with 'restgen: 1'"],
        id="empty-file",
    ),
    pytest.param(
        "# comments only\n",
        ["spec.yaml:1:1: the file is empty; a spec starts with 'restgen: 1'"],
        id="comments-only",
    ),
    pytest.param(
        "restgen: 1\nsource: demo\nendpoints:\n  - name: items\n\tpath: items\n",
        ["spec.yaml:5:1: a tab character is used for indentation; YAML allows only spaces"],
        id="tab-indentation",
    ),
    pytest.param(
        extend("""\
    path: again
"""),
        ["spec.yaml:6:5: endpoints[0].path: duplicate key 'path'; it is already set at line 5"],
        id="duplicate-key",
    ),
    pytest.param(
        extend("""\
    params: !!python/object:datetime.date {year: 2024, month: 1, day: 1}
"""),
        [
            "spec.yaml:6:13: endpoints[0].params: "
            "the YAML tag 'tag:yaml.org,2002:python/object:datetime.date' is not allowed; write a plain mapping"
        ],
        id="python-object-tag",
    ),
    pytest.param(
        extend("""\
    primary_key: !!python/tuple [id, name]
"""),
        ["spec.yaml:6:18: endpoints[0].primary_key: the YAML tag 'tag:yaml.org,2002:python/tuple' is not allowed; write a plain list"],
        id="python-tag-on-list",
    ),
    pytest.param(
        extend("""\
    description: !env ITEMS_DESCRIPTION
"""),
        ["spec.yaml:6:18: endpoints[0].description: the YAML tag '!env' is not allowed; write a plain value"],
        id="custom-tag",
    ),
    pytest.param(
        extend("""\
    primary_key: [id, name
    method: GET
"""),
        ["spec.yaml:7:11: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence at line 6)"],
        id="yaml-unclosed-bracket",
    ),
    pytest.param(
        MINIMAL + "---\n" + MINIMAL,
        ["spec.yaml:6:1: invalid YAML: a spec is one YAML document, but a second one starts here; remove the '---' line"],
        id="two-yaml-documents",
    ),
    pytest.param(
        "- restgen: 1\n- source: demo\n",
        ["spec.yaml:1:1: a spec is a mapping that starts with 'restgen: 1'"],
        id="top-level-list",
    ),
    pytest.param(
        extend("""\
    incremental: {cursor_field: updated_at, initial_value: "2024-01-01"}
"""),
        ["spec.yaml:6:19: endpoints[0].incremental.cursor_field: unknown key 'cursor_field' (did you mean 'cursor_path'?)"],
        id="other-tools-key",
    ),
    pytest.param(
        extend("""\
    columns:
      amount: {data_type: decimal, scale: 2}
"""),
        ["spec.yaml:7:36: endpoints[0].columns.amount.scale: 'scale' needs 'precision' next to it"],
        id="scale-without-precision",
    ),
    pytest.param(
        "restgen: 1\nsource: demo\nendpoints: []\n",
        ["spec.yaml:3:12: endpoints: list at least one endpoint"],
        id="empty-endpoints-list",
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID_SPECS)
def test_invalid_spec_issues(spec_file, text: str, expected: list[str]) -> None:
    assert issues_of(spec_file(text)) == expected


def test_issues_sorted_by_position(spec_file) -> None:
    # The schema and the cross-field checks find these problems in separate passes.
    path = spec_file(
        extend("""\
    params: {limit: '${page_size}'}
    method: PUT
  - name: items
    path: other
    depends_on: users
    write_disposition: upsert
""")
    )

    issues = issues_of(path)

    assert issues == [
        "spec.yaml:6:21: endpoints[0].params.limit: unknown variable '${page_size}'; declare it under variables (declared: none)",
        "spec.yaml:7:13: endpoints[0].method: 'PUT' is not one of 'GET', 'POST'",
        "spec.yaml:8:11: endpoints[1].name: duplicate endpoint name 'items'; endpoints[0] already uses it",
        "spec.yaml:10:17: endpoints[1].depends_on: unknown parent endpoint 'users'; endpoints defined: items",
        "spec.yaml:11:24: endpoints[1].write_disposition: 'upsert' is not one of 'append', 'replace', 'merge'",
    ]


def test_issue_fields_are_located(spec_file) -> None:
    path = spec_file(extend("    method: PUT\n"))

    with pytest.raises(SpecError) as caught:
        read_spec(path)

    [issue] = caught.value.issues
    assert issue.file == "spec.yaml"
    assert (issue.line, issue.column) == (6, 13)
    assert issue.path == "endpoints[0].method"
    assert issue.message == "'PUT' is not one of 'GET', 'POST'"


def test_literal_secret_is_warning(spec_file) -> None:
    path = spec_file(
        """\
restgen: 1
source: demo
client:
  auth:
    type: basic
    username: loader
    password: hunter2
endpoints:
  - name: items
    path: items
"""
    )

    raw = read_spec(path)

    assert [str(warning) for warning in raw.warnings] == [
        "spec.yaml:7:15: client.auth.password: a literal secret is written in the spec; "
        "move it to a variable marked 'secret: true' and set it from the environment"
    ]


# Variables are set by load_spec. use_dlt=False and an explicit environ keep the machine's
# environment and dlt's config files out of these tests.
VARIABLES_SPEC = """\
restgen: 1
source: demo
variables:
  token:
    description: API token of the demo account.
    env: DEMO_TOKEN
    required: true
    secret: true
  limit:
    type: integer
    default: 100
    env: DEMO_LIMIT
  pin:
    type: integer
    secret: true
    env: DEMO_PIN
  region:
    enum: [us, eu]
    default: us
  since:
    type: date
    default: today-3d
client:
  auth: {type: bearer, token: '${token}'}
endpoints:
  - name: items
    path: items
    params: {limit: '${limit}', since: '${since}', region: '${region}'}
"""
TOKEN_ONLY = {"DEMO_TOKEN": "t0ken"}


def variable_issues(path: str, **kwargs) -> list[str]:
    with pytest.raises(VariableError) as caught:
        load_spec(path, use_dlt=False, **kwargs)
    return [str(issue) for issue in caught.value.issues]


def test_required_variable_missing(spec_file) -> None:
    issues = variable_issues(spec_file(VARIABLES_SPEC), environ={})

    assert issues == [
        "spec.yaml:4:3: variables.token: required variable 'token' (API token of the demo account.) is not set; "
        "set it with the environment variable DEMO_TOKEN, or dlt secrets key sources.demo.token; "
        "--var token=VALUE works too, but leaves the secret in the shell's history"
    ]


def test_undeclared_var_is_usage_error(spec_file) -> None:
    path = spec_file(VARIABLES_SPEC)

    with pytest.raises(UsageError) as caught:
        load_spec(path, variables={"page_size": "10"}, environ=TOKEN_ONLY, use_dlt=False)

    assert str(caught.value) == "--var page_size: the spec declares no such variable (declared: limit, pin, region, since, token)"


def test_integer_variable_rejects_text(spec_file) -> None:
    issues = variable_issues(spec_file(VARIABLES_SPEC), environ={**TOKEN_ONLY, "DEMO_LIMIT": "abc"})

    assert issues == ["spec.yaml:9:3: variables.limit: expected an integer, got 'abc' (set by the environment variable DEMO_LIMIT)"]


def test_enum_variable_rejects_other(spec_file) -> None:
    issues = variable_issues(spec_file(VARIABLES_SPEC), variables={"region": "ap"}, environ=TOKEN_ONLY)

    assert issues == ["spec.yaml:17:3: variables.region: 'ap' is not one of 'us', 'eu' (set by --var region)"]


def test_date_variable_rejects_impossible_date(spec_file) -> None:
    issues = variable_issues(spec_file(VARIABLES_SPEC), variables={"since": "2024-02-30"}, environ=TOKEN_ONLY)

    assert issues == [
        "spec.yaml:20:3: variables.since: expected a date written YYYY-MM-DD, today, yesterday or today-Nd, "
        "got '2024-02-30' (set by --var since)"
    ]


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


@pytest.mark.parametrize(
    ("text", "days_back"),
    [("today-3d", 3), ("today", 0), ("yesterday", 1), ("yesterday-1d", 2), ("today+1d", -1)],
)
def test_relative_date_resolves(spec_file, text: str, days_back: int) -> None:
    path = spec_file(VARIABLES_SPEC)

    before = utc_today()
    spec = load_spec(path, variables={"since": text}, environ=TOKEN_ONLY, use_dlt=False)
    after = utc_today()

    # The UTC date may change during the call, so either day is right.
    allowed = {(day - dt.timedelta(days=days_back)).isoformat() for day in (before, after)}
    assert spec.variables["since"] in allowed
    assert spec.endpoint("items")["params"]["since"] in allowed


def test_relative_date_default_resolves(spec_file) -> None:
    path = spec_file(VARIABLES_SPEC)

    before = utc_today()
    spec = load_spec(path, environ=TOKEN_ONLY, use_dlt=False)
    after = utc_today()

    allowed = {(day - dt.timedelta(days=3)).isoformat() for day in (before, after)}
    assert spec.variables["since"] in allowed


def test_variables_substituted(spec_file) -> None:
    spec = load_spec(spec_file(VARIABLES_SPEC), environ={**TOKEN_ONLY, "DEMO_LIMIT": "25"}, use_dlt=False)

    assert spec.variables["limit"] == 25
    assert spec.endpoint("items")["params"]["limit"] == 25
    assert spec.endpoint("items")["params"]["region"] == "us"
    assert spec.client["auth"] == {"type": "bearer", "token": "t0ken"}
    assert spec.secrets == {"t0ken"}


@pytest.mark.parametrize("how", ["environ", "var"])
def test_secret_value_not_in_messages(spec_file, how: str) -> None:
    secret_value = "s3cr3t-pin-value"
    path = spec_file(VARIABLES_SPEC)
    if how == "environ":
        kwargs = {"environ": {**TOKEN_ONLY, "DEMO_PIN": secret_value}}
    else:
        kwargs = {"environ": TOKEN_ONLY, "variables": {"pin": secret_value}}

    with pytest.raises(VariableError) as caught:
        load_spec(path, use_dlt=False, **kwargs)

    assert secret_value not in str(caught.value)
    for issue in caught.value.issues:
        assert secret_value not in issue.message
    assert [issue.path for issue in caught.value.issues] == ["variables.pin"]


def test_secret_invalid_value_message(spec_file) -> None:
    issues = variable_issues(spec_file(VARIABLES_SPEC), environ={**TOKEN_ONLY, "DEMO_PIN": "s3cr3t-pin-value"})

    assert issues == [
        "spec.yaml:13:3: variables.pin: invalid value for an integer variable (set by the environment variable DEMO_PIN)"
    ]
