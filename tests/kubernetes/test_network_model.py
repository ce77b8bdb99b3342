"""The NetworkPolicy model the flow matrix relies on follows Kubernetes semantics, case by case."""

from __future__ import annotations

from tests.kubernetes.network_model import Cluster, Endpoint

NS = {"app": {"kubernetes.io/metadata.name": "app"}, "mon": {"kubernetes.io/metadata.name": "mon", "team": "obs"}}
WEB = Endpoint("web", "app", {"role": "web"}, (("http", 8080, "TCP"),), "10.250.0.1")
DB = Endpoint("db", "app", {"role": "db"}, (("main", 5432, "TCP"),), "10.250.0.2")
PROM = Endpoint("prom", "mon", {"role": "prom"}, (), "10.250.0.3")
OTHER = Endpoint("other", "mon", {"role": "db"}, (), "10.250.0.4")
NET = Endpoint("net", None, {}, (), "203.0.113.5")


def policy(namespace="app", selector=None, types=("Ingress", "Egress"), ingress=None, egress=None):
    spec = {"podSelector": {"matchLabels": selector} if selector else {}, "policyTypes": list(types)}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"metadata": {"namespace": namespace}, "spec": spec}


def cluster(*policies):
    return Cluster(NS, [WEB, DB, PROM, OTHER, NET], list(policies))


DENY = policy()


def test_no_policy_allows_everything_and_default_deny_blocks_both_ways():
    assert cluster().allows(WEB, DB, 5432)
    assert not cluster(DENY).allows(WEB, DB, 5432)
    assert not cluster(DENY).allows(PROM, WEB, 8080)
    assert cluster(DENY).allows(PROM, OTHER, 1)  # another namespace's pods are not isolated


def test_both_ends_must_allow_and_policies_add_up():
    web_out = policy(selector={"role": "web"}, types=("Egress",), egress=[{"to": [{"podSelector": {"matchLabels": {"role": "db"}}}], "ports": [{"port": 5432}]}])
    db_in = policy(selector={"role": "db"}, types=("Ingress",), ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "web"}}}], "ports": [{"port": 5432, "protocol": "TCP"}]}])
    assert not cluster(DENY, web_out).allows(WEB, DB, 5432)  # the database side still denies
    assert not cluster(DENY, db_in).allows(WEB, DB, 5432)  # the client side still denies
    assert cluster(DENY, web_out, db_in).allows(WEB, DB, 5432)
    assert not cluster(DENY, web_out, db_in).allows(WEB, DB, 5433)
    assert not cluster(DENY, web_out, db_in).allows(WEB, DB, 5432, "UDP")


def test_pod_selector_alone_means_the_policy_namespace_and_namespace_selector_narrows():
    same_ns = policy(selector={"role": "db"}, types=("Ingress",), ingress=[{"from": [{"podSelector": {"matchLabels": {"role": "prom"}}}]}])
    assert not cluster(same_ns).allows(PROM, DB, 5432)  # prom lives in another namespace
    both = policy(selector={"role": "db"}, types=("Ingress",), ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "obs"}}, "podSelector": {"matchLabels": {"role": "prom"}}}]}])
    assert cluster(both).allows(PROM, DB, 5432) and not cluster(both).allows(OTHER, DB, 5432)
    whole_ns = policy(selector={"role": "db"}, types=("Ingress",), ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "obs"}}}]}])
    assert cluster(whole_ns).allows(OTHER, DB, 5432)


def test_rules_without_peers_or_ports_match_everything():
    open_in = policy(selector={"role": "db"}, types=("Ingress",), ingress=[{}])
    assert cluster(open_in).allows(NET, DB, 65000)


def test_ip_blocks_respect_except_and_named_ports_resolve_on_the_destination():
    out = policy(selector={"role": "web"}, types=("Egress",), egress=[
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["203.0.113.0/24"]}}], "ports": [{"port": 443}]},
        {"to": [{"podSelector": {"matchLabels": {"role": "db"}}}], "ports": [{"port": "main"}]},
    ])
    assert not cluster(DENY, out).allows(WEB, NET, 443)
    assert not cluster(DENY, out).allows(WEB, DB, 5432)  # db's ingress still denies
    assert cluster(out).allows(WEB, DB, 5432) and not cluster(out).allows(WEB, DB, 5433)


def test_policy_types_default_to_ingress_plus_egress_when_egress_rules_exist():
    ingress_only = {"metadata": {"namespace": "app"}, "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}}
    assert cluster(ingress_only).allows(WEB, NET, 443)  # egress not isolated
    assert not cluster(ingress_only).allows(PROM, WEB, 8080)  # ingress isolated to same-namespace pods
