"""``python -m parity.testbed.faults --config FILE --port N``: how the testbed starts a proxy."""

from __future__ import annotations

import argparse
from pathlib import Path

from parity.testbed.faults._config import FaultConfig
from parity.testbed.faults._serve import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m parity.testbed.faults")
    parser.add_argument("--config", type=Path, required=True, help="FaultConfig as JSON")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = FaultConfig.model_validate_json(args.config.read_text(encoding="utf-8"))
    serve(config, args.host, args.port)


if __name__ == "__main__":
    main()
