-- The tokenize-corpus store: one SQLite file per run or per shard (WAL while a run writes to it).
-- Migration v1, frozen: a store made by any version ran exactly this; never edit it (see ARCHITECTURE.md).
-- A schema change is a new migration in StoreSchema.swift. While no later migration changes a table, the root
-- schema.sql (the schema every store has once migrated, checked by StoreSchemaTests) is a link to this file.

-- Facts about the store: model_id, model_fingerprint, created_at, schema_version.
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
