"""Getting built tables out: show, Parquet export, and publishing for readers (serving)."""
