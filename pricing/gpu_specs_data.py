"""The GPU spec table: one row per model, figures from the vendor's own datasheet or whitepaper.

Units and conventions (they matter for $/TFLOP-h ranking, so every row follows them):

- ``fp16_tflops`` is **dense** FP16/BF16 tensor (matrix) throughput, **without structured
  sparsity**. NVIDIA and AMD often headline the 2:4-sparse figure; those are halved here (and an
  FP8- or FP4-sparse "AI TOPS" headline is divided by 4 or 8), so cards compare like for like.
- GeForce cards run FP16 tensor math with FP32 accumulation at half the FP16-accumulate rate;
  datacenter and pro cards do not. Rows use the **FP32-accumulate** figure (what mixed-precision
  training uses), e.g. RTX 4090 = 165.2, not the 330.3 FP16-accumulate figure.
- Cards without tensor cores (P100) carry their vector FP16 rate.
- ``fp32_tflops`` is non-tensor (vector) FP32. ``memory_bandwidth_gbs`` is GB/s, ``vram_gb`` is
  GB per GPU.
- One row per model, not per form factor, when SXM and PCIe parts differ by under ~15% (A100,
  V100). Such shared rows carry the **lower** (PCIe) figures, so a comparison never overstates a
  card. H100 SXM / PCIe / NVL differ by ~30% and get their own rows.
- Multi-GPU boards and systems (A16 board, HGX/DGX B200) are given per GPU.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One GPU model. ``fp16_tflops`` is dense FP16/BF16 tensor throughput, without sparsity."""

    id: str
    name: str
    vendor: str
    architecture: str
    vram_gb: float
    memory_bandwidth_gbs: float
    fp16_tflops: float
    fp32_tflops: float
    source: str


def _nv(id, name, arch, vram, bandwidth, fp16, fp32, source) -> GpuSpec:  # noqa: A002
    return GpuSpec(id, name, "NVIDIA", arch, vram, bandwidth, fp16, fp32, source)


def _amd(id, name, arch, vram, bandwidth, fp16, fp32, source) -> GpuSpec:  # noqa: A002
    return GpuSpec(id, name, "AMD", arch, vram, bandwidth, fp16, fp32, source)


_HOPPER_SHEET = "NVIDIA H100 Tensor Core GPU datasheet (sparse ÷ 2)"
_ADA_PAPER = "NVIDIA Ada Lovelace architecture whitepaper (dense, FP32 accumulate)"
_GA102_PAPER = "NVIDIA Ampere GA102 architecture whitepaper (dense, FP32 accumulate)"
_RTX_BLACKWELL_PAPER = "NVIDIA RTX Blackwell GPU architecture whitepaper (dense, FP32 accumulate)"

