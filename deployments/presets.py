"""The preset templates every workspace sees (workspace NULL, is_preset). Migration 0002 writes
them with literal values copied from here; `PRESETS` is what the tests compare the rows against.
Each `local_command` runs on a bare machine: deployments.standins runs the real tool when it is
installed and a small stand-in server otherwise."""

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def _standin(kind: str, *extra: str) -> list[str]:
    return ["python", "-m", "deployments.standins", kind, *extra]


PRESETS = [
    {
        "slug": "vllm-llama",
        "name": "vLLM OpenAI-compatible server (Llama)",
        "description": (
            f"Serves {LLAMA} through vLLM's OpenAI-compatible API (/v1/models, /v1/chat/completions) "
            "on port 8000. Llama is a gated model: add HF_TOKEN (your Hugging Face token) as a SECRET "
            "environment variable when you deploy. Needs 24 GB of VRAM."
        ),
        "image": "vllm/vllm-openai:latest",
        "command": ["--model", LLAMA, "--host", "0.0.0.0", "--port", "8000"],
        "local_command": _standin("vllm", "--model", LLAMA),
        "ports": [8000],
        "env": {},
        "disk_gb": 100,
        "min_vram_gb": 24,
        "health_path": "/v1/models",
    },
    {
        "slug": "comfyui",
        "name": "ComfyUI",
        "description": "Node-based Stable Diffusion and Flux workflows in the browser, on port 8188.",
        "image": "yanwk/comfyui-boot:cu124-slim",
        "command": [],
        "local_command": _standin("comfyui"),
        "ports": [8188],
        "env": {"CLI_ARGS": "--listen 0.0.0.0 --port 8188"},
        "disk_gb": 60,
        "min_vram_gb": 12,
        "health_path": "/",
    },
    {
        "slug": "sd-webui",
        "name": "Stable Diffusion WebUI",
        "description": "AUTOMATIC1111's Stable Diffusion web UI with its API enabled, on port 7860.",
        "image": "universonic/stable-diffusion-webui:latest",
        "command": ["--listen", "--port", "7860", "--api"],
        "local_command": _standin("sd-webui"),
        "ports": [7860],
        "env": {},
        "disk_gb": 60,
        "min_vram_gb": 8,
        "health_path": "/",
    },
    {
        "slug": "jupyter-lab",
        "name": "Jupyter Lab",
        "description": "Jupyter Lab with PyTorch and CUDA, on port 8888 (the login token is in the logs).",
        "image": "quay.io/jupyter/pytorch-notebook:cuda12-latest",
        "command": ["start-notebook.py", "--ServerApp.ip=0.0.0.0", "--ServerApp.port=8888"],
        "local_command": _standin("jupyter"),
        "ports": [8888],
        "env": {},
        "disk_gb": 30,
        "min_vram_gb": 0,
        "health_path": "/api",
    },
    {
        "slug": "vscode-server",
        "name": "VS Code Server",
        "description": "VS Code in the browser (code-server) on port 8080; its password is in the logs.",
        "image": "codercom/code-server:latest",
        "command": ["--bind-addr", "0.0.0.0:8080"],
        "local_command": _standin("code-server"),
        "ports": [8080],
        "env": {},
        "disk_gb": 30,
        "min_vram_gb": 0,
        "health_path": "/healthz",
    },
]
