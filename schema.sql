-- The tokenize-corpus store: one SQLite file (WAL while a run writes, one file after) per run or per shard.
-- This is the design card: the schema every store has once its migrations ran. The migrations themselves are
-- Sources/Corpus/Migrations/*.sql and Store.migrator (StoreSchema.swift), in order; a shipped migration is never
-- edited, a change is a new migration plus this file updated (StoreSchemaTests checks that the two agree).
-- GRDB's grdb_migrations table records which migrations ran.

-- Facts about the store: model_id, model_fingerprint, created_at.
CREATE TABLE store_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every utterance the manifests name, and its result once encoded.
CREATE TABLE utterances (
    id          TEXT PRIMARY KEY,                 -- unique across the run
    source      TEXT NOT NULL,                    -- manifest file:line
    audio_path  TEXT NOT NULL,
    transcript  TEXT NOT NULL,
    speaker     TEXT,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    duration    REAL,                             -- seconds of 16 kHz audio, once decoded
    sample_rate INTEGER,                          -- the file's own rate
    num_frames  INTEGER,                          -- codes, 50 per second
    codes       BLOB,                             -- num_frames little-endian uint16
    updated_at  REAL,                             -- unix seconds
    CHECK (status != 'done' OR (codes IS NOT NULL AND length(codes) = 2 * num_frames))
);
CREATE INDEX utterances_status ON utterances (status);

-- Why an utterance failed; attempts counts the runs that tried it.
CREATE TABLE failures (
    id       TEXT PRIMARY KEY REFERENCES utterances (id) ON DELETE CASCADE,
    stage    TEXT NOT NULL,                       -- decode | too_short | too_long | encode
    error    TEXT NOT NULL,                       -- one line naming the file and the cause
    attempts INTEGER NOT NULL DEFAULT 1
);

-- Manifest lines that could not be read (no usable id), reported as file:line.
CREATE TABLE manifest_problems (
    source TEXT PRIMARY KEY,
    error  TEXT NOT NULL
);
