"""Model adapters: one Protocol, several backends (transformers, a deterministic fake), found by name."""
