"""Fixtures for the original X-Codec2 checkpoint layout (the one `HKUSTAudio/xcodec2` ships) and its conversion.

The model is built from the original modules of the `xcodec2==0.1.5` sdist (`vq/codec_encoder.py`,
`vq/codec_decoder_vocos.py`, `vq/module.py`), at a small size, with random weights whose SnakeBeta alpha and beta
are far from their zero init (a dropped beta would otherwise be invisible). Its `state_dict()` is written twice:

- `tiny-original-torch/`: as current torch saves it (weight norm as `parametrizations.weight.original0/1`,
  SnakeBeta's beta as `act.bias`, the pip package's name), as fine-tuned checkpoints ship;
- `tiny-original-hub/`: as the Hub file names it (`weight_g`/`weight_v`, `act.beta`);

both with the persistent buffers (filters, window) and one w2v-BERT layer past the 16 the codec reads. The same
weights are then converted to the Transformers layout the way transformers' `convert_xcodec2_checkpoint.py` does it
(names mapped to the 5.24.0 modules, `att.c_attn` split into q/k/v with q and k permuted for RoPE, weight norm folded
by torch's own `remove_weight_norm`, buffers and unused semantic layers dropped) and the converted model's codes and
decode of every clip are written to `expected/tiny-original/`, with the converted tensors that are computed rather
than renamed (`converted-weights.safetensors`: the folds, q, k and v). The original code's
own `encode_code` must give the same codes (checked here), so the conversion is checked against the original too.

Rerun (from the repo root, in the venv of requirements.txt; needs the clips of make_codec_fixtures.py):
    python scripts/reference/make_original_layout_fixtures.py
The full-size original and its conversion (5.8 GB, never committed), for memory and agreement checks:
    python scripts/reference/make_original_layout_fixtures.py --full-size /work/models/xcodec2-original
"""
import importlib.util
import json
import math
import re
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn as nn
from safetensors.torch import save_file
from transformers import (SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel, Xcodec2Config,
                          Xcodec2FeatureExtractor, Xcodec2Model)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "CodecTests" / "Fixtures"
SDIST = "xcodec2==0.1.5"
MIN_MARGIN = 1e-4
USED_SEMANTIC_LAYERS = 16  # the original reads hidden_states[16] of w2v-BERT 2.0 (24 layers)

# Small, but every dimension rule of the original holds: hop 2*2*4*4*5 = 320, decoder heads of 64 (pos_meb_dim),
# vq_dim = semantic + acoustic width, 8 FSQ levels of 4, w2v-BERT's 64/8 relative positions.
SEMANTIC = dict(hidden_size=32, num_hidden_layers=USED_SEMANTIC_LAYERS + 1, num_attention_heads=2,
                intermediate_size=48, conv_depthwise_kernel_size=7, left_max_position_embeddings=64,
                right_max_position_embeddings=8)
NGF = 2
HIDDEN = 128
DEPTH = 2


def original_package(cache: Path):
    """The sdist's modules, importable; torchtune's RoPE module is loaded by itself (its package root pulls in
    torchao versions that no longer match)."""
    root = cache / "xcodec2-0.1.5"
    if not root.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", SDIST,
                        "-d", str(cache)], check=True)
        with tarfile.open(cache / "xcodec2-0.1.5.tar.gz") as archive:
            archive.extractall(cache, filter="data")
    rope_file = Path(importlib.util.find_spec("torchtune").submodule_search_locations[0]) / "modules" / "position_embeddings.py"
    spec = importlib.util.spec_from_file_location("torchtune_position_embeddings", rope_file)
    rope = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rope)
    torchtune = types.ModuleType("torchtune")
    modules = types.ModuleType("torchtune.modules")
    modules.RotaryPositionalEmbeddings = rope.RotaryPositionalEmbeddings
    torchtune.modules = modules
    sys.modules.setdefault("torchtune", torchtune)
    sys.modules.setdefault("torchtune.modules", modules)
    sys.path.insert(0, str(root))
    from xcodec2.modeling_xcodec2 import XCodec2Model
    from xcodec2.vq.codec_decoder_vocos import CodecDecoderVocos
    from xcodec2.vq.codec_encoder import CodecEncoder_Transformer
    from xcodec2.vq.module import SemanticEncoder
    return XCodec2Model, CodecEncoder_Transformer, CodecDecoderVocos, SemanticEncoder


