-- The project's one SQLite store. Applied by pipeline/store.py when PRAGMA user_version is 0.
-- Machine readings and clerk decisions are stored side by side; nothing is ever overwritten.

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
    reason     TEXT NOT NULL DEFAULT '',
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
    reason          TEXT NOT NULL DEFAULT '',
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
    settings_hash   TEXT REFERENCES settings_versions (hash),
    read_at         TEXT NOT NULL,
    UNIQUE (file_id, page_no)
) STRICT;
-- A serial is counted at most once per session.
CREATE UNIQUE INDEX pages_one_read_per_serial ON pages (session, serial) WHERE outcome = 'read';

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
    shift_mm      REAL NOT NULL,              -- how far the printed border was found from where expected
    border_match  REAL NOT NULL,              -- 0-1, how well the printed border was found
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
    reason            TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (classification_id, page_id, unit),
    CHECK ((reading = 'choice') = (choice IS NOT NULL))
) STRICT;

-- Images kept for review and for comments: a reduced whole page, and row crops.
CREATE TABLE page_images (
    page_id INTEGER NOT NULL REFERENCES pages (id),
    kind    TEXT NOT NULL CHECK (kind IN ('page', 'row', 'comment')),
    unit    TEXT NOT NULL DEFAULT '',
    mime    TEXT NOT NULL,
    width   INTEGER NOT NULL,
    height  INTEGER NOT NULL,
    data    BLOB NOT NULL,
    PRIMARY KEY (page_id, kind, unit)
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

-- What tally and report count: the machine's current reading, or a clerk's latest decision where there is
-- one (the review stage redefines this view to add its decisions).
CREATE VIEW effective_readings AS
SELECT page_id, unit, reading, choice FROM machine_readings;
