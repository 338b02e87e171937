"""docray pipelines: YAML specs, plans, executors, runner.  Kept import-free so the CLI parser stays light."""

DEFAULT_SHARD_SIZE = 1000  # documents per shard: bounds what one shuffle holds, and the work lost to a kill