# The sizes XCodec2Model hard-codes: w2v-BERT 2.0 (Wav2Vec2BertConfig's defaults, 24 layers), ngf 48, 1024 wide,
# 12 decoder layers.
FULL_SIZE = dict(semantic=dict(), ngf=48, hidden=1024, depth=12)


class TinyOriginal(nn.Module):
    """`XCodec2Model`'s module tree with the given sizes (the original hard-codes the full ones); its encode_code and
    decode_code are the original methods, called on this object."""

    def __init__(self, package, semantic=SEMANTIC, ngf=NGF, hidden=HIDDEN, depth=DEPTH):
        super().__init__()
        _, CodecEncoder_Transformer, CodecDecoderVocos, SemanticEncoder = package
        semantic_config = Wav2Vec2BertConfig(**semantic, output_hidden_states=True)
        hs = semantic_config.hidden_size
        self.semantic_model = Wav2Vec2BertModel(semantic_config).eval()
        self.SemanticEncoder_module = SemanticEncoder(hs, hs, hs)
        self.CodecEnc = CodecEncoder_Transformer(ngf=ngf, hidden_dim=hidden)
        self.generator = CodecDecoderVocos(hidden_dim=hidden, depth=depth, heads=hidden // 64, pos_meb_dim=64,
                                           vq_dim=hs + hidden)
        self.fc_prior = nn.Linear(hs + hidden, hs + hidden)
        self.fc_post_a = nn.Linear(hs + hidden, hidden)
        # w2v-BERT 2.0's preprocessor settings (facebook/w2v-bert-2.0 preprocessor_config.json).
        self.feature_extractor = SeamlessM4TFeatureExtractor(feature_size=80, num_mel_bins=80, sampling_rate=16000,
                                                             stride=2, padding_value=1.0)

    @property
    def device(self):
        return torch.device("cpu")


