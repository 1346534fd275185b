"""The partition key a model declares for `runner export --partition-by`: a column it
need not hold, computed by SQL over its row. The model (or seed) says so in its YAML, in
config() or per folder in dbt_project.yml (`+export:`), in the publish config's words
(runner/publish/serving.py):

    export:
      partition_by: month                                  the Hive key (dbt-duckdb's name)
      partition_expression: "strftime({{ this }}.month, '%Y-%m')"   SQL over the row

The expression is rendered like a hook (`this`, `ref`, the project's macros). A key named
like a column of the table replaces that column in the export (a date written as
YYYY-MM text); any other is added to it. `--partition-by` of a name that is neither a
column nor the model's key is refused, naming both ways out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.errors import ExportError, ProjectError
from runner.jinja.relation import quote_ident

OPTIONS = {"partition_by", "partition_expression"}
HOW = 'export: {partition_by: KEY, partition_expression: "SQL over {{ this }}"}'


@dataclass
class ExportKey:
    name: str
    expression: str      # rendered SQL over a row of `relation`
    model: str
    relation: str        # the table, as `this` renders it

    def source(self, columns: list[str]) -> str:
        """A query over the table with the key as a column of its name."""
        key = quote_ident(self.name)
        if self.name in columns:
            return f"(select * replace (({self.expression}) as {key}) from {self.relation})"
        return f"(select *, ({self.expression}) as {key} from {self.relation})"


def _config(node) -> tuple[str, str] | None:
    """(key, expression as written) of the node's export config, or None."""
    conf = node.config.get("export")
    if conf in (None, False):
        return None
    where = f"the export config of {node.name}"
    if not isinstance(conf, dict) or set(conf) - OPTIONS:
        raise ProjectError(f"{where} must be a mapping with partition_by and "
                           f"partition_expression; it is {conf!r}.", node=node.name,
                           path=node.rel_path, hint=f"write e.g. {HOW}.")
    key = conf.get("partition_by")
    if isinstance(key, list):
        if len(key) != 1:
            raise ProjectError(f"{where} partitions by {key}; one key is supported.",
                               node=node.name, path=node.rel_path,
                               hint="declare one key; --partition-by may name further "
                                    "columns of the table.")
        key = key[0]
    if not key or not conf.get("partition_expression"):
        raise ProjectError(f"{where} needs both partition_by and partition_expression.",
                           node=node.name, path=node.rel_path, hint=f"write e.g. {HOW}.")
    return str(key), str(conf["partition_expression"])


def export_key(project_dir: str | Path, model: str, partition_by: list[str]
               ) -> ExportKey | None:
    """The key `model` (a model or seed, or schema.table) declares, when `partition_by`
    names it; else None. The project is parsed as a build parses it only then, so that
    `this` and ref() resolve to the relations the build wrote."""
    if not partition_by:
        return None
    from runner.project.loader import load_project
    if not any("export" in node.config or "export" in node.raw_sql
               for node in load_project(project_dir).nodes.values()):
        return None         # no model declares a key: no parse (its vars may be missing)
    from runner.session import Session
    session = Session(project_dir)
    nodes = session.project.nodes
    node = nodes.get(model)
    if node is None and "." in model:
        schema, table = model.split(".", 1)
        node = next((n for n in nodes.values() if n.kind in ("model", "seed") and
                     (n.schema.lower(), n.alias.lower()) == (schema.lower(), table.lower())),
                    None)
    declared = _config(node) if node is not None else None
    if declared is None or declared[0] not in partition_by:
        return None
    name, text = declared
    expression = session.renderer.render_hook(node, text).strip()
    from runner.jinja.relation import relation_name
    return ExportKey(name, expression, node.name, relation_name(node.schema, node.alias))


def no_such_key(col: str, relation: str, columns: list[str]) -> ExportError:
    """--partition-by of a name that is neither a column nor the model's export key."""
    return ExportError(f"cannot partition by {col!r}: no such column in {relation}, and its "
                       f"config declares no export partition key of that name.",
                       hint=f"partition by one of: {', '.join(columns)}; or declare the key "
                            f"in the model's config: {HOW.replace('KEY', col)}.")
