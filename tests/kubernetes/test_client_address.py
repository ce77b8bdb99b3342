"""The per-client rate limit keys on an address a client cannot choose.

ingress-nginx believes X-Forwarded-For (or a PROXY-protocol header) when `enable-real-ip`,
`use-forwarded-headers` or `use-proxy-protocol` is on, from the addresses in
`proxy-real-ip-cidr`, whose chart default is 0.0.0.0/0: then any client sets its own address.
Every ingress-nginx release of every stack must either believe no header or believe it only from
the configured proxy ranges, never from everyone.
"""

from __future__ import annotations

import ipaddress

import pytest

from components.config import ConfigError, parse_stack_config
from components.edge.kubernetes import client_address_config
from tests.helpers import make_context, plan_of, run_component, stack_raw_config
from tests.kubernetes.test_edge_and_namespace import build_edge
from tools.plan import available_stacks

HEADER_SWITCHES = ("enable-real-ip", "use-forwarded-headers", "use-proxy-protocol")


def unsafe(config: dict, trusted: tuple[str, ...]) -> list[str]:
    """Why a controller ConfigMap lets clients pick their address (empty: it does not)."""
    believes = [key for key in HEADER_SWITCHES if str(config.get(key, "false")).lower() == "true"]
    if not believes:
        return []
    ranges = [r for r in str(config.get("proxy-real-ip-cidr", "0.0.0.0/0")).split(",") if r.strip()]
    problems = [f"{'/'.join(believes)} believes {r}" for r in ranges if ipaddress.ip_network(r.strip()).prefixlen == 0]
    if sorted(r.strip() for r in ranges) != sorted(trusted):
        problems.append(f"trusts {ranges}, configured proxies are {list(trusted)}")
    return problems


@pytest.mark.parametrize("stack", available_stacks())
def test_no_stack_lets_clients_choose_their_address(stack):
    plan = plan_of(stack)
    for release in plan.capture.of_type("kubernetes:helm.sh/v3:Release"):
        if release.inputs["chart"] != "ingress-nginx":
            continue
        config = release.inputs["values"]["controller"]["config"]
        trusted = make_context(stack).config.edge.ingress_nginx.trusted_proxy_cidrs
        assert unsafe(config, trusted) == [], stack


def test_dev_trusts_no_forwarded_address():
    capture = run_component(build_edge)
    config = capture.one("kubernetes:helm.sh/v3:Release").inputs["values"]["controller"]["config"]
    assert config["enable-real-ip"] == "false" and config["use-forwarded-headers"] == "false"
    assert "proxy-real-ip-cidr" not in config


def test_a_load_balancer_in_front_is_trusted_alone():
    trusted = ["10.0.0.0/24", "192.0.2.10/32"]
    overrides = {"edge": {"ingressNginx": {"install": True, "trustedProxyCidrs": trusted}}}
    capture = run_component(build_edge, overrides=overrides)
    config = capture.one("kubernetes:helm.sh/v3:Release").inputs["values"]["controller"]["config"]
    assert config["proxy-real-ip-cidr"] == "10.0.0.0/24,192.0.2.10/32" and config["enable-real-ip"] == "true"
    assert unsafe(config, tuple(trusted)) == []


def test_the_guard_catches_the_chart_default():
    assert unsafe({"enable-real-ip": "true"}, ()) == [
        "enable-real-ip believes 0.0.0.0/0",
        "trusts ['0.0.0.0/0'], configured proxies are []",
    ]
    assert unsafe(client_address_config(()), ()) == []


@pytest.mark.parametrize("bad, fragment", [("0.0.0.0/0", "trusts every address"), ("::/0", "trusts every address"), ("lb", "not a CIDR")])
def test_config_refuses_to_trust_everyone(bad, fragment):
    raw = stack_raw_config("dev", {"edge": {"ingressNginx": {"trustedProxyCidrs": [bad]}}})
    with pytest.raises(ConfigError) as info:
        parse_stack_config(raw, "Pulumi.dev.yaml")
    assert "edge.ingressNginx.trustedProxyCidrs" in str(info.value) and fragment in str(info.value)
