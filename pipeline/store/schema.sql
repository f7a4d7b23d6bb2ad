-- The project's one SQLite store. Applied by pipeline/store/database.py when PRAGMA user_version is 0 (an older
-- store is brought up to date by its MIGRATIONS).
-- Machine readings and clerk decisions are stored side by side; nothing is ever overwritten.

-- The codes a reason may have (pipeline/common/reasons.py: Why for pages and files, RowWhy for rows, '' for a
-- row read without doubt). The program adds every code it knows when it opens the store; the columns below refer
-- to these tables, so a reason is always one of them. Words for each code: pipeline/common/messages.py.
CREATE TABLE page_reasons (code TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
CREATE TABLE row_reasons (code TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;
INSERT INTO row_reasons (code) VALUES ('');

-- Every template a ballot was printed from, as it was at print time (a later edit of the YAML file
-- cannot change how printed sheets are read).
CREATE TABLE templates (
    hash        TEXT PRIMARY KEY CHECK (length(hash) = 64),
    template_id TEXT NOT NULL,
    short_hash  TEXT NOT NULL CHECK (length(short_hash) = 8),
    definition  TEXT NOT NULL,                -- canonical JSON of the validated template
    source_path TEXT,
    added_at    TEXT NOT NULL
) STRICT;
CREATE INDEX templates_by_short ON templates (template_id, short_hash);

-- The blank template as the scorer sees it (rendered at 8 px/mm, PNG), kept so that a scan need not
-- render it again (about a second). A cache: deleting a row only costs that second once.
CREATE TABLE template_blanks (
    template_hash TEXT NOT NULL REFERENCES templates (hash),
    px_per_mm     REAL NOT NULL,
    png           BLOB NOT NULL,
    PRIMARY KEY (template_hash, px_per_mm)
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    issued     INTEGER CHECK (issued IS NULL OR issued >= 0),    -- ballots handed out (发出)
    expected   INTEGER CHECK (expected IS NULL OR expected >= 0),
    attended   INTEGER CHECK (attended IS NULL OR attended >= 0)
) STRICT;

CREATE TABLE print_batches (
    id              INTEGER PRIMARY KEY,
    session         TEXT NOT NULL REFERENCES sessions (name),
    template_hash   TEXT NOT NULL REFERENCES templates (hash),
    copies          INTEGER NOT NULL CHECK (copies > 0),
    output_path     TEXT,
    printed_at      TEXT NOT NULL,
    program_version TEXT NOT NULL
) STRICT;

-- Existing office forms (templates with source: external) whose filled copies are read in a session.
-- They are not printed here and carry no serial; a session's templates are its print batches' and these.
CREATE TABLE session_forms (
    session       TEXT NOT NULL REFERENCES sessions (name),
    template_hash TEXT NOT NULL REFERENCES templates (hash),
    added_at      TEXT NOT NULL,
    PRIMARY KEY (session, template_hash)
) STRICT, WITHOUT ROWID;

-- Issued serials. WITHOUT ROWID and keyed by the serial itself, so the table keeps no trace of the order
-- in which sheets were printed (ballots are anonymous).
CREATE TABLE serials (
    session  TEXT NOT NULL REFERENCES sessions (name),
    serial   TEXT NOT NULL,
    batch_id INTEGER NOT NULL REFERENCES print_batches (id),
    PRIMARY KEY (session, serial)
) STRICT, WITHOUT ROWID;

-- One row per input file and session. A file is identified by its content, not its name.
CREATE TABLE files (
    id         INTEGER PRIMARY KEY,
    session    TEXT NOT NULL REFERENCES sessions (name),
    sha256     TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),  -- NULL when the file cannot be read
    path       TEXT NOT NULL,                 -- as given on the command line
    size_bytes INTEGER,
    page_count INTEGER,                       -- NULL until known
    status     TEXT NOT NULL CHECK (status IN ('reading', 'done', 'unreadable')),
    reason_code   TEXT REFERENCES page_reasons (code),   -- why an unreadable file was not read
    reason_detail TEXT NOT NULL DEFAULT '{}',           -- JSON: what the reason's words show
    added_at   TEXT NOT NULL,
    UNIQUE (session, sha256)
) STRICT;

-- Reading settings in force when something was read or classified (audit trail).
CREATE TABLE settings_versions (
    hash       TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    added_at   TEXT NOT NULL
) STRICT;

CREATE TABLE pages (
    id              INTEGER PRIMARY KEY,
    file_id         INTEGER NOT NULL REFERENCES files (id),
    session         TEXT NOT NULL REFERENCES sessions (name),
    page_no         INTEGER NOT NULL CHECK (page_no >= 1),
    outcome         TEXT NOT NULL CHECK (outcome IN (
                        'read', 'blank', 'unreadable', 'wrong_session', 'wrong_template',
                        'unknown_serial', 'duplicate')),
    reason_code     TEXT REFERENCES page_reasons (code),   -- why not counted (or how a form was recognised)
    reason_detail   TEXT NOT NULL DEFAULT '{}',           -- JSON: what the reason's words show
    serial          TEXT,
    template_hash   TEXT REFERENCES templates (hash),
    image_fingerprint TEXT,                   -- of the decoded pixels, to tell a rescan from a photocopy
    rotation        INTEGER CHECK (rotation IS NULL OR rotation IN (0, 90, 180, 270)),
    transform       TEXT,                     -- JSON 3x3 homography, page mm -> image pixels
    residual_mm     REAL,                     -- worst registration-mark misfit after the fit
    scale_px_per_mm REAL,
    skew_deg        REAL,
    marks_found     INTEGER,
    program_version TEXT NOT NULL,
    scorer_version  INTEGER,                  -- pipeline.reading.score.SCORER_VERSION of a page scored by it
    settings_hash   TEXT REFERENCES settings_versions (hash),
    read_at         TEXT NOT NULL,
    UNIQUE (file_id, page_no)
) STRICT;
-- A serial is counted at most once per session.
CREATE UNIQUE INDEX pages_one_read_per_serial ON pages (session, serial) WHERE outcome = 'read';
-- A form without a serial (an existing office form) is counted once per image.
CREATE UNIQUE INDEX pages_one_read_per_image ON pages (session, image_fingerprint)
    WHERE outcome = 'read' AND serial IS NULL;

-- What the scorer measured for every checkbox of a read page. Numbers only; no decision.
CREATE TABLE box_scores (
    page_id       INTEGER NOT NULL REFERENCES pages (id),
    unit          TEXT NOT NULL,
    option        TEXT NOT NULL,
    position      INTEGER NOT NULL,           -- column order on the sheet
    fill          REAL NOT NULL,              -- 0-1, share of new ink inside the box interior
    outside       REAL NOT NULL,              -- 0-1, share of new ink in the ring just around the box
    centre        REAL NOT NULL,              -- 0-1, share of ink in the central half of the interior
    darkness      REAL NOT NULL,              -- 0-1, median darkness of the new ink inside (faint vs firm)
    crossing      REAL NOT NULL,              -- 0-1, how much a straight line runs right through the box
    shift_mm      REAL NOT NULL,              -- how far the printed border was found from where expected
    border_match  REAL NOT NULL,              -- 0-1, how well the printed border was found
    encircled     REAL NOT NULL DEFAULT 0,    -- 0-1, share of directions around the box with ink (a ring drawn round it)
    scattered     REAL NOT NULL DEFAULT 0,    -- 0-1, share of the interior inked apart from its largest mark (specks)
    edge          REAL NOT NULL DEFAULT 0,    -- 0-1, share of a band along the printed border with ink (a tight ring)
    ink_level     REAL NOT NULL DEFAULT 0,    -- 0-1, darkness new ink had to reach in this box (noise-adaptive)
    edge_around   REAL NOT NULL DEFAULT 0,    -- 0-1, share of directions around the box with a pen line along its border
    outside_below REAL NOT NULL DEFAULT 0,    -- 0-1, share of the ink around the box lying below it (a leg from below)
    outside_from_below REAL NOT NULL DEFAULT 0, -- 0-1, share of the ink around the box in strokes from the row below
    joined_below  REAL NOT NULL DEFAULT 1,    -- 0-1, share of the ink inside the box in strokes from the row below
    border_hidden REAL NOT NULL DEFAULT 0,    -- 0-1, share of the printed border showing paper (tape laid over it)
    faint_stroke  REAL NOT NULL DEFAULT 0,    -- mm, longest sharp stroke too faint to count on noisy paper
    line_over     REAL NOT NULL DEFAULT 0,    -- 0-1, darkness of the darkest page line through the box (taken for print)
    outside_darkness REAL NOT NULL DEFAULT 1, -- 0-1, median darkness of the ink around the box
    bilevel       INTEGER NOT NULL DEFAULT 0, -- 1: the scan is black and white (a fax, a 1-bit scan)
    core          REAL NOT NULL DEFAULT 0,    -- mm², the largest piece of the ink inside the box as dark as a firm stroke
    line_excess   REAL NOT NULL DEFAULT 0,    -- 0-1, how much darker a page line's course is inside the box than beside
    outside_reach REAL NOT NULL DEFAULT 99,   -- mm, how far the box's own ink runs out past its border (99: unknown)
    ink_span      REAL NOT NULL DEFAULT 99,   -- mm, the narrower of the height and width of the ink inside the box
    core_share    REAL NOT NULL DEFAULT 0,    -- 0-1, share of the ink inside the box in its largest firm piece
    stroke_response REAL NOT NULL DEFAULT 0,  -- 0-1, how far the most stroke-like piece in the box stands above the grain
    grain_spread  REAL NOT NULL DEFAULT 0,    -- 0-1, that grain's deviation under the stroke filters (0: not searched)
    PRIMARY KEY (page_id, unit, option)
) STRICT;

-- One classification run: a settings version applied to a session's stored scores.
CREATE TABLE classifications (
    id              INTEGER PRIMARY KEY,
    session         TEXT NOT NULL REFERENCES sessions (name),
    settings_hash   TEXT NOT NULL REFERENCES settings_versions (hash),
    program_version TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;

-- The machine's reading of each row, per classification. The newest classification is the current one.
CREATE TABLE row_readings (
    classification_id INTEGER NOT NULL REFERENCES classifications (id),
    page_id           INTEGER NOT NULL REFERENCES pages (id),
    unit              TEXT NOT NULL,
    reading           TEXT NOT NULL CHECK (reading IN ('choice', 'blank', 'overvote', 'pending')),
    choice            TEXT,                   -- the option, when reading = 'choice'
    reason            TEXT NOT NULL DEFAULT '' REFERENCES row_reasons (code),
    PRIMARY KEY (classification_id, page_id, unit),
    CHECK ((reading = 'choice') = (choice IS NOT NULL))
) STRICT;

-- The image of each page kept for review (the row crops a clerk sees are cut from it). A read page
-- keeps its JPEG scan as the file held it (as_scanned: shown upright through pages.transform) or an upright
-- copy; a rejected page a reduced copy of the scan.
CREATE TABLE page_images (
    page_id    INTEGER PRIMARY KEY REFERENCES pages (id),
    mime       TEXT NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    data       BLOB NOT NULL,
    as_scanned INTEGER NOT NULL DEFAULT 0 CHECK (as_scanned IN (0, 1))
) STRICT;

CREATE INDEX row_readings_by_row ON row_readings (page_id, unit, classification_id);

-- The machine's current reading of every row: from the newest classification that covered it.
CREATE VIEW machine_readings AS
SELECT r.page_id, r.unit, r.reading, r.choice, r.reason, r.classification_id
FROM row_readings AS r
WHERE r.classification_id = (
    SELECT max(latest.classification_id) FROM row_readings AS latest
    WHERE latest.page_id = r.page_id AND latest.unit = r.unit
);

-- Overrides (投诉查实, 一票否决): decisions taken elsewhere, recorded with authority, date and document number.
-- They change a grade, never a count. A revocation is a second record beside the first; neither is updated.
CREATE TABLE overrides (
    id         INTEGER PRIMARY KEY,
    unit       TEXT NOT NULL,
    period     TEXT NOT NULL,                -- a session (2026H1) for a complaint, a year (2026) for a veto
    kind       TEXT NOT NULL CHECK (kind IN ('complaint', 'veto')),
    area       TEXT,                         -- veto only: 社会治安综合治理 / 党风廉政建设 / 计划生育 / 安全生产 / 其他
    ref        TEXT NOT NULL CHECK (length(ref) > 0),        -- document number, e.g. 投诉〔2026〕13号
    authority  TEXT NOT NULL CHECK (length(authority) > 0),  -- who decided, e.g. 局纪委
    decided_on TEXT NOT NULL CHECK (decided_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    note       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    CHECK ((kind = 'veto') = (area IS NOT NULL)),
    CHECK ((kind = 'veto') = (period GLOB '[0-9][0-9][0-9][0-9]'))
) STRICT;
CREATE INDEX overrides_by_period ON overrides (period, unit);

CREATE TABLE override_revocations (
    override_id INTEGER PRIMARY KEY REFERENCES overrides (id),
    revoked_at  TEXT NOT NULL,
    reason      TEXT NOT NULL CHECK (length(reason) > 0)
) STRICT;

-- -- review: decisions (pipeline/review) ----------------------------------------------------------------------
-- A clerk's reading of one row, kept beside the machine's (row_readings) and never over it. Records are only
-- ever added. Each names the row's newest record when the clerk looked (previous_id, NULL for none): that id is
-- the row's version for optimistic locking, and the unique index below refuses a second record written from
-- the same view of a row, so two clerks can never both decide a row blind. An undo (key Z) is a record of its
-- own, with reading NULL, naming the decision it takes back (undoes_id).
-- A decision on a row the machine read without doubt is a correction (made from the whole-sheet view, shown
-- as such on the page and in 复核记录); one on a row it sent to review is not.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    page_id     INTEGER NOT NULL REFERENCES pages (id),
    unit        TEXT NOT NULL,
    reading     TEXT CHECK (reading IN ('choice', 'blank', 'void')),  -- blank: 弃权; void: 无效; NULL: an undo
    choice      TEXT,                                 -- the option, when reading = 'choice'
    undoes_id   INTEGER REFERENCES decisions (id),
    previous_id INTEGER REFERENCES decisions (id),
    reviewer    TEXT NOT NULL CHECK (length(reviewer) > 0),
    decided_at  TEXT NOT NULL,
    correction  INTEGER NOT NULL DEFAULT 0 CHECK (correction IN (0, 1)),  -- 1: the machine had read the row
    CHECK (CASE WHEN reading IS NULL THEN choice IS NULL ELSE (reading = 'choice') = (choice IS NOT NULL) END),
    CHECK ((reading IS NULL) = (undoes_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX decisions_one_per_version ON decisions (page_id, unit, coalesce(previous_id, 0));
CREATE INDEX decisions_by_undone ON decisions (undoes_id) WHERE undoes_id IS NOT NULL;

-- A clerk's decision about a whole page: a page the machine did not count is 'not_ballot' (settled: no ballot),
-- 'not_counted' (settled: a ballot rightly left out, e.g. a duplicate confirmed, another session's) or 'count'
-- (read by eye, its rows entered by hand into decisions, then counted with template_hash); a read ballot is
-- 'void' (作废: identifying marks; returned but not counted). Versioned and undone like decisions.
CREATE TABLE page_decisions (
    id            INTEGER PRIMARY KEY,
    page_id       INTEGER NOT NULL REFERENCES pages (id),
    decision      TEXT CHECK (decision IN ('not_ballot', 'not_counted', 'count', 'void')),  -- NULL: an undo
    template_hash TEXT REFERENCES templates (hash),
    note          TEXT NOT NULL DEFAULT '',
    undoes_id     INTEGER REFERENCES page_decisions (id),
    previous_id   INTEGER REFERENCES page_decisions (id),
    reviewer      TEXT NOT NULL CHECK (length(reviewer) > 0),
    decided_at    TEXT NOT NULL,
    -- for a counted page the machine could not identify: the serial the clerk read under its QR code
    serial        TEXT CHECK (serial IS NULL OR length(serial) = 10),
    -- for such a page counted without one: the clerk stated that the serial cannot be read on the sheet
    serial_illegible INTEGER NOT NULL DEFAULT 0 CHECK (serial_illegible IN (0, 1)),
    CHECK ((coalesce(decision, '') = 'count') = (template_hash IS NOT NULL)),
    CHECK (serial_illegible = 0 OR (decision = 'count' AND serial IS NULL)),
    CHECK ((decision IS NULL) = (undoes_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX page_decisions_one_per_version ON page_decisions (page_id, coalesce(previous_id, 0));

-- Decisions in force: per row (per page), the newest decision that no undo took back.
CREATE VIEW current_decisions AS
SELECT d.id, d.page_id, d.unit, d.reading, d.choice, d.reviewer, d.decided_at, d.correction
FROM decisions AS d
WHERE d.id = (
    SELECT max(live.id) FROM decisions AS live
    WHERE live.page_id = d.page_id AND live.unit = d.unit AND live.reading IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM decisions AS undo WHERE undo.undoes_id = live.id)
);

CREATE VIEW current_page_decisions AS
SELECT d.id, d.page_id, d.decision, d.template_hash, d.note, d.reviewer, d.decided_at, d.serial, d.serial_illegible
FROM page_decisions AS d
WHERE d.id = (
    SELECT max(live.id) FROM page_decisions AS live
    WHERE live.page_id = d.page_id AND live.decision IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM page_decisions AS undo WHERE undo.undoes_id = live.id)
);

-- What tally and report count, the effective reading: the clerk's decision in force, else the machine's; plus the
-- hand-entered rows of pages the machine rejected and a clerk counted, those without a machine reading (a sheet
-- read but for its serial has one: its hand rows are the decisions in force over it, not a second copy).
CREATE VIEW effective_readings AS
SELECT m.page_id, m.unit,
       CASE WHEN c.id IS NULL THEN m.reading ELSE c.reading END AS reading,
       CASE WHEN c.id IS NULL THEN m.choice ELSE c.choice END AS choice
FROM machine_readings AS m
LEFT JOIN current_decisions AS c ON c.page_id = m.page_id AND c.unit = m.unit
UNION ALL
SELECT c.page_id, c.unit, c.reading, c.choice
FROM current_decisions AS c
JOIN current_page_decisions AS p ON p.page_id = c.page_id AND p.decision = 'count'
WHERE NOT EXISTS (SELECT 1 FROM row_readings AS r WHERE r.page_id = c.page_id AND r.unit = c.unit);
