"""Bridges to lm-evaluation-harness: run its tasks with evalh's adapters, and import its results files."""
