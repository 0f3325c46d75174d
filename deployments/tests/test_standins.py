"""The stand-ins as real processes: started with `python -m deployments.standins`, spoken to over
HTTP, stopped with SIGTERM; and the real tool preferred when it is on PATH."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from deployments.presets import PRESETS
from deployments.standins import DEFAULT_PORTS, KINDS, local_launch, real


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(kind: str, port: int, *extra, path=None):
    argv, env = local_launch(["python", "-m", "deployments.standins", kind, *extra])
    env = {"PATH": path or os.environ["PATH"], "PORT": str(port), "PYTHONUNBUFFERED": "1"} | env
    # Run from an unrelated folder, as the Local provider does (its work folder).
    return subprocess.Popen(argv, env=env, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _get(url: str, data: bytes | None = None, deadline_s: float = 10.0):
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=2) as response:
                return response.status, response.read().decode()
        except OSError:  # not listening yet
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def _stop(process) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    return output


@pytest.fixture
def standin():
    started = []

    def start(kind, *extra, path=None):
        port = _free_port()
        started.append(_start(kind, port, "--standin", *extra, path=path))
        return started[-1], f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_vllm_standin_speaks_openai(standin):
    process, base = standin("vllm", "--model", "meta-llama/Llama-3.1-8B-Instruct")
    status, body = _get(f"{base}/v1/models")
    assert status == 200 and json.loads(body)["data"][0]["id"] == "meta-llama/Llama-3.1-8B-Instruct"
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hello GPU"}]}).encode()
    status, body = _get(f"{base}/v1/chat/completions", data=payload)
    reply = json.loads(body)
    assert reply["object"] == "chat.completion" and "hello GPU" in reply["choices"][0]["message"]["content"]
    assert reply["usage"]["total_tokens"] > 0
    output = _stop(process)
    assert "listening on http://127.0.0.1:" in output
    assert '"GET /v1/models HTTP/1.1" 200' in output and '"POST /v1/chat/completions HTTP/1.1" 200' in output
    assert "shut down cleanly" in output


def test_vllm_standin_refuses_a_body_without_messages(standin):
    process, base = standin("vllm")
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(f"{base}/v1/chat/completions", data=b"{}")
    assert refused.value.code == 400
    _stop(process)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "vllm"])
def test_page_standins_say_what_they_are_and_answer_health(kind, standin):
    process, base = standin(kind)
    status, body = _get(f"{base}/")
    assert status == 200 and "stand-in" in body and "To run the real thing" in body
    health = next(p["health_path"] for p in PRESETS if p["local_command"][3] == kind)
    assert _get(f"{base}{health}")[0] == 200
    assert f'"GET {health} HTTP/1.1" 200' in _stop(process)


def test_real_tool_is_run_when_installed(tmp_path):
    fake = tmp_path / "vllm"
    fake.write_text("#!/bin/sh\necho REAL-VLLM \"$@\"\n")
    fake.chmod(0o755)
    port = _free_port()
    process = _start("vllm", port, "--model", "org/model", path=f"{tmp_path}:{os.environ['PATH']}")
    output, _ = process.communicate(timeout=10)
    assert f"REAL-VLLM serve org/model --host 127.0.0.1 --port {port}" in output


def test_real_tool_arguments_bind_loopback_on_port():
    assert real.command_for("jupyter", port=9001, model="") in (None, [real.shutil.which("jupyter-lab"), "--no-browser",
                                                                          "--ip", "127.0.0.1", "--port", "9001",
                                                                          "--ServerApp.port_retries=0"])
    assert real._code_server("code-server", 9002, "")[1:3] == ["--bind-addr", "127.0.0.1:9002"]


def test_local_launch_resolves_python_and_source_root():
    argv, env = local_launch(["python", "-m", "deployments.standins", "jupyter"])
    assert argv[0] == sys.executable and argv[1:] == ["-m", "deployments.standins", "jupyter"]
    assert os.path.isdir(os.path.join(env["PYTHONPATH"], "deployments", "standins"))


def test_every_preset_local_command_names_a_standin_with_its_port():
    for preset in PRESETS:
        kind = preset["local_command"][3]
        assert preset["local_command"][:3] == ["python", "-m", "deployments.standins"] and kind in KINDS
        assert DEFAULT_PORTS[kind] == preset["ports"][0]
