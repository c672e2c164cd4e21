-- Migration v3: where the audio is inside a file (a Lhotse cut's segment, a tar shard's member) and the
-- manifest's other fields. The table is rebuilt rather than altered, so that its definition reads as written
-- here (ALTER TABLE ADD COLUMN splices text into the old statement); rowids, and with them store order, are kept.
-- Frozen once shipped, like v1.
ALTER TABLE utterances RENAME TO utterances_v2;

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

INSERT INTO utterances (rowid, id, source, audio_path, transcript, speaker, status, duration, sample_rate, num_frames, codes, updated_at)
SELECT rowid, id, source, audio_path, transcript, speaker, status, duration, sample_rate, num_frames, codes, updated_at
FROM utterances_v2 ORDER BY rowid;

DROP TABLE utterances_v2;

CREATE INDEX utterances_status ON utterances (status);
