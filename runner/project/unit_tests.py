"""dbt's unit tests (1.8+), read from the `unit_tests:` of a YAML property file:

    unit_tests:
      - name: test_net_is_price_less_vat
        model: int_sessions_priced
        given:
          - input: ref('stg_sessions')       # or source('raw', 'x'), or this
            rows: [{id: 1, price: 12.4}]      # format: dict (default), csv or sql
          - input: ref('vat_rates')
            format: csv
            fixture: vat_rates_2024           # tests/fixtures/vat_rates_2024.csv
        expect:
          rows: [{id: 1, net: 10.0}]
        overrides:
          macros: {is_incremental: true}
          vars: {report_time: '2024-10-01T00:00:00Z'}
          env_vars: {REGION: eu}
        config: {tags: [money], enabled: true}

Only the shape is read here; the rows become SQL in runner/execute/unit_tests.py, where
each input's columns are known."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import ProjectError

FORMATS = ("dict", "csv", "sql")
_INPUT = re.compile(r"""^\s*(?:(this)|ref\(\s*(?:['"][^'"]+['"]\s*,\s*)?['"]([^'"]+)['"]\s*"""
                    r"""(?:,\s*v(?:ersion)?\s*=\s*['"]?[^)]*)?\)|source\(\s*['"]([^'"]+)['"]"""
                    r"""\s*,\s*['"]([^'"]+)['"]\s*\))\s*$""")


@dataclass
class Fixture:
    """The rows of one `given` input or of `expect`."""
    format: str                   # dict | csv | sql
    rows: list[dict[str, Any]] | None = None    # dict and csv: column -> value
    sql: str | None = None        # sql: a SELECT of every column
    line: int | None = None
    # given only: what it stands for
    input: str = ""               # as written: ref('x'), source('s', 't'), this
    ref: str | None = None
    source: tuple[str, str] | None = None
    this: bool = False


@dataclass
class UnitTest:
    name: str
    model: str
    path: Path                    # the YAML property file
    rel_path: str
    line: int | None
    given: list[Fixture]
    expect: Fixture
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def tags(self) -> list[str]:
        tags = self.config.get("tags") or []
        return [tags] if isinstance(tags, str) else list(tags)

    @property
    def where(self) -> str:
        return f"{self.rel_path}:{self.line}" if self.line else self.rel_path


def read_unit_tests(doc: dict, lines: dict, path: Path, rel: str,
                    fixture_dirs: list[Path]) -> list[UnitTest]:
    """The unit tests of one property file (disabled ones left out, as in dbt)."""
    entries = doc.get("unit_tests")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ProjectError("'unit_tests' must be a list.", path=rel)
    out = []
    for index, entry in enumerate(entries):
        at = ("unit_tests", index)
        line = lines.get(at)
        if not isinstance(entry, dict) or "name" not in entry or "model" not in entry:
            raise ProjectError("each entry of 'unit_tests' needs a 'name' and a 'model'.",
                               path=rel, line=line)
        name = str(entry["name"])
        where = f"unit test {name}"
        config = entry.get("config") or {}
        if not isinstance(config, dict):
            raise ProjectError(f"the config of {where} must be a mapping.", path=rel, line=line)
        if config.get("enabled", True) is False:
            continue
        given = entry.get("given")
        if given is None:
            given = []
        if not isinstance(given, list):
            raise ProjectError(f"'given' of {where} must be a list of inputs.", path=rel,
                               line=lines.get(at + ("given",)))
        if not isinstance(entry.get("expect"), dict):
            raise ProjectError(f"{where} needs 'expect:' with the rows the model should "
                               "return.", path=rel, line=line,
                               hint="add expect: {rows: [{column: value, ...}]}.")
        inputs = [_fixture(item, f"input {i + 1} of {where}", rel,
                           lines.get(at + ("given", i)), fixture_dirs, given=True)
                  for i, item in enumerate(given)]
        overrides = entry.get("overrides") or {}
        if not isinstance(overrides, dict) or not all(
                isinstance(v, dict) for v in overrides.values() if v is not None):
            raise ProjectError(f"'overrides' of {where} must map macros, vars and env_vars "
                               "to mappings.", path=rel, line=lines.get(at + ("overrides",)))
        out.append(UnitTest(
            name, str(entry["model"]), path, rel, line, inputs,
            _fixture(entry["expect"], f"'expect' of {where}", rel,
                     lines.get(at + ("expect",)), fixture_dirs, given=False),
            {k: dict(v or {}) for k, v in overrides.items()}, dict(config),
            str(entry.get("description") or "")))
    return out


def _fixture(item: Any, what: str, rel: str, line: int | None, dirs: list[Path],
             given: bool) -> Fixture:
    if not isinstance(item, dict):
        raise ProjectError(f"{what} must be a mapping.", path=rel, line=line)
    fmt = str(item.get("format") or "dict")
    if fmt not in FORMATS:
        raise ProjectError(f"{what} has format {fmt!r}; use dict, csv or sql.", path=rel,
                           line=line)
    fixture = Fixture(fmt, line=line)
    if given:
        text = str(item.get("input") or "")
        match = _INPUT.match(text)
        if not match:
            raise ProjectError(f"{what} names its input {text!r}; write ref('model'), "
                               "source('source', 'table') or this.", path=rel, line=line)
        fixture.input = text.strip()
        fixture.this = bool(match.group(1))
        fixture.ref = match.group(2)
        fixture.source = (match.group(3), match.group(4)) if match.group(3) else None
    rows = item.get("rows")
    if "fixture" in item:
        if fmt == "dict":
            raise ProjectError(f"{what} names fixture {item['fixture']!r} with format dict; "
                               "a fixture file is csv or sql.", path=rel, line=line,
                               hint="add format: csv (or sql).")
        rows = _fixture_file(str(item["fixture"]), fmt, dirs, what, rel, line)
    if fmt == "sql":
        if not isinstance(rows, str) or not rows.strip():
            raise ProjectError(f"{what} has format sql but no SELECT in 'rows'.", path=rel,
                               line=line)
        fixture.sql = rows.strip().rstrip(";")
        return fixture
    if fmt == "csv":
        if not isinstance(rows, str):
            raise ProjectError(f"{what} has format csv: 'rows' must be CSV text with a "
                               "header line.", path=rel, line=line)
        reader = csv.DictReader(io.StringIO(rows.strip("\n")))
        fixture.rows = []
        for number, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                raise ProjectError(f"{what}: CSV line {number} has not as many fields as "
                                   "its header.", path=rel, line=line)
            fixture.rows.append({k.strip(): (None if v.strip() == "" else v.strip())
                                 for k, v in row.items()})
        return fixture
    rows = [] if rows is None else rows
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ProjectError(f"{what}: 'rows' must be a list of mappings, one per row "
                           "({column: value, ...}).", path=rel, line=line)
    fixture.rows = [{str(k): v for k, v in r.items()} for r in rows]
    return fixture


def _fixture_file(name: str, fmt: str, dirs: list[Path], what: str, rel: str,
                  line: int | None) -> str:
    """tests/fixtures/<name>.csv (or .sql), in any folder below a fixtures folder."""
    for base in dirs:
        if base.is_dir():
            for path in sorted(base.rglob(f"{name}.{fmt}")):
                return path.read_text(encoding="utf-8")
    looked = ", ".join(str(d) for d in dirs) or "tests/fixtures"
    raise ProjectError(f"{what} names fixture {name!r}, but there is no {name}.{fmt} in "
                       f"{looked}.", path=rel, line=line,
                       hint=f"put the file at tests/fixtures/{name}.{fmt}.")


def check_models(project: Any, disabled: set[str]) -> None:
    """Every unit test names a model of the project; one of a disabled model is left
    out, as in dbt."""
    from difflib import get_close_matches
    kept = []
    for test in project.unit_tests:
        node = project.models.get(test.model)
        if node is None and test.model in disabled:
            continue
        if node is None or node.kind != "model":
            close = get_close_matches(test.model, [n for n, m in project.models.items()
                                                   if m.kind == "model"], n=1)
            raise ProjectError(f"unit test {test.name} tests model {test.model!r}, which "
                               "does not exist.", path=test.rel_path, line=test.line,
                               hint=f"did you mean {close[0]!r}?" if close else
                               "name a model of this project.")
        kept.append(test)
    project.unit_tests = kept
