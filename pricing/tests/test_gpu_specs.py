"""The GPU spec table (plausible, dense, reachable) and provider-name → canonical id mapping."""

import dataclasses
import re

import pytest

from pricing.gpu_specs import GPU_SPECS, GpuSpec, canonical_gpu
from pricing.gpu_specs_data import SPECS

REQUIRED = {
    "b200", "b100", "h200-sxm", "h100-sxm", "h100-pcie", "h100-nvl", "gh200", "a100-80gb",
    "a100-40gb", "l40s", "l40", "l4", "a10", "a10g", "a16", "a30", "a40", "rtx-a6000",
    "rtx-a5000", "rtx-a4000", "rtx-6000-ada", "rtx-5090", "rtx-5080", "rtx-4090", "rtx-4080",
    "rtx-3090", "rtx-3080", "v100-16gb", "v100-32gb", "t4", "p100", "mi300x", "mi250", "mi325x",
    "rtx-pro-6000",
}  # fmt: skip
GEFORCE = ("rtx-5090", "rtx-5080", "rtx-4090", "rtx-4080", "rtx-3090", "rtx-3080")


# --- The table -------------------------------------------------------------------------------


def test_table_has_every_required_model_once():
    assert len(GPU_SPECS) >= 30
    assert len(SPECS) == len(GPU_SPECS), "duplicate ids in SPECS"
    assert REQUIRED <= set(GPU_SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
def test_every_row_is_complete_and_plausible(spec):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", spec.id)
    assert spec.name and spec.architecture and spec.source
    assert spec.vendor in {"NVIDIA", "AMD"}
    assert 8 <= spec.vram_gb <= 300
    assert 150 <= spec.memory_bandwidth_gbs <= 10_000
    assert 4 <= spec.fp32_tflops <= 200
    assert 15 <= spec.fp16_tflops <= 2_500  # dense: even B200 is 2,250 (4,500 is sparse)
    assert spec.fp16_tflops >= spec.fp32_tflops


@pytest.mark.parametrize(
    "gpu_id, fp16, fp32, vram, bandwidth",
    [
        ("h100-sxm", 989, 67, 80, 3350),
        ("h100-pcie", 756, 51, 80, 2000),
        ("h200-sxm", 989, 67, 141, 4800),
        ("a100-80gb", 312, 19.5, 80, 1935),
        ("a100-40gb", 312, 19.5, 40, 1555),
        ("rtx-4090", 165, 82.6, 24, 1008),  # FP32-accumulate dense, not 330 (FP16 acc.)
        ("mi300x", 1307, 163.4, 192, 5300),
        ("b200", 2250, 75, 180, 8000),
        ("l40s", 362, 91.6, 48, 864),
        ("t4", 65, 8.1, 16, 320),
    ],
)
def test_anchor_figures_match_datasheets(gpu_id, fp16, fp32, vram, bandwidth):
    spec = GPU_SPECS[gpu_id]
    assert spec.fp16_tflops == pytest.approx(fp16, rel=0.01)
    assert spec.fp32_tflops == pytest.approx(fp32, rel=0.01)
    assert spec.vram_gb == vram
    assert spec.memory_bandwidth_gbs == pytest.approx(bandwidth, rel=0.01)


def test_relative_order_catches_transposed_figures():
    spec = GPU_SPECS
    assert spec["b200"].fp16_tflops > spec["h100-sxm"].fp16_tflops > spec["h100-nvl"].fp16_tflops
    assert spec["h100-nvl"].fp16_tflops > spec["h100-pcie"].fp16_tflops > spec["a100-80gb"].fp16_tflops
    assert spec["h200-sxm"].memory_bandwidth_gbs > spec["h100-sxm"].memory_bandwidth_gbs
    assert spec["l40s"].fp16_tflops == pytest.approx(2 * spec["l40"].fp16_tflops, rel=0.01)
    assert spec["a10"].fp16_tflops > spec["a10g"].fp16_tflops
    assert spec["mi325x"].vram_gb > spec["mi300x"].vram_gb > spec["mi250"].vram_gb


@pytest.mark.parametrize("gpu_id", GEFORCE)
def test_geforce_rows_use_the_fp32_accumulate_tensor_rate(gpu_id):
    # On GeForce, FP16 tensor with FP32 accumulate runs at exactly 2x the vector FP32 rate;
    # a row at 4x would be the FP16-accumulate figure, at 8x a sparse one.
    spec = GPU_SPECS[gpu_id]
    assert spec.fp16_tflops == pytest.approx(2 * spec.fp32_tflops, rel=0.01)


def test_spec_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GPU_SPECS["t4"].vram_gb = 32
    assert isinstance(GPU_SPECS["t4"], GpuSpec)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.id)
