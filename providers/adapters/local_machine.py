"""This machine's description for the Local provider: its one offer (psutil for CPU, RAM and
disk; NVML for NVIDIA GPUs) and GPU readings. A machine without nvidia-ml-py, a driver or a GPU
is simply CPU-only: nothing here raises for that."""

from datetime import datetime

import psutil
from django.conf import settings

from providers.adapters.base import MetricPoint, Offer

try:
    import pynvml
except ImportError:  # pragma: no cover - it is in requirements.txt
    pynvml = None

GIB = 1024**3


def nvml_gpus() -> list[dict]:
    """[{index, name, vram_gb}] from NVML; [] without the library, a driver or a GPU."""
    def read():
        return [{"index": i, "name": _text(pynvml.nvmlDeviceGetName(h)),
                 "vram_gb": round(pynvml.nvmlDeviceGetMemoryInfo(h).total / GIB, 1)}
                for i, h in _handles()]
    return _with_nvml(read, [])


def _handles():
    return [(i, pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(pynvml.nvmlDeviceGetCount())]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _with_nvml(read, default):
    if pynvml is None:
        return default
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound, DriverNotLoaded...: a machine without a GPU
        return default
    try:
        return read()
    except Exception:
        return default
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def gpu_metrics(at: datetime) -> list[MetricPoint]:
    def read():
        points = []
        for i, handle in _handles():
            util, memory = pynvml.nvmlDeviceGetUtilizationRates(handle), pynvml.nvmlDeviceGetMemoryInfo(handle)
            temp = pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)
            points += [MetricPoint("gpu_util_percent", float(util.gpu), at, i),
                       MetricPoint("gpu_memory_used_gb", round(memory.used / GIB, 3), at, i),
                       MetricPoint("gpu_temperature_c", float(temp), at, i)]
        return points
    return _with_nvml(read, [])


def machine_offer() -> Offer:
    gpus = nvml_gpus()
    first = gpus[0] if gpus else None
    return Offer(provider="local", offer_id="local", region="this-machine",
                 gpu_name_raw=first["name"] if first else "CPU only", gpu_count=len(gpus),
                 vram_gb_per_gpu=first["vram_gb"] if first else None, vcpus=psutil.cpu_count(logical=True),
                 ram_gb=round(psutil.virtual_memory().total / GIB, 1),
                 disk_gb=round(psutil.disk_usage(str(settings.VAR_DIR)).free / GIB, 1), price_per_hour=0.0,
                 available=1, reliability=None, raw={"gpus": gpus})
