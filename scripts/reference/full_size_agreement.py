"""Full-size agreement: encode about two and a half minutes of espeak-ng speech with the Transformers
reference and with `tokenize-corpus codes` on the same random full-size model, and print the fraction of
identical codes. Not run by CI (needs the 2.5 GB model from make_full_size_model.py and ~10 minutes).

    /opt/refvenv/bin/python scripts/reference/full_size_agreement.py /work/models/xcodec2-random
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch
from transformers import Xcodec2FeatureExtractor, Xcodec2Model

from common import long_clips

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    model_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/models/xcodec2-random")
    binary = ROOT / ".build" / "release" / "tokenize-corpus"
    torch.set_num_threads(2)
    model = Xcodec2Model.from_pretrained(model_dir).eval()
    extractor = Xcodec2FeatureExtractor.from_pretrained(model_dir)
    total = same = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in long_clips(Path(tmp)).items():
            audio, rate = sf.read(path, dtype="float32")
            start = time.perf_counter()
            with torch.no_grad():
                inputs = extractor(audio, sampling_rate=rate, return_tensors="pt")
                reference = model.encode(**inputs).audio_codes[0, 0].tolist()
            ref_seconds = time.perf_counter() - start
            start = time.perf_counter()
            out = subprocess.run([str(binary), "codes", str(path), "--model", str(model_dir)],
                                 check=True, capture_output=True, text=True).stdout
            swift_seconds = time.perf_counter() - start
            ours = json.loads(out)["codes"]
            assert len(ours) == len(reference), (name, len(ours), len(reference))
            matches = sum(a == b for a, b in zip(ours, reference))
            total += len(reference)
            same += matches
            print(f"{name}: {len(audio) / rate:5.1f} s, {matches}/{len(reference)} codes identical, "
                  f"reference {ref_seconds:.1f} s, tokenize-corpus {swift_seconds:.1f} s (incl. model load)")
    print(f"agreement: {same}/{total} = {100 * same / total:.2f}% of frames identical")


if __name__ == "__main__":
    main()
