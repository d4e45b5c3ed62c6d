from __future__ import annotations

from pathlib import Path

import pytest

from parity.config import ConfigError, load_config, parse_config

GOOD = """
[[endpoints]]
name = "reference"
base_url = "http://127.0.0.1:8001/v1/"
model = "smollm2"
reference = true
api_key_env = "REF_KEY"

[[endpoints]]
name = "provider-a"
base_url = "https://api.example/v1"
model = "smollm2"
headers = { "x-team" = "t1" }
extra_body = { provider = { order = ["a"] } }
max_concurrency = 4
requests_per_second = 2.5
timeout_s = 30
declared = { engine = "vllm", quantization = "fp8" }
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "parity.toml"
    p.write_text(text)
    return p


def test_good_config_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.reference.name == "reference" and cfg.reference.base_url == "http://127.0.0.1:8001/v1"
    a = cfg.endpoint("provider-a")
    assert a.declared.quantization == "fp8" and a.requests_per_second == 2.5
    assert a.public_dict()["headers"] == {"x-team": "<redacted>"}


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('max_attempts = 0', "endpoints[1] (name 'provider-a').max_attempts"),
        ('api_key_env = 5', "endpoints[1] (name 'provider-a').api_key_env"),
        ('colour = "blue"', "endpoints[1] (name 'provider-a').colour: unknown field"),
    ],
)
def test_errors_name_the_field_and_endpoint(tmp_path: Path, snippet: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD + snippet + "\n"))
    assert expected in str(err.value)


def test_bad_url_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"endpoints\[0\] \(name 'reference'\)\.base_url"):
        load_config(write(tmp_path, GOOD.replace("http://127.0.0.1:8001/v1/", "127.0.0.1:8001")))


def test_exactly_one_reference() -> None:
    eps = [{"name": n, "base_url": "http://x/v1", "model": "m"} for n in ("a", "b")]
    with pytest.raises(ConfigError, match="exactly one endpoint must have reference = true"):
        parse_config({"endpoints": eps})
    eps[0]["reference"] = eps[1]["reference"] = True
    with pytest.raises(ConfigError, match="found: a, b"):
        parse_config({"endpoints": eps})


def test_duplicate_names_rejected() -> None:
    eps = [{"name": "a", "base_url": "http://x/v1", "model": "m", "reference": i == 0} for i in range(2)]
    with pytest.raises(ConfigError, match="unique"):
        parse_config({"endpoints": eps})


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[[endpoints]\n"))


def test_missing_key_variable_is_a_clear_error(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match=r"REF_KEY.*not set"):
        cfg.reference.api_key({})
    assert cfg.reference.api_key({"REF_KEY": "k"}) == "k"


def test_declared_family_must_be_known(tmp_path: Path) -> None:
    ok = load_config(write(tmp_path, GOOD.replace('quantization = "fp8" }', 'quantization = "fp8", family = "Qwen" }')))
    assert ok.endpoint("provider-a").declared.family == "Qwen"  # an alias, any case
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, GOOD.replace('quantization = "fp8" }', 'quantization = "fp8", family = "qwen4" }')))
    msg = str(err.value)
    assert "endpoints[1] (provider-a)" in msg or "provider-a" in msg
    assert "unknown family 'qwen4'" in msg and "known families: kimi-k2, kimi-k3" in msg and "gemma4" in msg


def test_gateway_config_rejects_an_unknown_family() -> None:
    from parity.gateway import parse_gateway_config

    raw = {"endpoints": [{"name": "a", "base_url": "http://a.test/v1", "model": "m",
                         "declared": {"family": "qwen4"}}],
           "models": [{"alias": "m", "endpoints": ["a"]}]}
    with pytest.raises(ConfigError, match=r"unknown family 'qwen4'; known families: .*qwen3"):
        parse_gateway_config(raw)


# One shape of message for every configuration file: the same mistake in an endpoint reads the
# same in parity.toml and in the gateway's file, and the [watch] section names its places the
# same way under "watch".
ENDPOINT_MISTAKES = [
    ({"max_attempts": 0}, "endpoints[1] (name 'b').max_attempts: Input should be greater than or equal to 1"),
    ({"colour": "blue"}, "endpoints[1] (name 'b').colour: unknown field"),
    ({"reference": "yes"}, "endpoints[1] (name 'b').reference: Input should be a valid boolean"),
    ({"base_url": "nope"}, "endpoints[1] (name 'b').base_url: "),
]


def _error_lines(call: object) -> list[str]:
    with pytest.raises(ConfigError) as err:
        call()  # type: ignore[operator]
    head, *lines = str(err.value).splitlines()
    assert head.startswith("src.toml: invalid ")
    return lines


@pytest.mark.parametrize(("patch", "line"), ENDPOINT_MISTAKES)
def test_parity_and_gateway_configs_report_an_endpoint_alike(patch: dict[str, object], line: str) -> None:
    from parity.gateway import parse_gateway_config

    endpoints = [{"name": "a", "base_url": "http://a.test/v1", "model": "m", "reference": True},
                 {"name": "b", "base_url": "http://b.test/v1", "model": "m", **patch}]
    parity = _error_lines(lambda: parse_config({"endpoints": endpoints}, source="src.toml"))
    gateway = _error_lines(lambda: parse_gateway_config(
        {"endpoints": endpoints, "models": [{"alias": "m", "endpoints": ["a", "b"]}]}, source="src.toml"))
    assert parity == gateway
    assert len(parity) == 1 and parity[0].startswith("  " + line)


def test_a_section_names_its_places_under_its_table() -> None:
    from parity.watch._config import parse_watch

    config = parse_config({"endpoints": [{"name": "a", "base_url": "http://a.test/v1", "model": "m",
                                          "reference": True}]})
    lines = _error_lines(lambda: parse_watch({"sentinel": {"colour": 1}}, config, source="src.toml"))
    assert lines == ["  watch.sentinel.colour: unknown field"]
