"""Time the Transformers reference encode (feature extractor + Xcodec2Model.encode, fp32) and decode
(Xcodec2Model.decode of those codes) on the first SECONDS of an audio file: one warm-up, then RUNS timed runs;
prints one JSON line with the medians.

    /opt/refvenv/bin/python scripts/reference/bench_reference.py MODEL_DIR AUDIO SECONDS [RUNS] [THREADS]
"""
import json
import statistics
import sys
import time

import soundfile as sf
import torch
from transformers import Xcodec2FeatureExtractor, Xcodec2Model


def main() -> None:
    model_dir, audio_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    torch.set_num_threads(threads)
    model = Xcodec2Model.from_pretrained(model_dir).eval()
    extractor = Xcodec2FeatureExtractor.from_pretrained(model_dir)
    audio, rate = sf.read(audio_path, dtype="float32")
    audio = audio[: int(seconds * rate)]
    assert len(audio) == int(seconds * rate), "audio shorter than the requested seconds"
    times, decode_times = [], []
    for run in range(runs + 1):
        start = time.perf_counter()
        with torch.no_grad():
            inputs = extractor(audio, sampling_rate=rate, return_tensors="pt")
            codes = model.encode(**inputs).audio_codes
        middle = time.perf_counter()
        with torch.no_grad():
            model.decode(codes)
        if run > 0:
            times.append(middle - start)
            decode_times.append(time.perf_counter() - middle)
    encode, decode = statistics.median(times), statistics.median(decode_times)
    print(json.dumps({"audio_seconds": seconds, "runs": runs, "threads": threads, "encode_seconds": encode,
                      "rtf": encode / seconds, "decode_seconds": decode, "decode_rtf": decode / seconds,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
