"""Mutants in the engine's dbt features (packages, docs, file sources, seeds, contracts,
unit tests, publishing), for bench/mutation.py: see bench/mutants.py."""

from __future__ import annotations

from mutants_base import Mutant as M

DBT_MUTANTS = [
    # -- dbt compatibility: packages, docs, file sources, seeds -----------------------------
    M("hub_oldest_version_in_range", "runner/deps/hub.py",
      "    return fitting[-1]",
      "    return fitting[0]",
      "a hub package's range resolved to its oldest release instead of its newest",
      ("tests/test_runner_hub.py",)),
    M("stale_lock_reused", "runner/deps/install.py",
      "        if locked is not None and (folder / \"dbt_project.yml\").is_file():",
      "        if (folder / \"dbt_project.yml\").is_file():",
      "an installed hub package kept although packages.yml asks for another version",
      ("tests/test_runner_hub.py",)),
    M("doc_package_before_project", "runner/project/docs.py",
      "list(dict.fromkeys([project.name, package or project.name, *docs]))",
      "list(dict.fromkeys([package or project.name, project.name, *docs]))",
      "doc('name') in a package's YAML takes the package's block over the project's",
      ("tests/test_runner_docs.py",)),
    M("external_path_not_anchored", "runner/project/external.py",
      "    return str(root / path)",
      "    return path",
      "a relative external_location read from the working directory, not the project",
      ("tests/test_runner_external_sources.py",)),
    M("seed_bigint_as_integer", "runner/execute/seeds.py",
      "if low is None or (INT32[0] <= low and high <= INT32[1]):",
      "if True:",
      "a seed's whole numbers beyond INTEGER's range cast to INTEGER (the load fails)",
      ("tests/test_runner_seed_configs.py",)),

    # -- contracts, unit tests, publishing in batches -----------------------------------------
    M("contract_type_mismatch_ignored", "runner/execute/contracts.py",
      "        elif got[1] != wanted:",
      "        elif False:",
      "a contracted column of another data type passes its contract",
      ("tests/test_contracts.py",)),
    M("unit_test_missing_rows_pass", "runner/execute/duckdb/unit_tests.py",
      "\"select * from actual)\")",
      "\"select * from actual) where false\")",
      "a unit test passes when the model returns fewer rows than expected",
      ("tests/test_unit_tests.py", "tests/test_project_unit_tests.py")),
    M("publish_later_write_refused", "runner/publish/partitions.py",
      "f\"{', overwrite_or_ignore true' if n else ''})\")",
      "f\")\")",
      "a publish's second write of units into the table's folder",
      ("tests/test_publish_units.py",)),

    # -- project hooks: on-run-start, on-run-end -----------------------------------------
    M("on_run_end_only_when_ok", "runner/execute/duckdb/run.py",
      "        hooks.end(emit, db, compiled, compiled_tests)",
      "        result.ok and hooks.end(emit, db, compiled, compiled_tests)",
      "on-run-end skipped when a node failed (dbt runs it whatever failed)",
      ("tests/test_run_hooks.py",)),
    M("failed_on_run_start_runs_the_nodes", "runner/execute/hooks.py",
      "        if failed and not emit.stop:",
      "        if False:",
      "the models still built after an on-run-start hook failed",
      ("tests/test_run_hooks.py",)),
    # -- snapshots, comments ----------------------------------------------------------------
    M("snapshot_repeated_keys_unchecked", "runner/execute/snapshots.py",
      "    if not rows:\n        return\n",
      "    return\n",
      "a snapshot whose query returns a unique_key twice adds its versions again, unsaid",
      ("tests/test_snapshots.py::test_a_unique_key_repeated_in_the_query_stops_the_"
       "snapshot",)),
    M("changed_description_not_commented", "runner/execute/duckdb/materialize.py",
      "            if column.description and column.name in current and \\\n"
      "                    current[column.name] != column.description:",
      "            if column.description and column.name in current and \\\n"
      "                    current[column.name] is None:",
      "a column's changed description never reaches the comment of a table kept by an "
      "incremental build",
      ("tests/test_runner_docs.py::test_comments_of_a_kept_table_follow_its_yaml",)),
    M("unit_test_lost_server_unseen", "runner/execute/spark/unit_tests.py",
      "            result.message = self.executor.lost_server(exc) or (",
      "            result.message = None or (",
      "a Spark Connect server lost during a unit test is seen only by the next model's "
      "statement, its retries waited on again",
      ("-m ''", "tests/test_spark_connect.py::test_a_server_killed_mid_build_ends_the_"
       "build_within_a_minute[unit_test]")),
]
