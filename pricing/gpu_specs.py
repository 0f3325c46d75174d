"""GPU spec table and the mapping from each provider's GPU names to one canonical id.

Providers name one GPU many ways: RunPod "NVIDIA H100 80GB HBM3", Vast.ai "H100 SXM",
Lambda "gpu_8x_h100_sxm5", TensorDock "h100-sxm5-80gb", Paperspace "A100-80Gx8", Akash "h100".
``canonical_gpu`` reduces a name to a compact key (no vendor words, memory size, memory type,
form factor or GPU count) and looks that key up **exactly**: no prefix or fuzzy matching, so
"RTX 4090" can never become "RTX 4080", "A10" never "A100", "L40" never "L40S", and an unknown
card ("RTX 3080 Ti", "Quadro RTX 6000", "H200 NVL") is None rather than a wrong neighbour.

The few models sold in variants that change the spec row are resolved from extra evidence:
A100 and V100 by VRAM (from the name, else ``vram_gb``), H100 by form factor (SXM / PCIe, or
HBM3 = SXM, HBM2e = PCIe). Without that evidence they are None: a wrong row would mis-rank
offers by $/TFLOP-h, which is worse than leaving one unmatched.
"""

import re
from typing import NamedTuple

from pricing.gpu_specs_data import SPECS, GpuSpec

__all__ = ["GPU_SPECS", "GpuSpec", "canonical_gpu"]

GPU_SPECS: dict[str, GpuSpec] = {spec.id: spec for spec in SPECS}

# Compact keys (lowercase alphanumerics, after the clean-up in _parse) per canonical id.
_ALIASES: dict[str, tuple[str, ...]] = {
    "b200": ("b200",),
    "b100": ("b100",),
    "h200-sxm": ("h200",),
    "h100-nvl": ("h100nvl",),
    "gh200": ("gh200",),
    "l40s": ("l40s",),
    "l40": ("l40",),
    "l4": ("l4",),
    "a10": ("a10",),
    "a10g": ("a10g",),
    "a16": ("a16",),
    "a30": ("a30",),
    "a40": ("a40",),
    "t4": ("t4",),
    "p100": ("p100",),
    "rtx-a6000": ("rtxa6000", "a6000"),
    "rtx-a5000": ("rtxa5000", "a5000"),
    "rtx-a4000": ("rtxa4000", "a4000"),
    # Never plain "rtx6000": that is also the 2018 Quadro RTX 6000 (Lambda's gpu_1x_rtx6000).
    "rtx-6000-ada": ("rtx6000ada", "rtx6000adageneration"),
    "rtx-pro-6000": (
        "rtxpro6000",
        "rtxpro6000blackwell",
        "rtxpro6000ws",
        "rtxpro6000s",
        "rtxpro6000blackwellserveredition",
        "rtxpro6000blackwellworkstationedition",
    ),
    "rtx-5090": ("rtx5090",),
    "rtx-5080": ("rtx5080",),
    "rtx-4090": ("rtx4090",),
    "rtx-4080": ("rtx4080",),
    "rtx-3090": ("rtx3090",),
    "rtx-3080": ("rtx3080",),
    "mi325x": ("mi325x",),
    "mi300x": ("mi300x",),
    "mi250": ("mi250",),
}

_BY_VRAM: dict[str, dict[float, str]] = {
    "a100": {40: "a100-40gb", 80: "a100-80gb"},
    "v100": {16: "v100-16gb", 32: "v100-32gb"},
}
_VRAM_TOLERANCE = 0.2  # reported VRAM is often GiB or slightly under the marketing figure
_H100_BY_FORM = {"sxm": "h100-sxm", "pcie": "h100-pcie"}
_H100_BY_MEMORY = {"hbm3": "h100-sxm", "hbm2e": "h100-pcie"}  # RunPod: "NVIDIA H100 80GB HBM3"

_VENDOR_PREFIXES = ("nvidia", "amd", "geforce", "tesla", "instinct", "radeon")
_LAMBDA_PREFIX = re.compile(r"^gpu_\d+x_")  # gpu_8x_h100_sxm5
_COUNT_PREFIX = re.compile(r"^\d+\s*x[\s_]+")  # "8x H100 (80 GB SXM5)"
_COUNT_SUFFIX = re.compile(r"(?<=[a-z0-9])x\d{1,2}$")  # Paperspace "A100-80Gx8"
_MEMORY_SIZE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*(?:gib|gb|g)(?![a-z0-9])")
_MEMORY_TYPE = re.compile(r"\b(hbm\d?e?|gddr\d+x?)\b")
_NOISE_WORDS = re.compile(r"\b(?:tensor\s*core|gpu)\b")
_FORM = re.compile(r"sxm\d*|pcie|oam")