def test_every_row_is_reachable_from_its_display_name(spec):
    assert canonical_gpu(spec.name, vram_gb=spec.vram_gb) == spec.id
    assert canonical_gpu(f"{spec.vendor} {spec.name}", vram_gb=spec.vram_gb) == spec.id


# --- Name mapping ----------------------------------------------------------------------------

NAME_CASES = [
    # H100 family
    ("NVIDIA H100 80GB HBM3", None, "h100-sxm"),  # RunPod id: HBM3 at 80 GB is the SXM part
    ("H100 SXM", None, "h100-sxm"),  # Vast.ai
    ("H100_SXM5", None, "h100-sxm"),
    ("H100 SXM5 80GB", None, "h100-sxm"),
    ("h100-sxm5-80gb", None, "h100-sxm"),  # TensorDock v0 name
    ("gpu_8x_h100_sxm5", None, "h100-sxm"),  # Lambda instance type
    ("1x H100 (80 GB SXM5)", None, "h100-sxm"),  # Lambda description
    ("NVIDIA H100 PCIe", None, "h100-pcie"),
    ("H100 PCIE", None, "h100-pcie"),
    ("gpu_1x_h100_pcie", None, "h100-pcie"),
    ("H100 NVL", None, "h100-nvl"),
    ("NVIDIA H100 NVL", None, "h100-nvl"),
    ("H100", 94, "h100-nvl"),
    ("H200", None, "h200-sxm"),
    ("NVIDIA H200 141GB HBM3e", None, "h200-sxm"),
    ("GH200 480GB", None, "gh200"),
    ("gpu_1x_gh200", None, "gh200"),
    ("B200", None, "b200"),
    ("NVIDIA B200", None, "b200"),
    # A100 / V100: VRAM decides
    ("A100-SXM4-80GB", None, "a100-80gb"),
    ("NVIDIA A100-SXM4-80GB", None, "a100-80gb"),
    ("A100 80GB PCIe", None, "a100-80gb"),
    ("NVIDIA A100-SXM4-40GB", None, "a100-40gb"),
    ("A100", 40, "a100-40gb"),
    ("A100", 80, "a100-80gb"),
    ("A100 PCIE", 79.2, "a100-80gb"),  # Vast reports GiB-ish MB / 1024
    ("A100-80Gx8", None, "a100-80gb"),  # Paperspace machine type
    ("gpu_8x_a100_80gb_sxm4", None, "a100-80gb"),
    ("gpu_1x_a100_sxm4", 40, "a100-40gb"),
    ("A100 40GB", 80, "a100-40gb"),  # memory in the name wins over the hint
    ("Tesla V100-SXM2-16GB", None, "v100-16gb"),
    ("Tesla V100", 32, "v100-32gb"),
    ("V100-32G", None, "v100-32gb"),
    # Consumer and pro cards
    ("RTX 4090", None, "rtx-4090"),
    ("NVIDIA GeForce RTX 4090", None, "rtx-4090"),
    ("RTX_4090", None, "rtx-4090"),
    ("geforcertx4090-pcie-24gb", None, "rtx-4090"),
    ("NVIDIA GeForce RTX 4090 PCIe 24GB", None, "rtx-4090"),
    ("rtx4090", None, "rtx-4090"),  # Akash model attribute
    ("RTX 4080", None, "rtx-4080"),
    ("GeForce RTX 3090", None, "rtx-3090"),
    ("geforcertx3090-pcie-24gb", None, "rtx-3090"),
    ("NVIDIA GeForce RTX 3080", None, "rtx-3080"),
    ("NVIDIA GeForce RTX 5090", None, "rtx-5090"),
    ("RTX 5080", None, "rtx-5080"),
    ("RTX A6000", None, "rtx-a6000"),
    ("NVIDIA RTX A6000", None, "rtx-a6000"),
    ("A6000", None, "rtx-a6000"),
    ("gpu_1x_a6000", None, "rtx-a6000"),
    ("rtxa6000-pcie-48gb", None, "rtx-a6000"),
    ("A5000", None, "rtx-a5000"),
    ("NVIDIA RTX A4000", None, "rtx-a4000"),
    ("RTX 6000 Ada Generation", None, "rtx-6000-ada"),
    ("NVIDIA RTX 6000 Ada Generation", None, "rtx-6000-ada"),
    ("RTX 6000Ada", None, "rtx-6000-ada"),
    ("NVIDIA RTX PRO 6000 Blackwell Server Edition", None, "rtx-pro-6000"),
    ("RTX PRO 6000 WS", None, "rtx-pro-6000"),
    # Datacenter inference cards
    ("L40S", None, "l40s"),
    ("NVIDIA L40S", None, "l40s"),
    ("L40", None, "l40"),
    ("l40-pcie-48gb", None, "l40"),
    ("NVIDIA L4", None, "l4"),
    ("A10", None, "a10"),
    ("gpu_1x_a10", None, "a10"),
    ("NVIDIA A10G", None, "a10g"),
    ("A16", None, "a16"),
    ("NVIDIA A30", None, "a30"),
    ("NVIDIA A40", None, "a40"),
    ("Tesla T4", None, "t4"),
    ("NVIDIA Tesla T4 Tensor Core GPU", None, "t4"),
    ("Tesla P100", None, "p100"),
    # AMD
    ("AMD Instinct MI300X", None, "mi300x"),
    ("mi300x", None, "mi300x"),
    ("AMD Instinct MI300X OAM", None, "mi300x"),
    ("MI325X", None, "mi325x"),
    ("AMD Instinct MI250", None, "mi250"),
]

