"""`evalh plan`: how many items a paired comparison needs to detect a drop with the wanted power."""
from __future__ import annotations

import sys

import click


@click.command()
@click.option("--baseline-acc", type=click.FloatRange(0, 1), default=None,
              help="The baseline's accuracy (0-1); with --drop it gives the discordance if errors were independent.")
@click.option("--drop", type=click.FloatRange(0, 1, min_open=True), required=True,
              help="The drop in accuracy to detect (0.02 = 2 points).")
@click.option("--power", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8, show_default=True,
              help="Probability of detecting the drop when it is real.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Two-sided significance level.")
@click.option("--discordance", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Share of items the two models score differently, from a pilot run (overrides --baseline-acc).")
def plan(baseline_acc, drop, power, alpha, discordance) -> None:
    """Print the number of items a paired (McNemar) comparison needs to detect a drop of DROP in accuracy.

    Give the discordance of a pilot run (`evalh compare` counts the items that changed), or the baseline's
    accuracy: then the discordance is that of independent errors, which real models rarely exceed.
    """
    from harness.errors import EvalhError
    from harness.report.power import independent_discordance, mcnemar_items

    if discordance is None and baseline_acc is None:
        click.echo("error: give --baseline-acc or --discordance", err=True)
        sys.exit(2)
    if discordance is None:
        if baseline_acc - drop < 0:
            click.echo(f"error: --drop {drop:g} is larger than --baseline-acc {baseline_acc:g}", err=True)
            sys.exit(2)
        discordance = independent_discordance(baseline_acc, baseline_acc - drop)
        source = f"independent errors at accuracies {baseline_acc:g} and {baseline_acc - drop:g}"
    else:
        source = "given"
    try:
        items = mcnemar_items(discordance, drop, alpha=alpha, power=power)
    except EvalhError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"items needed: {items}")
    click.echo(f"(McNemar, two-sided alpha {alpha:g}, power {power:g}, drop {drop:g}, "
               f"discordance {discordance:.4g} from {source})")
