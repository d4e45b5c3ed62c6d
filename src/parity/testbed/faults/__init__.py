"""A fault-injecting proxy for OpenAI-compatible endpoints.

Put it in front of any server (the testbed's reference, or your own stack) to
produce, at a controlled and reproducible rate, the failures parity's checks
are meant to catch. See ``FaultMode`` for the list; ``create_app`` for the
ASGI app; ``serve`` to run it.
"""

from parity.testbed.faults._app import FAULT_FAMILY_HEADER, FAULT_HEADER, create_app
from parity.testbed.faults._config import (
    DEFAULT_SERVER_SAMPLING,
    FaultConfig,
    FaultMode,
    FaultSpec,
    choose_fault,
    choose_leak_family,
    parse_fault_flags,
    request_digest,
)
from parity.testbed.faults._serve import proxy_argv, serve
from parity.testbed.faults._switch import (
    MisrouteSpec,
    SwitchSpec,
    flag_target,
    parse_misroute,
    parse_switch,
)
from parity.testbed.faults._throttle import Throttle

__all__ = [
    "DEFAULT_SERVER_SAMPLING",
    "FAULT_FAMILY_HEADER",
    "FAULT_HEADER",
    "FaultConfig",
    "FaultMode",
    "FaultSpec",
    "MisrouteSpec",
    "SwitchSpec",
    "Throttle",
    "choose_fault",
    "choose_leak_family",
    "create_app",
    "flag_target",
    "parse_fault_flags",
    "parse_misroute",
    "parse_switch",
    "proxy_argv",
    "request_digest",
    "serve",
]
