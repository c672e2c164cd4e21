"""Lhotse's own reading of cuts, for the Swift tests of `--manifest-format lhotse` (LhotseTests).

Writes Tests/CorpusTests/Fixtures/lhotse/:
  segments.json  for cuts of awkward starts and durations at several rates, the first sample and the sample
                 count Lhotse reads (`compute_num_samples`), each checked here against `MonoCut.load_audio` on a
                 real file of that rate;
  overrun.wav    a 0.5 s 8 kHz ramp, and in segments.json the samples `load_audio` gives for a cut that runs
                 0.2 s past its end (Lhotse pads by reflection up to 0.5 s);
  PROVENANCE.json the versions.
Run: /opt/refvenv/bin/python scripts/reference/make_lhotse_fixtures.py
"""
import json, os, sys, tempfile

import lhotse
import numpy as np
import soundfile as sf
from lhotse.utils import compute_num_samples

out = sys.argv[1] if len(sys.argv) > 1 else "Tests/CorpusTests/Fixtures/lhotse"
os.makedirs(out, exist_ok=True)
spans = [(0.0, 1.0), (1.23456, 2.00003), (0.0000312, 1.5), (7.99997, 2.00003), (3.1415926, 0.3333333),
         (0.03125, 0.0625), (2.5, 0.00003125), (12.345678901, 3.210987654), (0.00006249, 0.0000625), (9.9999999, 0.1)]
rates = [8000, 16000, 22050, 24000, 44100, 48000]
segments = []
with tempfile.TemporaryDirectory() as tmp:
    for rate in rates:
        path = os.path.join(tmp, f"noise-{rate}.wav")
        rng = np.random.default_rng(rate)
        sf.write(path, (rng.standard_normal(20 * rate) * 0.1).astype(np.float32), rate, subtype="FLOAT")
        recording = lhotse.Recording.from_file(path)
        for start, duration in spans:
            offset, count = compute_num_samples(start, rate), compute_num_samples(duration, rate)
            cut = lhotse.MonoCut(id="c", start=start, duration=duration, channel=0, recording=recording)
            audio = cut.load_audio()[0]
            whole, _ = sf.read(path, dtype=np.float32)
            assert audio.shape[0] == count, (rate, start, duration, audio.shape, count)
            assert np.array_equal(audio, whole[offset:offset + count]), (rate, start, duration)
            segments.append({"rate": rate, "start": start, "duration": duration, "offset": offset, "count": count})

    ramp = (np.arange(4000, dtype=np.float32) / 4000.0 - 0.5).astype(np.float32)
    overrun_path = os.path.join(out, "overrun.wav")
    sf.write(overrun_path, ramp, 8000, subtype="FLOAT")
    recording = lhotse.Recording.from_file(overrun_path)
    cut = lhotse.MonoCut(id="overrun", start=0.3, duration=0.4, channel=0, recording=recording)
    padded = cut.load_audio()[0]
    assert padded.shape[0] == 3200

with open(os.path.join(out, "segments.json"), "w") as f:
    json.dump({"segments": segments,
               "overrun": {"file": "overrun.wav", "start": 0.3, "duration": 0.4, "samples": padded.tolist()}}, f)
with open(os.path.join(out, "PROVENANCE.json"), "w") as f:
    json.dump({"script": "scripts/reference/make_lhotse_fixtures.py", "lhotse": lhotse.__version__,
               "numpy": np.__version__, "soundfile": sf.__version__}, f, indent=1)
print(f"{len(segments)} segments checked against MonoCut.load_audio; overrun pad {padded.shape[0] - 1600} samples")
