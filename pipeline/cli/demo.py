"""``ballot demo``: the main job on built-in sample data, end to end, in output/demo/."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from pipeline.cli.common import fail, say, zone

DEMO_SESSION = "2026H1"


@click.command("demo")
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output/demo"),
    show_default=True,
    help="Folder for the demo's PDF, scans, database and report (an earlier demo's folder is emptied first).",
)
@click.option("--copies", type=click.IntRange(1, 500), default=40, show_default=True, help="Ballots to print.")
@click.option("--seed", type=int, default=2026, show_default=True, help="Seed of the simulated voters and scanner.")
def demo_command(out_dir: Path, copies: int, seed: int) -> None:
    """Print sample ballots, simulate a filled and scanned batch, read it, and write the draft result workbook,
    the draft public notice and the draft feedback letters.

    Uses the shipped sample template, reading settings and counting rules; the database is OUTPUT/ballots.db.
    A folder that holds anything but an earlier demo is refused rather than emptied.

    \b
    Example:
      ballot demo -o output/demo --copies 40
    """
    import datetime

    from pipeline.ballot.layout import compute_layout
    from pipeline.ballot.template import load_template
    from pipeline.common.clock import local_date
    from pipeline.common.defaults import default_file
    from pipeline.counting.feedback import write_feedback
    from pipeline.counting.notice import NoticeDetails, write_notice
    from pipeline.counting.report import tally_table, write_report
    from pipeline.counting.rules import load_rules
    from pipeline.counting.tally import tally_session
    from pipeline.printing.render import render_ballots
    from pipeline.reading.settings import load_settings
    from pipeline.review.comments import collect_comments
    from pipeline.scanning.batch import scan
    from pipeline.simulation.simulate import simulate_batch
    from pipeline.store.database import open_store

    if out_dir.exists():
        if any(out_dir.iterdir()) and not (out_dir / "ballots.db").is_file():
            fail("demo_folder_taken", path=out_dir)
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    template = load_template(default_file("shuangping.yaml"))
    db = out_dir / "ballots.db"
    store = open_store(db)
    pdf = out_dir / f"{DEMO_SESSION}-测评票.pdf"
    serials = store.issue_serials(DEMO_SESSION, template, copies, str(pdf))
    render_ballots(template, DEMO_SESSION, serials, pdf)
    say("demo_printed", copies=copies, path=pdf)

    scans = out_dir / "scans"
    simulate_batch(pdf, compute_layout(template), scans, profile="office", seed=seed, file_format="jpeg")
    shutil.copy(scans / sorted(p.name for p in scans.glob("*.jpg"))[0], scans / "zz-同一张又扫了一次.jpg")
    say("demo_simulated", path=scans)

    summary = scan([scans], store, DEMO_SESSION, load_settings(), jobs=os.cpu_count() or 1)
    say("demo_scanned", outcomes=dict(sorted(summary.outcomes.items())), skipped=len(summary.files_skipped))
    say("demo_pending", count=summary.rows_pending)

    store.set_session_facts(DEMO_SESSION, issued=copies, expected=None, attended=None)
    rules = load_rules()
    tally = tally_session(template, store.effective_ballots(DEMO_SESSION), rules, store.session_facts(DEMO_SESSION))
    say("demo_tally")
    click.echo(tally_table(tally))
    report = out_dir / f"{DEMO_SESSION}-测评结果-草稿.xlsx"
    write_report(report, tally, draft=True)
    say("demo_report", path=report)
    notice = out_dir / f"{DEMO_SESSION}-公示-草稿.pdf"
    issuer = template.organisation or "××县文化体育局"
    today = datetime.date.fromisoformat(local_date(zone()))
    write_notice(notice, tally, NoticeDetails(issuer, today), draft=True)
    say("demo_notice", path=notice)
    collected = collect_comments(store, DEMO_SESSION)
    letters = out_dir / f"{DEMO_SESSION}-意见建议反馈-草稿"
    write_feedback(letters, tally, collected.by_unit, collected.summary, draft=True)
    written = sum(len(cells) for cells in collected.by_unit.values())
    say("demo_feedback", count=written, path=letters)
    click.echo("")
    say("demo_next")
    command = sys.argv[0] if sys.argv[0].endswith("ballot") else "ballot"
    click.echo(f"   {command} review --session {DEMO_SESSION} --db {db}")
    click.echo(
        f"   {command} report --session {DEMO_SESSION} --db {db} -o {out_dir / (DEMO_SESSION + '-测评结果.xlsx')}"
    )