def randomise(model: nn.Module, seed: int) -> None:
    """Weights at scales that keep every stage alive; SnakeBeta's log-scale alpha and beta spread around 0 as trained
    ones do (beta is named `bias` in the pip package); weight-norm magnitudes near the directions' norms."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("original0"):
                continue  # g, set from v below
            if name.endswith("act.alpha") or name.endswith("act.bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        for name, module in model.named_modules():
            parametrizations = getattr(module, "parametrizations", None)
            if parametrizations is not None and "weight" in parametrizations:
                g, v = parametrizations.weight.original0, parametrizations.weight.original1
                norms = v.flatten(1).norm(dim=1).reshape(g.shape)
                g.copy_(norms * (1 + 0.3 * torch.rand(g.shape, generator=gen)))
        quantizer = model.generator.quantizer
        quantizer.project_in.weight.div_(10.0)
        quantizer.project_in.bias.zero_()


def hub_names(state: dict) -> dict:
    """The Hub file's names for the same tensors: old-style weight norm, SnakeBeta's beta as `beta`."""
    renamed = {}
    for key, tensor in state.items():
        key = key.replace(".parametrizations.weight.original0", ".weight_g")
        key = key.replace(".parametrizations.weight.original1", ".weight_v")
        key = re.sub(r"\.act\.bias$", ".act.beta", key)
        renamed[key] = tensor
    return renamed


# Original name -> Transformers 5.24.0 name, applied in order (after the weight-norm and beta renames).
MAPPING = [
    (r"^semantic_model\.", "semantic_encoder."),
    (r"^SemanticEncoder_module\.initial_conv\.", "semantic_adapter.conv1."),
    (r"^SemanticEncoder_module\.residual_blocks\.1\.", "semantic_adapter.conv2."),
    (r"^SemanticEncoder_module\.residual_blocks\.3\.", "semantic_adapter.conv3."),
    (r"^SemanticEncoder_module\.final_conv\.", "semantic_adapter.conv4."),
    (r"^CodecEnc\.conv_blocks\.0\.", "acoustic_encoder.conv1."),
    (r"^CodecEnc\.conv_final_block\.0\.", "acoustic_encoder.snake1."),
    (r"^CodecEnc\.conv_final_block\.1\.", "acoustic_encoder.conv2."),
    (r"^CodecEnc\.conv_blocks\.(\d+)\.block\.([0-2])\.block\.0\.", lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.res_unit{int(m[2]) + 1}.snake1."),
    (r"^CodecEnc\.conv_blocks\.(\d+)\.block\.([0-2])\.block\.1\.", lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.res_unit{int(m[2]) + 1}.conv1."),
    (r"^CodecEnc\.conv_blocks\.(\d+)\.block\.([0-2])\.block\.2\.", lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.res_unit{int(m[2]) + 1}.snake2."),
    (r"^CodecEnc\.conv_blocks\.(\d+)\.block\.([0-2])\.block\.3\.", lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.res_unit{int(m[2]) + 1}.conv2."),
    (r"^CodecEnc\.conv_blocks\.(\d+)\.block\.3\.", lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.snake1."),
    (r"^CodecEnc\.conv_blocks\.(\d+)\.block\.4\.", lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.conv1."),
    (r"^fc_prior\.", "fc_encoder."),
    (r"^fc_post_a\.", "acoustic_decoder.fc."),
    (r"^generator\.quantizer\.project_(in|out)\.", r"quantizer.project_\1."),
    (r"^generator\.backbone\.embed\.", "acoustic_decoder.embed."),
    (r"^generator\.backbone\.(prior_net|post_net)\.", r"acoustic_decoder.\1."),
    (r"^generator\.backbone\.final_layer_norm\.", "acoustic_decoder.norm."),
    (r"^generator\.backbone\.transformers\.(\d+)\.att_norm\.", r"acoustic_decoder.layers.\1.input_layernorm."),
    (r"^generator\.backbone\.transformers\.(\d+)\.ffn_norm\.", r"acoustic_decoder.layers.\1.post_attention_layernorm."),
    (r"^generator\.backbone\.transformers\.(\d+)\.att\.c_proj\.", r"acoustic_decoder.layers.\1.self_attn.o_proj."),
    (r"^generator\.backbone\.transformers\.(\d+)\.mlp\.", r"acoustic_decoder.layers.\1.mlp."),
    (r"^generator\.head\.out\.", "acoustic_decoder.head.linear."),
]


def permute_for_rope(tensor: torch.Tensor, heads: int) -> torch.Tensor:
    """transformers' convert_xcodec2_checkpoint.permute_for_rope: interleaved RoPE pairs to rotate-half order."""
    rows, cols = tensor.shape
    return tensor.view(heads, rows // heads // 2, 2, cols).transpose(1, 2).reshape(rows, cols)


def to_transformers(state: dict, model: Xcodec2Model) -> dict:
    heads = model.config.num_attention_heads
    converted = {}
    for key, tensor in state.items():
        if key.endswith(("upsample.filter", "lowpass.filter", "istft.window")):
            continue  # buffers the model recomputes
        layer = re.match(r"^semantic_model\.encoder\.layers\.(\d+)\.", key)
        if layer and int(layer[1]) >= USED_SEMANTIC_LAYERS:
            continue
        attention = re.match(r"^generator\.backbone\.transformers\.(\d+)\.att\.c_attn\.weight$", key)
        if attention:
            q, k, v = torch.chunk(tensor, 3, dim=0)
            prefix = f"acoustic_decoder.layers.{attention[1]}.self_attn."
            converted[prefix + "q_proj.weight"] = permute_for_rope(q, heads)
            converted[prefix + "k_proj.weight"] = permute_for_rope(k, heads)
            converted[prefix + "v_proj.weight"] = v
            continue
        new = key.replace(".parametrizations.weight.original0", ".weight_g")
        new = new.replace(".parametrizations.weight.original1", ".weight_v")
        new = re.sub(r"\.act\.bias$", ".act.beta", new)
        for pattern, replacement in MAPPING:
            new = re.sub(pattern, replacement, new)
        converted[new] = tensor
    return converted


def weight_normed_convs(model: Xcodec2Model):
    encoder = model.acoustic_encoder
    yield encoder.conv1
    for block in encoder.block:
        for unit in (block.res_unit1, block.res_unit2, block.res_unit3):
            yield unit.conv1
            yield unit.conv2
        yield block.conv1
    yield encoder.conv2


@torch.no_grad()
def convert(state: dict, semantic=SEMANTIC, ngf=NGF, hidden=HIDDEN, depth=DEPTH) -> Xcodec2Model:
    hs = Wav2Vec2BertConfig(**semantic).hidden_size
    config = Xcodec2Config(
        hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=depth, num_attention_heads=hidden // 64,
        num_key_value_heads=hidden // 64, head_dim=64, encoder_hidden_size=ngf, quantization_dim=hs + hidden,
        semantic_model_config=dict(semantic, model_type="wav2vec2-bert", num_hidden_layers=USED_SEMANTIC_LAYERS))
    model = Xcodec2Model(config).eval()
    # As the conversion script: weight norm on the target's convs, load g and v, fold with torch.
    for conv in weight_normed_convs(model):
        nn.utils.weight_norm(conv)
    converted = to_transformers(state, model)
    expected = set(model.state_dict())
    extra, missing = set(converted) - expected, expected - set(converted)
    assert not extra and not missing, f"extra {sorted(extra)[:5]} missing {sorted(missing)[:5]}"
    model.load_state_dict(converted, strict=True)
    for conv in weight_normed_convs(model):
        nn.utils.remove_weight_norm(conv)
    return model


def margin(model: Xcodec2Model, extractor, audio) -> float:
    inputs = extractor(audio, sampling_rate=16000, return_tensors="pt")
    semantic = model.semantic_encoder(inputs["input_features"], attention_mask=inputs["input_features_mask"])
    adapted = model.semantic_adapter(semantic.last_hidden_state.transpose(1, 2))
    acoustic = model.acoustic_encoder(inputs["input_values"])
    fused = model.fc_encoder(torch.cat([adapted, acoustic], dim=1).transpose(1, 2))
    fsq = model.quantizer.quantizer
    bounded = fsq.bound(fsq.bound(model.quantizer.project_in(fused)))
    return float((bounded - bounded.floor() - 0.5).abs().min())


def snr(reference: torch.Tensor, other: torch.Tensor) -> float:
    noise = (reference - other).pow(2).sum().item()
    return float("inf") if noise == 0 else 10 * math.log10(reference.pow(2).sum().item() / noise)


def config_json(path: Path, semantic_hidden=SEMANTIC["hidden_size"], hidden=HIDDEN) -> None:
    """The original config.json keys (BigCodecConfig); the sizes the original code hard-codes are read from the
    tensors."""
    path.write_text(json.dumps({
        "architectures": ["XCodec2Model"], "model_type": "xcodec2", "semantic_hidden_size": semantic_hidden,
        "codec_encoder_hidden_size": hidden, "codec_decoder_hidden_size": hidden, "use_vocos": True,
        "torch_dtype": "float32"}, indent=2) + "\n")


@torch.no_grad()
def full_size(out: Path) -> None:
    """The full-size original (3.3 GB, Hub names) and its conversion (2.5 GB) under `out`, for the memory and agreement
    figures; never committed."""
    torch.set_num_threads(2)
    package = original_package(Path(tempfile.gettempdir()) / "xcodec2-sdist")
    torch.manual_seed(11)
    original = TinyOriginal(package, **FULL_SIZE).eval()
    randomise(original, 11)
    state = {k: v.contiguous() for k, v in original.state_dict().items()}
    (out / "original").mkdir(parents=True, exist_ok=True)
    save_file(hub_names(state), out / "original" / "model.safetensors", metadata={"format": "pt"})
    config_json(out / "original" / "config.json", 1024, 1024)
    model = convert(state, **FULL_SIZE)
    model.save_pretrained(out / "converted")
    Xcodec2FeatureExtractor(sampling_rate=16000, hop_length=320).save_pretrained(out / "converted")
    print(f"wrote {out}/original and {out}/converted")


@torch.no_grad()
def main() -> None:
    torch.set_num_threads(2)
    package = original_package(Path(tempfile.gettempdir()) / "xcodec2-sdist")
    XCodec2Model = package[0]
    clips = {path.stem: sf.read(path, dtype="float32")[0] for path in sorted((FIXTURES / "clips").glob("*.wav"))}
    extractor = Xcodec2FeatureExtractor(sampling_rate=16000, hop_length=320)
    for seed in range(300, 350):
        torch.manual_seed(seed)
        original = TinyOriginal(package).eval()
        randomise(original, seed)
        state = {k: v.contiguous() for k, v in original.state_dict().items()}
        model = convert(state)
        margins = {name: margin(model, extractor, audio) for name, audio in clips.items()}
        if min(margins.values()) >= MIN_MARGIN:
            break
    else:
        raise SystemExit(f"no seed with rounding margin >= {MIN_MARGIN}")

    expected_dir = FIXTURES / "expected" / "tiny-original"
    expected_dir.mkdir(parents=True, exist_ok=True)
    report = {}
    for name, audio in clips.items():
        inputs = extractor(audio, sampling_rate=16000, return_tensors="pt")
        codes = model.encode(**inputs).audio_codes
        # The original code, verbatim, on the same weights: the conversion must not change a code.
        original_codes = XCodec2Model.encode_code(original, torch.from_numpy(audio)[None])
        assert torch.equal(original_codes[0, 0].to(torch.int64), codes[0, 0].to(torch.int64)), f"{name}: original codes differ"
        tensors = {"codes": codes[0, 0].to(torch.float32).contiguous()}
        entry = {"frames": codes.shape[-1], "distinct_codes": len(set(codes[0, 0].tolist())),
                 "min_rounding_margin": margins[name]}
        if codes.shape[-1] > 1:  # GroupNorm cannot take one frame
            decoded = model.decode(audio_codes=codes).audio_values[0, 0]
            original_audio = XCodec2Model.decode_code(original, original_codes)[0, 0]
            entry["decode_snr_original_vs_converted_db"] = snr(decoded, original_audio[: decoded.numel()])
            tensors["decoded"] = decoded.contiguous()
        save_file(tensors, expected_dir / f"{name}.safetensors")
        report[name] = entry

    models = FIXTURES / "models"
    layouts = {"tiny-original-torch": state, "tiny-original-hub": hub_names(state)}
    for folder, tensors in layouts.items():
        out = models / folder
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            old.unlink()
        save_file(tensors, out / "model.safetensors", metadata={"format": "pt"})
        config_json(out / "config.json")
    # The converted tensors that are computed rather than renamed (weight-norm folds, RoPE-permuted q/k, v), so that
    # the loader's own conversion is checked bit for bit; every other tensor is the original's, renamed.
    derived = {k: v.contiguous() for k, v in model.state_dict().items()
               if re.search(r"self_attn\.[qkv]_proj\.weight$", k)
               or (k.startswith("acoustic_encoder.") and re.search(r"conv\d\.weight$", k))}
    save_file(derived, expected_dir / "converted-weights.safetensors")

    provenance = {
        "script": "scripts/reference/make_original_layout_fixtures.py",
        "stack": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                  "original_code": SDIST, "vector_quantize_pytorch": __import__("vector_quantize_pytorch").__version__
                  if hasattr(__import__("vector_quantize_pytorch"), "__version__") else "1.17.8",
                  "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()},
        "seed": seed, "sizes": {"semantic": SEMANTIC, "ngf": NGF, "hidden": HIDDEN, "depth": DEPTH},
        "weight_norm_fold": "torch.nn.utils.remove_weight_norm on CPU: ATen's fused first-dim kernel, registered for "
                            "AVX2 (8 float lanes) also where the CPU capability is AVX512",
        "clips": report,
    }
    (FIXTURES / "PROVENANCE-original-layout.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps(provenance, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--full-size":
        full_size(Path(sys.argv[2]))
    else:
        main()
