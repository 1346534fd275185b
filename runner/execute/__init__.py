"""Running nodes: raw sources, materializations and data tests."""
