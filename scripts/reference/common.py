"""Shared helpers for the reference scripts: model configs, weight randomisation, clip synthesis."""
import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from transformers import Xcodec2Config, Xcodec2FeatureExtractor, Xcodec2Model

# Two small configs of different shapes (every dimension differs) and the full-size one.
SMALL_CONFIGS = {
    "tiny-a": dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, head_dim=8, encoder_hidden_size=2, downsampling_ratios=[2, 2, 4, 4, 5],
        quantization_dim=64,
        semantic_model_config=dict(
            model_type="wav2vec2-bert", hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=64, conv_depthwise_kernel_size=31, left_max_position_embeddings=64,
            right_max_position_embeddings=8,
        ),
    ),
    "tiny-b": dict(
        hidden_size=64, intermediate_size=96, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, head_dim=32, encoder_hidden_size=3, downsampling_ratios=[4, 4, 4, 5],
        quantization_dim=112,
        semantic_model_config=dict(
            model_type="wav2vec2-bert", hidden_size=48, num_hidden_layers=3, num_attention_heads=2,
            intermediate_size=80, conv_depthwise_kernel_size=15, left_max_position_embeddings=20,
            right_max_position_embeddings=5,
        ),
    ),
}

SENTENCES = [
    ("en-us", 150, "The quick brown fox jumps over the lazy dog while the band keeps playing."),
    ("en-gb", 170, "Speech corpora are turned into discrete tokens so that a language model can learn to talk."),
    ("en-us+f3", 130, "She sells sea shells by the sea shore, and the shells she sells are surely sea shells."),
]


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Random weights at a scale that keeps activations alive through every stage, so codes vary."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            elif name.endswith(".alpha") or name.endswith(".beta"):
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        # The fused features are large (the acoustic branch grows through its residual units); scale the
        # FSQ input projection so pre-quantisation values are O(1) and the codes spread over the codebook
        # instead of saturating the tanh bound.
        fused_scale = 10.0
        model.quantizer.project_in.weight.div_(fused_scale)
        model.quantizer.project_in.bias.zero_()


def make_model(config_kwargs: dict | None, seed: int, half: bool = False) -> tuple[Xcodec2Model, Xcodec2FeatureExtractor]:
    """A random-weight model; with `half`, weights are rounded to float16 (computation stays float32)."""
    config = Xcodec2Config(**config_kwargs) if config_kwargs is not None else Xcodec2Config()
    torch.manual_seed(seed)
    model = Xcodec2Model(config).eval()
    randomise(model, seed)
    if half:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    extractor = Xcodec2FeatureExtractor(sampling_rate=config.sampling_rate, hop_length=config.hop_length)
    return model, extractor


def synthesise(text: str, voice: str, speed: int, out: Path) -> np.ndarray:
    """espeak-ng speech, resampled to 16 kHz mono 16-bit by sox (no dither, so reruns are identical)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
        subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 16000
    return audio

PARAGRAPHS = [
    "It was a bright cold day in April, and the clocks were striking thirteen. The hallway smelt of boiled "
    "cabbage and old rag mats. At one end of it a coloured poster, too large for indoor display, had been tacked "
    "to the wall. It depicted simply an enormous face, more than a metre wide.",
    "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, and "
    "nothing particular to interest me on shore, I thought I would sail about a little and see the watery part "
    "of the world. It is a way I have of driving off the spleen and regulating the circulation.",
    "In the beginning the universe was created. This has made a lot of people very angry and been widely "
    "regarded as a bad move. Far out in the uncharted backwaters of the unfashionable end of the western spiral "
    "arm of the galaxy lies a small unregarded yellow sun.",
    "The train left the station at seven forty two, carrying three hundred and eleven passengers, two dogs and a "
    "crate of oranges bound for the market in the next valley, where the river bends twice before it meets the sea.",
    "Numbers are read aloud in many ways: nineteen eighty four, one thousand nine hundred and eighty four, or "
    "simply one nine eight four. Each of these must still become a clean sequence of speech tokens.",
    "Whether the weather be fine, or whether the weather be not, whether the weather be cold, or whether the "
    "weather be hot, we will weather the weather, whatever the weather, whether we like it or not.",
]
VOICES = [("en-us", 160), ("en-gb", 150), ("en-us+f3", 140), ("en-us+m3", 175), ("en-gb+f2", 155), ("en-us+f4", 165)]


def long_clips(out_dir: Path) -> dict[str, Path]:
    """Six 15-30 s espeak-ng clips (about two and a half minutes together)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clips = {}
    for index, (text, (voice, speed)) in enumerate(zip(PARAGRAPHS, VOICES)):
        path = out_dir / f"long{index}.wav"
        synthesise(text, voice, speed, path)
        clips[path.stem] = path
    return clips
