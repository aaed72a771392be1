"""evalh's version, recorded in every results file."""

__version__ = "0.1.0"
