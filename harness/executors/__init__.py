"""Where a model's work runs: in this process, or sharded across Ray workers. Same plan, same results.

A run is a plan of units: model x task x shard of the task's requests. The runner hands each model call
(one chunk of a task's requests) to a `ShardedModel`, which splits it into shards, runs them on its
backend (here: in order; Ray: on a pool of workers that each loaded the model once), and merges the
responses back into request order. Metrics are then computed on the merged samples by the runner, exactly
as in a single-process run.
"""
