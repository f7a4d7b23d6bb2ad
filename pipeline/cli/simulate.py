"""``ballot simulate``: fill printed ballots like voters and scan them like a device, with ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from pipeline.cli.common import fail, invalid, read_template, say

# The conditions' names, spelled here so that `ballot --help` need not import the simulator (a test checks
# they agree with pipeline.simulation.conditions.CONDITIONS).
CONDITION_NAMES = (
    "steep-photo",
    "marks-cut",
    "code-cut",
    "box-cut",
    "fax-standard",
    "fax-fine",
    "folded",
    "long-tick",
    "streak",
    "show-through",
    "erasure",
    "scanner-app",
    "dim-light",
    "red-pen",
)


@click.command("simulate")
@click.argument("ballots_pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--template",
    "template_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The template the ballots were printed from.",
)
@click.option(
    "-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder."
)
@click.option(
    "--profile",
    type=click.Choice(["office", "fax", "phone", "bad"]),
    default="office",
    show_default=True,
    help="Device: office scanner, fax, phone photo, or bad (folds, streaks, dirt, 150 dpi).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same pixels and truth.")
@click.option("--pages", type=click.IntRange(min=1), default=None, help="Sheets to simulate (default: all pages).")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["jpeg", "png", "heic", "tiff", "pdf"]),
    default=None,
    help="Output files (default: pdf for office, tiff for fax, jpeg for phone and bad).",
)
@click.option(
    "--difficulty",
    type=click.Choice(["clean", "mixed", "hard"]),
    default="mixed",
    show_default=True,
    help="Voters: clean single marks only, a realistic mix, or many faint, erased, corrected and stray marks.",
)
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    type=click.Choice(CONDITION_NAMES),
    help="What the world adds on top of the profile (repeatable): steep-photo (phone), marks-cut, "
    "code-cut (office, phone), box-cut, fax-standard, fax-fine (fax), folded, long-tick, streak (office, fax), "
    "show-through, erasure, scanner-app, dim-light (phone), red-pen (office, bad).",
)
def simulate_command(
    ballots_pdf: Path,
    template_file: Path,
    out_dir: Path,
    profile: str,
    seed: int,
    pages: int | None,
    file_format: str | None,
    difficulty: str,
    conditions: tuple[str, ...],
) -> None:
    """Fill BALLOTS_PDF (printed by `ballot print`) as voters would and scan it as a real device would;
    writes the images and truth.jsonl (what every row meant) to the output folder.

    \b
    Example:
      ballot simulate 2026H1-测评票.pdf --template templates/shuangping.yaml -o scans/ --profile phone --seed 7 \\
        --condition steep-photo --condition long-tick
    """
    from pipeline.ballot.layout import compute_layout
    from pipeline.ballot.template import TemplateInvalid
    from pipeline.simulation.simulate import Difficulty, FileFormat, Profile, SimulationError, simulate_batch

    template = read_template(template_file)
    try:
        sheets = simulate_batch(
            ballots_pdf,
            compute_layout(template),
            out_dir,
            profile=cast(Profile, profile),
            seed=seed,
            pages=pages,
            file_format=cast("FileFormat | None", file_format),
            difficulty=cast(Difficulty, difficulty),
            conditions=conditions,
        )
    except TemplateInvalid as error:
        invalid("template_invalid", error)
    except SimulationError as error:
        fail("as_is", message=error)
    say("simulated", count=len(sheets), path=out_dir)
