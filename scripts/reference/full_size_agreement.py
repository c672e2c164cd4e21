"""Full-size agreement: encode about two and a half minutes of espeak-ng speech with the Transformers
reference and with `tokenize-corpus codes` on the same random full-size model and print the fraction of
identical codes; then decode the reference codes with both and print the SNR of ours against the
reference waveform. Not run by CI (needs the 2.5 GB model from make_full_size_model.py and ~15 minutes).

    /opt/refvenv/bin/python scripts/reference/full_size_agreement.py /work/models/xcodec2-random
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
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
    signal = noise = 0.0
    decode_ref = decode_ours = audio_seconds = 0.0
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

            # Decode the reference codes with both.
            start = time.perf_counter()
            with torch.no_grad():
                ref_wave = model.decode(audio_codes=torch.tensor(reference)[None, None]).audio_values[0, 0].numpy()
            decode_ref += time.perf_counter() - start
            codes_json = Path(tmp) / f"{name}.json"
            codes_json.write_text(json.dumps({"codes": reference}))
            out_wav = Path(tmp) / f"{name}.decoded.wav"
            start = time.perf_counter()
            subprocess.run([str(binary), "decode", "--model", str(model_dir), "--codes", str(codes_json), "--out", str(out_wav)],
                           check=True)
            decode_ours += time.perf_counter() - start
            ours_wave, _ = sf.read(out_wav, dtype="float32")
            signal += float(np.sum(ref_wave.astype(np.float64) ** 2))
            noise += float(np.sum((ours_wave.astype(np.float64) - ref_wave) ** 2))
            audio_seconds += len(audio) / rate
    print(f"agreement: {same}/{total} = {100 * same / total:.2f}% of frames identical")
    print(f"decode SNR against the reference waveform: {10 * np.log10(signal / noise):.1f} dB")
    print(f"decode real-time factor: reference {decode_ref / audio_seconds:.3f}, "
          f"tokenize-corpus {decode_ours / audio_seconds:.3f} (incl. model load per clip)")


if __name__ == "__main__":
    main()
