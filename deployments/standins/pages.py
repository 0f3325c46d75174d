"""The page each stand-in serves: it says it is a stand-in and how to get the real tool."""

from html import escape

TITLES = {
    "vllm": "vLLM OpenAI-compatible server",
    "comfyui": "ComfyUI",
    "sd-webui": "Stable Diffusion WebUI",
    "jupyter": "Jupyter Lab",
    "code-server": "VS Code Server",
}

INSTALL = {
    "vllm": "pip install vllm  (needs an NVIDIA GPU); then restart this deployment.",
    "comfyui": "pip install comfy-cli && comfy install; then restart this deployment.",
    "sd-webui": "git clone https://github.com/AUTOMATIC1111/stable-diffusion-webui and set SD_WEBUI_DIR to it.",
    "jupyter": "pip install jupyterlab; then restart this deployment.",
    "code-server": "curl -fsSL https://code-server.dev/install.sh | sh; then restart this deployment.",
}

# Health paths the presets use besides "/": Jupyter's /api answers its version without a login.
JSON_ROUTES = {"/api": {"version": "stand-in"}}


def page(kind: str) -> str:
    title = escape(TITLES[kind])
    extra = ('<p>OpenAI-compatible routes answer: <code>GET /v1/models</code>, '
             '<code>POST /v1/chat/completions</code> (echo replies).</p>') if kind == "vllm" else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title} (stand-in)</title></head>"
            f"<body><h1>{title} — stand-in</h1>"
            f"<p>This is ComputeHub's stand-in for {title}: the real tool is not installed on this machine.</p>"
            f"{extra}<p>To run the real thing: <code>{escape(INSTALL[kind])}</code></p></body></html>")
