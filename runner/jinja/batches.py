"""A full build in batches of keys: the runner's own config `full_build_batches`.

A table or incremental model whose full build does not fit in memory at once (at 100 M
charging sessions, ranking 200 M versions and joining the winners back spills tens of
GB) may say

    config(full_build_batches={'rows_of': 'an_upstream_model', 'rows_per_batch': 25000000})

and filter the rows it reads from that model with `{{ batch_filter('its_key') }}`. A full
build counts the rows of `rows_of` (once it is built, so the count is this build's), and
if they are more than `rows_per_batch`, builds the table in n = ceil(rows / rows_per_batch)
statements in one transaction: the first creates the table, the others insert into it.
Each is the model rendered with `batch_filter(key)` as `hash(key) % n` = i, so every row
of one key is in the same batch, and each batch is a set of whole keys. Otherwise, and in
every incremental build, `batch_filter()` is `true`."""

from __future__ import annotations

import math
from typing import Any, Callable

from runner.errors import ProjectError


class BatchFilter:
    """The Jinja function batch_filter(key): `true`, or the current batch's keys."""

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer

    def __call__(self, key: str) -> str:
        renderer = self._renderer
        renderer.batch_filtered.add(renderer.label().get("node"))
        if renderer.batch is None:
            return "true"
        index, count = renderer.batch
        # As a range, not `= index`: DuckDB estimates an equality on this expression
        # at a few rows, and then builds its hash joins on the batch (at 100 M sessions
        # a batch's every column, spilling 19 GB) instead of on the small tables.
        bucket = f"hash({key}) % {count}"
        return f"{bucket} >= {index} and {bucket} < {index + 1}"


def batch_setting(node: Any) -> tuple[str, int] | None:
    """A model's full_build_batches as (rows_of, rows_per_batch), or None."""
    value = node.config.get("full_build_batches")
    if value is None:
        return None
    where = dict(path=node.rel_path,
                 hint="write full_build_batches={'rows_of': 'a_model_it_refs', "
                      "'rows_per_batch': 25000000}.")
    if not isinstance(value, dict) or set(value) != {"rows_of", "rows_per_batch"}:
        raise ProjectError(f"full_build_batches of model {node.name} must name exactly "
                           f"rows_of and rows_per_batch, not {value!r}.", **where)
    rows_of, per_batch = value["rows_of"], value["rows_per_batch"]
    if rows_of not in node.refs:
        raise ProjectError(f"full_build_batches of model {node.name} counts the rows of "
                           f"{rows_of!r}, which the model does not ref().", **where)
    if not isinstance(per_batch, int) or isinstance(per_batch, bool) or per_batch < 1:
        raise ProjectError(f"full_build_batches.rows_per_batch of model {node.name} must "
                           f"be a positive whole number, not {per_batch!r}.", **where)
    if node.materialized not in ("table", "incremental"):
        raise ProjectError(f"full_build_batches of model {node.name} applies to a table or "
                           f"an incremental model, not a {node.materialized}.", **where)
    return rows_of, per_batch


def batch_count(rows: int, per_batch: int) -> int:
    return max(1, math.ceil(rows / per_batch))


def render_batches(renderer: Any, node: Any, count: int,
                   render: Callable[[], str]) -> list[str]:
    """The model's SQL for each of `count` batches. Stops, naming the model, if its SQL
    never calls batch_filter(): each batch would then hold every row."""
    renderer.batch_filtered.discard(node.name)
    sqls = []
    try:
        for index in range(count):
            renderer.batch = (index, count)
            sqls.append(render())
            if node.name not in renderer.batch_filtered:
                raise ProjectError(
                    f"model {node.name} sets full_build_batches but its SQL does not call "
                    "batch_filter(key): every batch would hold every row.",
                    path=node.rel_path, hint="filter the rows it reads from rows_of with "
                                             "{{ batch_filter('the_key') }}.")
    finally:
        renderer.batch = None
    return sqls
