"""A run's stages on DuckDB: the pipeline (run.py) and the executor that materializes
each node in its transaction (materialize.py). The stages both engines share are in
runner/execute/, Spark's own in runner/execute/spark/."""
