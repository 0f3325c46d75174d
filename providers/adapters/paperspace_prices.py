"""Paperspace's machine types and hourly prices: the API has no price endpoint
(reference/providers.md §5.2), so like SkyPilot we keep a static catalog.

PRICES_AS_OF is when these numbers were last known to match the public on-demand price list at
https://www.paperspace.com/pricing (DigitalOcean Paperspace, "Machines": hourly rate, storage
billed separately). They were written down from that page as of mid-2024 and could NOT be
re-checked when this file was written (no network), so treat them as indicative. They drift: REVIEW THIS TABLE against that page at least every quarter and
bump PRICES_AS_OF. list_offers logs a warning when the table is older than
MAX_PRICE_AGE_DAYS (see paperspace.py), so nobody trusts it silently.
"""

from dataclasses import dataclass
from datetime import date

PRICES_AS_OF = date(2024, 7, 1)
MAX_PRICE_AGE_DAYS = 120
SOURCE_URL = "https://www.paperspace.com/pricing"

NY2, CA1, AMS1 = "East Coast (NY2)", "West Coast (CA1)", "Europe (AMS1)"
ALL_REGIONS = (NY2, CA1, AMS1)


@dataclass(frozen=True)
class MachineType:
    label: str  # Paperspace's machineType, sent back on create
    gpu_name: str  # what the GPU is, for canonical_gpu
    gpu_count: int
    vram_gb: float  # per GPU
    vcpus: int
    ram_gb: int
    price_per_hour: float  # USD, whole machine, on demand
    regions: tuple[str, ...]
    gpu_model: str | None = None  # set where the name alone is ambiguous (Paperspace H100 is SXM)


MACHINE_TYPES: tuple[MachineType, ...] = (
    MachineType("H100", "NVIDIA H100 80GB", 1, 80, 20, 250, 5.95, (NY2,), gpu_model="h100-sxm"),
    MachineType("H100x8", "NVIDIA H100 80GB", 8, 80, 128, 1638, 47.60, (NY2,), gpu_model="h100-sxm"),
    MachineType("A100-80G", "NVIDIA A100 80GB", 1, 80, 12, 90, 3.18, (NY2, CA1)),
    MachineType("A100-80Gx8", "NVIDIA A100 80GB", 8, 80, 96, 640, 25.44, (NY2,)),
    MachineType("A100", "NVIDIA A100 40GB", 1, 40, 12, 90, 3.09, (NY2, CA1)),
    MachineType("A6000", "NVIDIA RTX A6000", 1, 48, 8, 45, 1.89, ALL_REGIONS),
    MachineType("A5000", "NVIDIA RTX A5000", 1, 24, 8, 45, 1.38, ALL_REGIONS),
    MachineType("A4000", "NVIDIA RTX A4000", 1, 16, 8, 45, 0.76, ALL_REGIONS),
    MachineType("RTX5000", "Quadro RTX 5000", 1, 16, 8, 30, 0.82, (NY2, CA1)),
    MachineType("RTX4000", "Quadro RTX 4000", 1, 8, 8, 30, 0.56, ALL_REGIONS),
    MachineType("P6000", "Quadro P6000", 1, 24, 8, 30, 1.10, ALL_REGIONS),
    MachineType("P5000", "Quadro P5000", 1, 16, 8, 30, 0.78, ALL_REGIONS),
    MachineType("P4000", "Quadro P4000", 1, 8, 8, 30, 0.51, ALL_REGIONS),
    MachineType("V100-32G", "Tesla V100 32GB", 1, 32, 8, 30, 2.30, (NY2,)),
    MachineType("V100", "Tesla V100 16GB", 1, 16, 8, 30, 2.30, (NY2, CA1)),
)

BY_LABEL = {machine.label: machine for machine in MACHINE_TYPES}
