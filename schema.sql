-- The tokenize-corpus store: one SQLite file per run or per shard (WAL while a run writes to it).
-- The schema every store has once migrated (v1, v2, v3 in Sources/Store/StoreSchema.swift), checked against the
-- migrations by StoreSchemaTests. A change is a new migration, never an edit of a shipped one (ARCHITECTURE.md).

-- Facts about the store: model_id, model_fingerprint, created_at.
CREATE TABLE store_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every utterance the manifests name, where its audio is, and its result once encoded.
CREATE TABLE utterances (
    id               TEXT PRIMARY KEY,            -- unique across the run
    source           TEXT NOT NULL,               -- manifest file:line (shard.tar:KEY for a tar member)
    audio_path       TEXT NOT NULL,               -- the audio file, or the tar shard holding audio_member
    audio_member     TEXT,                        -- the member of the tar shard audio_path holding the audio
    segment_start    REAL,                        -- seconds into audio_path where the utterance starts (a Lhotse cut)
    segment_duration REAL,                        -- and its length; both NULL: the whole file
    segment_channels TEXT,                        -- the file's channels averaged, "0" or "0,1"; NULL: all
    transcript       TEXT NOT NULL,
    speaker          TEXT,
    fields           TEXT CHECK (fields IS NULL OR json_valid(fields)),  -- other manifest fields, a JSON object
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    duration         REAL,                        -- seconds of 16 kHz audio, once decoded
    sample_rate      INTEGER,                     -- the file's own rate
    num_frames       INTEGER,                     -- codes, 50 per second
    codes            BLOB,                        -- num_frames little-endian uint16
    updated_at       REAL,                        -- unix seconds
    CHECK (status != 'done' OR (codes IS NOT NULL AND length(codes) = 2 * num_frames)),
    CHECK ((segment_start IS NULL) = (segment_duration IS NULL))
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
