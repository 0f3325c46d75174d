"""Small stand-in servers so the preset templates run on the Local provider of a bare machine.

`python -m deployments.standins <kind>` runs the real tool when it is installed (vLLM, Jupyter
Lab, code-server, ComfyUI, Stable Diffusion WebUI) and otherwise a stdlib HTTP server that
behaves enough like it to demo and health-check. Everything binds 127.0.0.1 on $PORT, prints a
startup line and a line per request (so the log viewer has something to stream), and exits
cleanly on SIGTERM.

This package is imported by a bare `python` process: no Django, no third-party imports here.
"""

import sys
from pathlib import Path

KINDS = ("vllm", "comfyui", "sd-webui", "jupyter", "code-server")
# The first port of each preset: used when $PORT is unset (running it by hand).
DEFAULT_PORTS = {"vllm": 8000, "comfyui": 8188, "sd-webui": 7860, "jupyter": 8888, "code-server": 8080}
# The folder holding the `deployments` package, so `-m deployments.standins` resolves from any cwd.
SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


def local_launch(argv) -> tuple[list[str], dict[str, str]]:
    """A template's `local_command` made runnable by the Local provider: a leading `python` becomes
    this interpreter (the machine may have no `python` on PATH, or a different one), and the
    returned environment lets `-m deployments.standins` import from the process's own work folder."""
    argv = list(argv)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv, {"PYTHONPATH": str(SOURCE_ROOT)}