NEGATIVE_CASES = [
    ("RTX 4070", None),  # not in the table: never its neighbour
    ("RTX 3080 Ti", None),  # a different card from the RTX 3080
    ("RTX 4090 D", None),
    ("Quadro RTX 6000", None),  # 2018 Turing card, not RTX 6000 Ada
    ("gpu_1x_rtx6000", None),  # Lambda's Quadro RTX 6000
    ("RTX 6000", None),  # ambiguous between the two
    ("H200 NVL", None),  # different card, not H200 SXM
    ("A100", None),  # 40 or 80 GB: unknown without VRAM
    ("A100", 60),  # VRAM fits neither variant
    ("gpu_1x_a100_sxm4", None),
    ("V100", None),
    ("H100", None),  # SXM vs PCIe differ by 30%: no guess
    ("H100", 80),
    ("H100 SXM PCIe", None),  # contradictory form factors
    ("A100X", None),
    ("MI250X", None),
    ("MI300A", None),
    ("P4000", None),  # Paperspace Quadro
    ("Radeon PRO W7900", None),
    ("", None),
    ("   ", None),
    ("nvidia", None),
    ("TPU v5e", None),
]


@pytest.mark.parametrize("raw, vram, expected", NAME_CASES)
def test_provider_names_map_to_canonical_ids(raw, vram, expected):
    assert canonical_gpu(raw, vram_gb=vram) == expected


@pytest.mark.parametrize("raw, vram", NEGATIVE_CASES)
def test_unknown_or_ambiguous_names_are_none(raw, vram):
    assert canonical_gpu(raw, vram_gb=vram) is None


@pytest.mark.parametrize(
    "raw, wrong",
    [("RTX 4090", "rtx-4080"), ("A10", "a100-80gb"), ("A10", "a10g"), ("L40", "l40s"), ("H200", "gh200")],
)
def test_near_neighbours_are_not_confused(raw, wrong):
    assert canonical_gpu(raw, vram_gb=80) != wrong
    assert canonical_gpu(raw) not in {wrong, None}


def test_vram_hint_disambiguates_variants_within_tolerance():
    assert canonical_gpu("NVIDIA A100", vram_gb=40) == "a100-40gb"
    assert canonical_gpu("NVIDIA A100", vram_gb=39.4) == "a100-40gb"  # 40 GB reported in GiB
    assert canonical_gpu("NVIDIA A100", vram_gb=80) == "a100-80gb"
    assert canonical_gpu("NVIDIA A100", vram_gb=81.9) == "a100-80gb"
    assert canonical_gpu("NVIDIA A100", vram_gb=24) is None
    assert canonical_gpu("Tesla V100-PCIE", vram_gb=16) == "v100-16gb"
    assert canonical_gpu("Tesla V100-PCIE", vram_gb=32) == "v100-32gb"


def test_mapping_is_case_and_punctuation_insensitive():
    variants = ["rtx 4090", "RTX-4090", "Rtx.4090", "  RTX  4090  ", "nvidia_geforce_rtx_4090"]
    assert {canonical_gpu(name) for name in variants} == {"rtx-4090"}


def test_every_mapped_id_exists_in_the_table():
    assert {expected for _, _, expected in NAME_CASES} <= set(GPU_SPECS)
    assert len(NAME_CASES) + len(NEGATIVE_CASES) >= 40
