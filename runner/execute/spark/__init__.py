"""Running the build on Spark (--target spark): the pipeline (run), dbt-spark's
materializations (materialize), sources and seeds read by Spark (sources)."""