class _Parsed(NamedTuple):
    key: str
    form: str | None
    vram_gb: float | None
    memory_type: str | None


def _build_alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for gpu_id, keys in _ALIASES.items():
        if gpu_id not in GPU_SPECS:
            raise ValueError(f"alias target {gpu_id!r} is not in GPU_SPECS")
        for key in keys:
            if key in index or key in _BY_VRAM or key == "h100":
                raise ValueError(f"GPU alias {key!r} is ambiguous")
            index[key] = gpu_id
    return index


_ALIAS_INDEX = _build_alias_index()


def _strip_count(text: str) -> str:
    text = _LAMBDA_PREFIX.sub("", text)
    text = _COUNT_PREFIX.sub("", text)
    return _COUNT_SUFFIX.sub("", text)


def _take_memory(text: str) -> tuple[str, float | None, str | None]:
    """Remove memory size and type from the name, keeping both as evidence."""
    size = _MEMORY_SIZE.search(text)
    mem_type = _MEMORY_TYPE.search(text)
    vram = float(size.group(1)) if size else None
    memory_type = mem_type.group(1) if mem_type else None
    return _MEMORY_TYPE.sub(" ", _MEMORY_SIZE.sub(" ", text)), vram, memory_type


def _strip_vendors(compact: str) -> str:
    """Vendor and brand words lead the name ("amdinstinctmi300x", "nvidiageforcertx4090")."""
    stripped = True
    while stripped:
        stripped = False
        for prefix in _VENDOR_PREFIXES:
            if compact.startswith(prefix) and len(compact) > len(prefix):
                compact, stripped = compact[len(prefix) :], True
    return compact


def _take_form(compact: str) -> tuple[str, str | None] | None:
    """Form factor out of the key; None when a name claims two (nonsense, so unmatched)."""
    forms = {"sxm" if found.startswith("sxm") else found for found in _FORM.findall(compact)}
    forms.discard("oam")  # AMD's OAM is the only MI300X/MI325X form; it changes nothing
    if len(forms) > 1:
        return None
    return _FORM.sub("", compact), next(iter(forms), None)


def _parse(raw_name: str) -> _Parsed | None:
    text = _NOISE_WORDS.sub(" ", _strip_count(raw_name.strip().lower()))
    text, vram, memory_type = _take_memory(text)
    compact = _strip_vendors(re.sub(r"[^a-z0-9]", "", text))
    with_form = _take_form(compact)
    if with_form is None:
        return None
    return _Parsed(with_form[0], with_form[1], vram, memory_type)


def _closest_by_vram(variants: dict[float, str], vram_gb: float | None) -> str | None:
    if vram_gb is None:
        return None
    size, gpu_id = min(variants.items(), key=lambda item: abs(item[0] - vram_gb))
    return gpu_id if abs(size - vram_gb) <= _VRAM_TOLERANCE * size else None


def _resolve_h100(parsed: _Parsed, vram_gb: float | None) -> str | None:
    if parsed.form:
        return _H100_BY_FORM[parsed.form]
    if parsed.memory_type in _H100_BY_MEMORY:
        return _H100_BY_MEMORY[parsed.memory_type]
    if vram_gb is not None and 90 <= vram_gb <= 96:  # only the NVL part has 94 GB
        return "h100-nvl"
    return None


def canonical_gpu(raw_name: str, *, vram_gb: float | None = None) -> str | None:
    """The ``GPU_SPECS`` id for a provider's GPU name, or None when it is not known for sure.

    ``vram_gb`` (per GPU) only decides between variants; memory written in the name wins over it.
    """
    if not raw_name or not raw_name.strip():
        return None
    parsed = _parse(raw_name)
    if parsed is None:
        return None
    vram = parsed.vram_gb if parsed.vram_gb is not None else vram_gb
    if parsed.key in _ALIAS_INDEX:
        return _ALIAS_INDEX[parsed.key]
    if parsed.key in _BY_VRAM:
        return _closest_by_vram(_BY_VRAM[parsed.key], vram)
    if parsed.key == "h100":
        return _resolve_h100(parsed, vram)
    return None
