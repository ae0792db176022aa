"""Run the simulator: `python -m services.simulator [--host 127.0.0.1] [--port 8100]`."""

from __future__ import annotations

import argparse

import uvicorn

from .app import create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.simulator",
        description="Local fake government platform: 网办 / 一窗 / 好差评 exports for any day up to today.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port to listen on (default 8100)")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level (default warning)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"simulator: platform exports on http://{args.host}:{args.port}/ (GET / lists the URL patterns)",
          flush=True)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
