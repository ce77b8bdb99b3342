"""The pack's rules, grouped by theme. `ALL_POLICIES` is what the pack (and the offline plan) runs.

Imports inside this package are relative, so it works both as `policies.rules` (tests, the
offline plan) and as the top-level `rules` package when the Pulumi CLI runs `policies/__main__.py`
with only `policies/` on sys.path.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import availability, backups, containers, data, exposure, hsts, iam, network, pod_security, protection, releases, secrets, storage, tagging, transport, waf

THEMES = (transport, waf, data, backups, protection, availability, containers, secrets, network, storage, tagging,
          iam, exposure, pod_security, hsts, releases)

ALL_POLICIES: list[Policy] = [
    # transport
    transport.https_only,
    transport.tls_1_2_minimum,
    transport.origin_https_only,
    transport.http_redirects_to_https,
    # waf
    waf.waf_on_public_edge,
    waf.waf_managed_rules_and_rate_limits,
    # data
    data.data_private_only,
    data.data_encrypted_at_rest,
    data.data_encrypted_in_transit,
    data.data_auth_enabled,
    # backups
    backups.backups_enabled,
    backups.backups_meet_rpo,
    # protection (environment specific)
    protection.deletion_protection,
    protection.stateful_resources_protected,
    # availability (environment specific)
    availability.ha_in_production,
    availability.min_replicas,
    availability.pdb_for_multi_replica,
    # containers
    containers.container_non_root,
    containers.container_read_only_root_fs,
    containers.container_no_privilege_escalation,
    containers.container_capabilities_dropped,
    containers.container_resources,
    containers.container_probes,
    containers.container_image_pinned,
    # secrets
    secrets.no_plain_secret_env,
    # network
    network.default_deny_network_policy,
    network.no_public_load_balancer_service,
    network.gke_private_nodes,
    network.ecs_no_public_ip,
    network.cloudrun_ingress_restricted,
    # storage
    storage.bucket_public_access_prevented,
    storage.bucket_versioning,
    storage.bucket_retention_lifecycle,
    # tagging
    tagging.resource_labels,
    # iam
    iam.no_primitive_iam_roles,
    iam.no_public_iam_members,
    # exposure
    exposure.no_internet_open_non_edge_ports,
    # pod security
    pod_security.pod_seccomp_profile,
    pod_security.pod_no_host_access,
    pod_security.pod_service_account_token,
    pod_security.no_nodeport_service,
    # hsts
    hsts.hsts_on_public_edge,
    hsts.cloudfront_hsts,
    # releases (environment specific)
    releases.automatic_rollback_in_production,
]

POLICIES_BY_NAME: dict[str, Policy] = {p.name: p for p in ALL_POLICIES}
ENVIRONMENT_SPECIFIC: tuple[str, ...] = tuple(p.name for p in ALL_POLICIES if p.info.environment_specific)  # type: ignore[attr-defined]
