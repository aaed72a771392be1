"""The `evalh` command: a thin click layer over the library. Heavy imports happen inside commands."""
from __future__ import annotations

import click

from harness.version import __version__
from harness.cli.cache_cmd import cache_group
from harness.cli.import_cmd import import_cmd
from harness.cli.compare import compare
from harness.cli.list_cmd import list_group
from harness.cli.plan import plan
from harness.cli.report import report
from harness.cli.rescore import rescore
from harness.cli.run import run


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evalh")
def main() -> None:
    """evalh: evaluate language models on QA, translation, summarization and bias probes."""


main.add_command(run)
main.add_command(list_group)
main.add_command(import_cmd)
main.add_command(cache_group)
main.add_command(report)
main.add_command(compare)
main.add_command(plan)
main.add_command(rescore)
