"""Runs benchmarks: `python -m bench` runs every bench/<name>.py, `python -m bench NAME` runs one,
`python -m bench NAME --option value` runs one with its own options (modules with a `main(argv)`).

Each benchmark module has `run() -> dict` of flat numeric figures; they are printed and written
to bench/results/<name>.json.
"""

import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def available() -> list[str]:
    modules = pkgutil.iter_modules([str(Path(__file__).parent)])
    return sorted(m.name for m in modules if not m.ispkg and not m.name.startswith("_"))


def run_one(name: str) -> dict:
    figures = importlib.import_module(f"bench.{name}").run()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True))
    print(f"{name}: {json.dumps(figures, sort_keys=True)}")
    return figures


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "computehub.settings")
    if len(argv) > 1 and argv[1].startswith("--") and argv[0] in available():
        return _with_options(argv[0], argv[1:])  # `python -m bench chaos --scenarios 50`
    names = argv or available()
    if not names:
        print("No benchmarks yet: add bench/<name>.py with a run() that returns its figures.")
        return 0
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Available: {', '.join(available())}")
        return 2
    for name in names:
        run_one(name)
    return 0


def _with_options(name: str, options: list[str]) -> int:
    module = importlib.import_module(f"bench.{name}")
    if not hasattr(module, "main"):
        print(f"bench.{name} takes no options; set them through its environment variables.")
        return 2
    return module.main(options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
