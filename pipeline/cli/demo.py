"""``ballot demo``: the main job on built-in sample data, end to end, in output/demo/."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

DEMO_SESSION = "2026H1"


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output/demo"),
    show_default=True,
    help="Folder for the demo's PDF, scans, database and report (emptied first).",
)
@click.option("--copies", type=click.IntRange(1, 500), default=40, show_default=True, help="Ballots to print.")
def demo_command(out_dir: Path, copies: int) -> None:
    """Print sample ballots for the shipped template (and, as later stages land, fill, scan and report)."""
    from pipeline.render import render_ballots
    from pipeline.store import open_store
    from pipeline.template import load_template

    template_file = Path(__file__).resolve().parents[2] / "templates" / "shuangping.yaml"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    template = load_template(template_file)
    store = open_store(out_dir / "ballots.db")
    pdf = out_dir / f"{DEMO_SESSION}-测评票.pdf"
    serials = store.issue_serials(DEMO_SESSION, template, copies, str(pdf))
    render_ballots(template, DEMO_SESSION, serials, pdf)
    click.echo(f"1. 打印 / print: {copies} 张测评票 → {pdf}")
