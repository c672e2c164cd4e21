"""Write the full-size X-Codec2 architecture (Transformers' default Xcodec2Config, 16 semantic layers) with
random weights, ~2.5 GB, to a folder outside the repo. Never commit it.

    /opt/refvenv/bin/python scripts/reference/make_full_size_model.py /work/models/xcodec2-random
"""
import sys
from pathlib import Path

import torch

from common import make_model


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/models/xcodec2-random")
    torch.set_num_threads(2)
    model, extractor = make_model(None, seed=7)
    model.save_pretrained(out)
    extractor.save_pretrained(out)
    print(f"wrote {out} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters)")


if __name__ == "__main__":
    main()
