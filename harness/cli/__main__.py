"""`python -m harness.cli` runs the evalh command line."""
from harness.cli import main

main()
