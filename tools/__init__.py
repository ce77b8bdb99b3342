"""Developer tools: the offline plan and the benchmark."""
