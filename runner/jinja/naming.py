"""Where each model and seed lands, as dbt names it: the `generate_database_name`,
`generate_schema_name` and `generate_alias_name` macros (the project's own if it defines
them, else dbt's built-in defaults: the target schema `main`, `main_<custom schema>`
for a node with a `schema` config, the node's name or its `alias`)."""

from __future__ import annotations

from typing import Any

from runner.errors import ProjectError, RenderError


def node_context(node: Any, project_name: str) -> dict[str, Any]:
    """The node as the naming macros see it (dbt passes its parsed node)."""
    package = node.package or project_name
    return {"name": node.name, "resource_type": node.kind, "package_name": package,
            "unique_id": f"{node.kind}.{package}.{node.name}", "config": dict(node.config),
            "fqn": [package, *node.rel_path.split("/")[1:-1], node.name],
            "original_file_path": node.rel_path, "path": node.rel_path,
            "tags": node.tags, "version": None}


def _call(renderer: Any, macro: str, custom: Any, node: Any) -> str:
    function = renderer.context[macro]
    previous = renderer._state
    renderer._state = {"name": node.name, "path": node.rel_path, "refs": set(),
                       "sources": set(), "config": dict(node.config), "execute": False,
                       "node": None, "kind": None, "template": None}
    try:
        value = function(custom, node_context(node, renderer.project.name))
    except RenderError:
        raise
    except Exception as exc:       # a macro's own mistake, e.g. a filter on none
        raise RenderError(f"{macro} failed for {node.kind} {node.name}: "
                          f"{type(exc).__name__}: {exc}.", node=node.name,
                          path=node.rel_path) from None
    finally:
        renderer._state = previous
    return str(value).strip()


def apply_naming(renderer: Any, nodes: list[Any]) -> None:
    """Set each node's database, schema and alias; refuse two nodes on one relation and
    a database other than the build's file."""
    database = renderer.context["target"]["database"]
    owners: dict[tuple[str, str], Any] = {}
    for node in nodes:
        node.relation_database = _call(renderer, "generate_database_name",
                                       node.config.get("database"), node)
        node.relation_schema = _call(renderer, "generate_schema_name",
                                     node.config.get("schema"), node)
        node.relation_alias = _call(renderer, "generate_alias_name",
                                    node.config.get("alias"), node)
        if node.relation_database != database:
            raise ProjectError(f"{node.kind} {node.name} is given the database "
                               f"'{node.relation_database}' (its database config, through "
                               f"generate_database_name); the runner builds into one "
                               f"DuckDB file, '{database}'.", node=node.name,
                               path=node.rel_path,
                               hint="remove the database config, or return target.database "
                                    "from generate_database_name.")
        key = (node.relation_schema.lower(), node.relation_alias.lower())
        if key in owners:
            other = owners[key]
            raise ProjectError(f"{other.kind} {other.name} ({other.rel_path}) and "
                               f"{node.kind} {node.name} ({node.rel_path}) both land on "
                               f"{node.relation_schema}.{node.relation_alias}.",
                               path=node.rel_path,
                               hint="give one of them another alias or schema.")
        owners[key] = node


# The configs that must be known when the project is parsed; the others written as Jinja
# (hooks, data_tests_where, publish expressions) are rendered later, in the node's context.
PARSE_TIME_CONFIGS = {"enabled", "materialized", "schema", "alias", "database", "tags",
                      "full_refresh"}


def render_config_values(renderer: Any, node: Any) -> None:
    """Parse-time config values written as Jinja (`+enabled: "{{ var('x', false) }}"`),
    rendered with the project's vars as dbt renders them, then read as YAML scalars
    (`True` -> true, `3` -> 3)."""
    for key, value in list(node.config.items()):
        if key in PARSE_TIME_CONFIGS and isinstance(value, str) and \
                ("{{" in value or "{%" in value):
            import yaml
            text = renderer.render_string(value, f"{node.name}.{key}", node.rel_path,
                                          execute=False).sql.strip()
            try:
                node.config[key] = yaml.safe_load(text) if text else None
            except yaml.YAMLError:
                node.config[key] = text
