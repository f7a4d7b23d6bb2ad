"""Templates as printed and sessions: what a session's sheets are read by.

A template is kept under its content hash as it was when first printed or registered (a later edit of the YAML
cannot change how printed sheets are read); existing office forms are registered per session.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pipeline.ballot.template import Template, parse_template
from pipeline.store.core import StoreCore, now


class FormConflictError(Exception):
    """An external form's id is already used in the session with other content: ``old`` and ``new`` hashes."""

    def __init__(self, form: str, session: str, old: str, new: str) -> None:
        super().__init__(f"form {form} was already read in {session} as {old[:8]}, now {new[:8]}")
        self.old = old
        self.new = new


class TemplateStore(StoreCore):
    """Templates, their blank renderings, sessions and the existing forms each session reads."""

    def add_template(self, template: Template, source_path: str | None = None) -> str:
        digest = template.content_hash()
        definition = json.dumps(template.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
        with self.transaction() as db:
            db.execute(
                "INSERT INTO templates (hash, template_id, short_hash, definition, source_path, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                (digest, template.id, template.short_hash(), definition, source_path, now()),
            )
        return digest

    def template_blank(self, digest: str, px_per_mm: float) -> bytes | None:
        """The cached blank rendering (PNG) of a stored template, if one was kept."""
        row = self.db.execute(
            "SELECT png FROM template_blanks WHERE template_hash = ? AND px_per_mm = ?", (digest, px_per_mm)
        ).fetchone()
        return bytes(row[0]) if row else None

    def keep_template_blank(self, digest: str, px_per_mm: float, png: bytes) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO template_blanks (template_hash, px_per_mm, png) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (digest, px_per_mm, png),
            )

    def blank_rendering(self, template: Template) -> bytes:
        """The scorer's blank rendering of a printed template (PNG, :func:`pipeline.reading.model.render_blank_png`),
        rendered once and kept, so that no scan spends a second rendering it."""
        from pipeline.reading.model import BLANK_PX_PER_MM, render_blank_png

        digest = template.content_hash()
        png = self.template_blank(digest, BLANK_PX_PER_MM)
        if png is None:
            png = render_blank_png(template)
            self.keep_template_blank(digest, BLANK_PX_PER_MM, png)
        return png

    def use_form(self, session: str, template: Template, source_path: str) -> str:
        """Register an existing office form (``source: external``) as read in ``session``; returns its hash.

        Raises :class:`FormConflictError` if the session already reads a different form of the same id: pages
        read against the old one would otherwise be counted against a changed form."""
        digest = template.content_hash()
        self.ensure_session(session)
        self.add_template(template, source_path)
        with self.transaction() as db:
            other = db.execute(
                "SELECT t.hash FROM session_forms f JOIN templates t ON t.hash = f.template_hash "
                "WHERE f.session = ? AND t.template_id = ? AND t.hash <> ?",
                (session, template.id, digest),
            ).fetchone()
            if other is not None:
                raise FormConflictError(template.id, session, str(other[0]), digest)
            db.execute(
                "INSERT INTO session_forms (session, template_hash, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (session, digest, now()),
            )
        return digest

    def session_forms(self, session: str) -> list[Template]:
        """The existing office forms read in ``session``, first registered first."""
        rows = self.db.execute(
            "SELECT t.template_id, t.definition FROM session_forms f JOIN templates t ON t.hash = f.template_hash "
            "WHERE f.session = ? ORDER BY f.added_at, t.template_id",
            (session,),
        )
        return [stored_template(name, definition) for name, definition in rows]

    def template_by_hash(self, digest: str) -> Template:
        row = self.db.execute("SELECT template_id, definition FROM templates WHERE hash = ?", (digest,)).fetchone()
        return stored_template(row[0], row[1])

    def ensure_session(self, session: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sessions (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (session, now()),
            )

    def session_exists(self, session: str) -> bool:
        return self.db.execute("SELECT 1 FROM sessions WHERE name = ?", (session,)).fetchone() is not None

    def templates_printed(self) -> dict[tuple[str, str], tuple[str, Template]]:
        """Every template ever printed with this store: (id, short hash) → (hash, template)."""
        catalog = {}
        for digest, template_id, short, definition in self.db.execute(
            "SELECT hash, template_id, short_hash, definition FROM templates"
        ):
            catalog[(template_id, short)] = (digest, stored_template(template_id, definition))
        return catalog

    def session_templates(self, session: str) -> list[Template]:
        """The templates of ``session``: those its ballots were printed from (first printed first), then the
        existing office forms read in it."""
        rows = self.db.execute(
            "SELECT t.template_id, t.definition FROM templates t JOIN print_batches b ON b.template_hash = t.hash "
            "WHERE b.session = ? GROUP BY t.hash ORDER BY min(b.id)",
            (session,),
        )
        return [stored_template(name, definition) for name, definition in rows] + self.session_forms(session)

    def session_units(self, sessions: Sequence[str]) -> set[str]:
        """Every row name on a template of any of ``sessions`` (empty if none was printed or read)."""
        return {
            row.unit
            for session in sessions
            for template in self.session_templates(session)
            for section in template.sections
            for row in section.rows
        }


def stored_template(template_id: str, definition: str) -> Template:
    """A template as the store keeps it (canonical JSON of the validated template)."""
    return parse_template(json.loads(definition), f"stored template {template_id}")