SPECS: tuple[GpuSpec, ...] = (
    # --- NVIDIA datacenter: Blackwell, Hopper -------------------------------------------------
    _nv("b200", "B200", "Blackwell", 180, 8000, 2250, 75, "NVIDIA DGX B200 datasheet (÷ 8, sparse ÷ 2)"),
    _nv("b100", "B100", "Blackwell", 192, 8000, 1750, 60, "NVIDIA HGX B100 brief (÷ 8, sparse ÷ 2)"),
    _nv("h200-sxm", "H200 SXM", "Hopper", 141, 4800, 989.5, 67, "NVIDIA H200 datasheet (sparse ÷ 2)"),
    _nv("h100-sxm", "H100 SXM", "Hopper", 80, 3350, 989.5, 67, _HOPPER_SHEET),
    _nv("h100-pcie", "H100 PCIe", "Hopper", 80, 2000, 756.5, 51, _HOPPER_SHEET),
    _nv("h100-nvl", "H100 NVL", "Hopper", 94, 3900, 835.5, 60, _HOPPER_SHEET),
    # GH200 as rented (Lambda gpu_1x_gh200, "GH200 480GB"): 96 GB HBM3 beside 480 GB LPDDR5X.
    _nv("gh200", "GH200", "Hopper", 96, 4000, 989.5, 67, "NVIDIA GH200 datasheet (sparse ÷ 2)"),
    # --- NVIDIA datacenter: Ampere, Ada, older -------------------------------------------------
    # SXM4 has 2,039 GB/s; the shared row keeps the PCIe 1,935 GB/s (see module docstring).
    _nv("a100-80gb", "A100 80GB", "Ampere", 80, 1935, 312, 19.5, "NVIDIA A100 datasheet (PCIe)"),
    _nv("a100-40gb", "A100 40GB", "Ampere", 40, 1555, 312, 19.5, "NVIDIA A100 datasheet (sparse ÷ 2)"),
    _nv("l40s", "L40S", "Ada Lovelace", 48, 864, 362.05, 91.6, "NVIDIA L40S datasheet (sparse ÷ 2)"),
    _nv("l40", "L40", "Ada Lovelace", 48, 864, 181.05, 90.5, "NVIDIA L40 datasheet (sparse ÷ 2)"),
    _nv("l4", "L4", "Ada Lovelace", 24, 300, 121, 30.3, "NVIDIA L4 datasheet (sparse ÷ 2)"),
    _nv("a10", "A10", "Ampere", 24, 600, 125, 31.2, "NVIDIA A10 datasheet (sparse ÷ 2)"),
    # AWS-only variant of GA102; NVIDIA publishes no datasheet. Tensor rate is GeForce-like.
    _nv("a10g", "A10G", "Ampere", 24, 600, 70, 31.2, "AWS EC2 G5 instance specifications"),
    _nv("a16", "A16", "Ampere", 16, 200, 17.9, 4.5, "NVIDIA A16 datasheet (per GPU, sparse ÷ 2)"),
    _nv("a30", "A30", "Ampere", 24, 933, 165, 10.3, "NVIDIA A30 datasheet (sparse ÷ 2)"),
    _nv("a40", "A40", "Ampere", 48, 696, 149.7, 37.4, "NVIDIA A40 datasheet (sparse ÷ 2)"),
    # V100 SXM2 is 125 / 15.7 TFLOPS; the shared rows keep PCIe's 112 / 14.
    _nv("v100-16gb", "V100 16GB", "Volta", 16, 900, 112, 14, "NVIDIA Tesla V100 datasheet (PCIe figures)"),
    _nv("v100-32gb", "V100 32GB", "Volta", 32, 900, 112, 14, "NVIDIA Tesla V100 datasheet (PCIe figures)"),
    _nv("t4", "T4", "Turing", 16, 320, 65, 8.1, "NVIDIA T4 datasheet"),
    _nv("p100", "P100", "Pascal", 16, 732, 18.7, 9.3, "NVIDIA Tesla P100 datasheet (PCIe 16 GB)"),
    # --- NVIDIA professional (full-rate FP32 accumulate) ---------------------------------------
    _nv("rtx-a6000", "RTX A6000", "Ampere", 48, 768, 154.8, 38.7, "NVIDIA RTX A6000 datasheet (sparse ÷ 2)"),
    _nv("rtx-a5000", "RTX A5000", "Ampere", 24, 768, 111.1, 27.8, "NVIDIA RTX A5000 datasheet (sparse ÷ 2)"),
    _nv("rtx-a4000", "RTX A4000", "Ampere", 16, 448, 76.7, 19.2, "NVIDIA RTX A4000 datasheet (sparse ÷ 2)"),
    _nv("rtx-6000-ada", "RTX 6000 Ada", "Ada Lovelace", 48, 960, 364.2, 91.1, _ADA_PAPER),
    _nv(
        "rtx-pro-6000", "RTX PRO 6000 Blackwell", "Blackwell", 96, 1792, 503.8, 125,
        "NVIDIA RTX PRO 6000 Blackwell datasheet (4,000 FP4-sparse AI TOPS ÷ 8)",
    ),
    # --- NVIDIA GeForce (FP16 tensor with FP32 accumulate, dense) ------------------------------
    _nv("rtx-5090", "RTX 5090", "Blackwell", 32, 1792, 209.5, 104.8, _RTX_BLACKWELL_PAPER),
    _nv("rtx-5080", "RTX 5080", "Blackwell", 16, 960, 112.6, 56.3, _RTX_BLACKWELL_PAPER),
    _nv("rtx-4090", "RTX 4090", "Ada Lovelace", 24, 1008, 165.2, 82.6, _ADA_PAPER),
    _nv("rtx-4080", "RTX 4080", "Ada Lovelace", 16, 716.8, 97.5, 48.7, _ADA_PAPER),
    _nv("rtx-3090", "RTX 3090", "Ampere", 24, 936, 71, 35.6, _GA102_PAPER),
    _nv("rtx-3080", "RTX 3080", "Ampere", 10, 760, 59.5, 29.8, _GA102_PAPER + ", 10 GB"),
    # --- AMD Instinct (FP32 is the vector rate) ------------------------------------------------
    _amd("mi325x", "Instinct MI325X", "CDNA 3", 256, 6000, 1307.4, 163.4, "AMD Instinct MI325X datasheet"),
    _amd("mi300x", "Instinct MI300X", "CDNA 3", 192, 5300, 1307.4, 163.4, "AMD Instinct MI300X datasheet"),
    _amd("mi250", "Instinct MI250", "CDNA 2", 128, 3276.8, 362.1, 45.3, "AMD Instinct MI250 datasheet"),
)
