"""What a run leaves behind for people and tools: target/run_results.json."""
