"""`python -m deployments.standins <kind> [--model NAME] [--standin]`."""

import argparse
import os
import sys

from deployments.standins import DEFAULT_PORTS, KINDS, real, server


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m deployments.standins")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--model", default="meta-llama/Llama-3.1-8B-Instruct", help="vllm: the model to serve")
    parser.add_argument("--standin", action="store_true", help="use the stand-in even if the real tool is installed")
    return parser.parse_args(argv)


def port_for(kind: str) -> int:
    value = os.environ.get("PORT", "")
    return int(value) if value.isdigit() else DEFAULT_PORTS[kind]


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    port = port_for(args.kind)
    forced = args.standin or os.environ.get("COMPUTEHUB_STANDIN") == "1"
    command = None if forced else real.command_for(args.kind, port=port, model=args.model)
    if command is not None:
        print(f"[standin] {args.kind}: found the real tool, running: {' '.join(command)}", flush=True)
        os.execvp(command[0], command)  # replaces this process: signals reach the tool directly
    return server.serve(args.kind, port=port, model=args.model)


if __name__ == "__main__":
    sys.exit(main())
