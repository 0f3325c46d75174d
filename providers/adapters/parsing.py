"""Small pure helpers shared by adapters: reading numbers out of provider JSON and building the
`docker run` line for providers that rent a VM and start the deployment's container on it."""

import shlex


def num(value) -> float | None:
    """A float from a JSON value; None for null, absent or non-numeric values (providers send all three)."""
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def docker_run_argv(spec, *, name: str | None = None) -> list[str]:
    """`docker run` for the spec's image, command, env and ports (each port published as itself)."""
    argv = ["docker", "run", "-d", "--restart", "unless-stopped", "--gpus", "all"]
    if name:
        argv += ["--name", name]
    argv += [part for key, value in spec.env.items() for part in ("-e", f"{key}={value}")]
    argv += [part for port in spec.ports for part in ("-p", f"{port}:{port}")]
    return [*argv, spec.image, *spec.command]


def docker_run_command(spec, *, name: str | None = None) -> str:
    """The same as one shell line; every user value is quoted."""
    return shlex.join(docker_run_argv(spec, name=name))
