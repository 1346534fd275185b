"""Getting built tables out: show and Parquet export."""
