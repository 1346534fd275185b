"""A run's stages on DuckDB: the pipeline (run.py), the executor that materializes
each node in its transaction (materialize.py), and which sources are relations already
in the database rather than folders of raw files (source_relations.py). The stages both
engines share are in runner/execute/, Spark's own in runner/execute/spark/."""
