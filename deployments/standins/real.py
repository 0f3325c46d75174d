"""The real tools: where each is installed, the argv that serves it on 127.0.0.1:$PORT."""

import os
import shutil


def _vllm(exe, port, model):
    return [exe, "serve", model, "--host", "127.0.0.1", "--port", str(port)]


def _jupyter(exe, port, model):
    return [exe, "--no-browser", "--ip", "127.0.0.1", "--port", str(port), "--ServerApp.port_retries=0"]


def _code_server(exe, port, model):
    # code-server's own password auth stays on (its password is in ~/.config/code-server/config.yaml).
    return [exe, "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry", "."]


def _comfy(exe, port, model):
    return [exe, "launch", "--", "--listen", "127.0.0.1", "--port", str(port)]


def _webui(exe, port, model):
    # Without --listen AUTOMATIC1111 binds 127.0.0.1.
    return [exe, "--port", str(port), "--api"]


# kind → (executables to look for, in order, and how to call the one found)
TOOLS = {
    "vllm": (("vllm",), _vllm),
    "jupyter": (("jupyter-lab",), _jupyter),
    "code-server": (("code-server",), _code_server),
    "comfyui": (("comfy",), _comfy),
    "sd-webui": (("webui.sh",), _webui),
}


def _find(names) -> str | None:
    webui_dir = os.environ.get("SD_WEBUI_DIR")  # a clone of AUTOMATIC1111 is not on PATH by default
    for name in names:
        found = shutil.which(name) or (shutil.which(name, path=webui_dir) if webui_dir else None)
        if found:
            return found
    return None


def command_for(kind: str, *, port: int, model: str) -> list[str] | None:
    """The argv of the installed real tool, or None when it is not installed."""
    names, build = TOOLS[kind]
    exe = _find(names)
    return build(exe, port, model) if exe else None
