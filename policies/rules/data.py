"""Databases, caches and brokers: private only, encrypted at rest and in transit, auth on.

Seed 001: encryption at rest for all data, end-to-end encryption; seed 002: TLS in transit,
AES-256 at rest; seed 003: database connection encryption, VPC/subnet isolation; seed 004: all
secrets in a secret manager.

Covered: Cloud SQL, Memorystore, Firestore, the RabbitMQ Compute Engine VM (Cloud Run), RDS,
ElastiCache, DocumentDB and Amazon MQ. Where a service makes a property impossible to get wrong it
is not checked (documented in docs/policies.md): GCP encrypts every store at rest, Firestore is
reached only through TLS-authenticated Google APIs, DocumentDB and ElastiCache live only inside a
VPC, Amazon MQ always encrypts at rest and serves AMQPS.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pulumi_policy import ResourceValidationArgs, Severity

from .backups import is_global_secondary
from .base import Check, resource_policy
from .props import get, is_set, present, seq, truthy

CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
MEMORYSTORE = "gcp:redis/instance:Instance"
FIRESTORE = "gcp:firestore/database:Database"
GCE_INSTANCE = "gcp:compute/instance:Instance"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
DOCDB = "aws:docdb/cluster:Cluster"
DOCDB_PARAMS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MQ = "aws:mq/broker:Broker"


@resource_policy(
    name="data-private-only",
    theme="data",
    summary="Databases, caches and brokers have no public endpoint.",
    severity=Severity.CRITICAL,
    types=(CLOUD_SQL, MEMORYSTORE, GCE_INSTANCE, RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE, MQ),
    checks="Cloud SQL: settings.ipConfiguration.ipv4Enabled false, a privateNetwork (or PSC) and no "
    "authorizedNetworks; Memorystore: an explicit authorizedNetwork (the VPC); Compute Engine VMs (the "
    "RabbitMQ host): no external accessConfigs; RDS instances, Aurora cluster instances and Amazon MQ: "
    "publiclyAccessible not true; RDS clusters: publiclyAccessible not true, and not left unset without a "
    "dbSubnetGroupName (or with `default`), where a Multi-AZ DB cluster defaults to public.",
    source="seed 003 (VPC/subnet isolation, database security); seed 001 (network security)",
    remediation="Cloud SQL: ip_configuration(ipv4_enabled=False, private_network=<vpc>); Memorystore: "
    "authorized_network=<vpc>, connect_mode=PRIVATE_SERVICE_ACCESS; VMs: no access_configs (egress through "
    "Cloud NAT); RDS/MQ: publicly_accessible=False in private subnets.",
)
def data_private_only(args: ResourceValidationArgs, check: Check) -> None:
    kind, props = args.resource_type, args.props
    if kind == CLOUD_SQL:
        ip = "settings.ipConfiguration"
        ipv4 = truthy(get(props, f"{ip}.ipv4Enabled"))
        if check.known(ipv4, f"{ip}.ipv4Enabled") and ipv4 is not False:
            check.fail("Cloud SQL has a public IPv4 address: set settings.ipConfiguration.ipv4Enabled: false.")
        network, psc = get(props, f"{ip}.privateNetwork"), get(props, f"{ip}.pscConfigs")
        if not present(network) and not present(psc):
            check.fail("Cloud SQL has no private network: set settings.ipConfiguration.privateNetwork.")
        authorized = seq(get(props, f"{ip}.authorizedNetworks"))
        if check.known(authorized, f"{ip}.authorizedNetworks") and authorized:
            check.fail("Cloud SQL lists authorizedNetworks (public client ranges): remove them.")
    elif kind == MEMORYSTORE:
        if not present(get(props, "authorizedNetwork")):
            check.fail("Memorystore has no authorizedNetwork: it would attach to the 'default' network.")
    elif kind == GCE_INSTANCE:
        nics = seq(get(props, "networkInterfaces"), "networkInterfaces")
        if not check.known(nics, "networkInterfaces"):
            return
        for index, nic in enumerate(nics):
            for key in ("accessConfigs", "ipv6AccessConfigs"):
                value = get(nic, key)
                if check.known(value, f"networkInterfaces[{index}].{key}") and is_set(value):
                    check.fail(f"VM network interface {index} has an external address ({key}).")
    else:
        public = truthy(get(props, "publiclyAccessible"))
        if check.known(public, "publiclyAccessible") and public is True:
            check.fail("publiclyAccessible is true: the endpoint resolves to a public IP.")
        elif kind == RDS_CLUSTER and public is None:
            # pulumi_aws rds.Cluster: "If not specified, defaults to `true` when `db_subnet_group_name`
            # is not set or is `default`" (Multi-AZ DB clusters; Aurora ignores it, so it costs nothing)
            group = get(props, "dbSubnetGroupName")
            if check.known(group, "dbSubnetGroupName") and (not present(group) or group == "default"):
                check.fail(
                    "publiclyAccessible is unset and the cluster has no DB subnet group (or `default`): RDS "
                    "makes such a cluster public; set publiclyAccessible: false and a private dbSubnetGroupName."
                )


@resource_policy(
    name="data-encrypted-at-rest",
    theme="data",
    summary="AWS data stores encrypt their storage.",
    severity=Severity.HIGH,
    types=(RDS_INSTANCE, RDS_CLUSTER, DOCDB, ELASTICACHE),
    checks="RDS/Aurora and DocumentDB: storageEncrypted true; ElastiCache: atRestEncryptionEnabled true "
    "(valkey defaults to on; a global datastore's secondary takes its primary's). GCP stores and Amazon MQ are always encrypted at rest (not configurable off).",
    source="seed 001 (encryption at rest for all data); seed 002 (AES-256 at rest); seed 003 (backup encryption)",
    remediation="storage_encrypted=True (optionally kms_key_id) on RDS/DocumentDB; at_rest_encryption_enabled=True "
    "on ElastiCache. Encryption cannot be switched on in place: plan a snapshot restore for existing stores.",
)
def data_encrypted_at_rest(args: ResourceValidationArgs, check: Check) -> None:
    secondary = is_global_secondary(args.resource_type, args.props)
    if not check.known(secondary, "global membership") or (secondary and args.resource_type == ELASTICACHE):
        return  # a global datastore's secondary takes its primary's encryption (checked on the primary)
    if args.resource_type == ELASTICACHE:
        value, engine = truthy(get(args.props, "atRestEncryptionEnabled")), get(args.props, "engine")
        if not (check.known(value, "atRestEncryptionEnabled") and check.known(engine, "engine")):
            return
        if value is False or (value is None and engine != "valkey"):
            check.fail("ElastiCache storage is not encrypted: set atRestEncryptionEnabled: true.")
        return
    value = truthy(get(args.props, "storageEncrypted"))
    if check.known(value, "storageEncrypted") and value is not True:
        check.fail("storage is not encrypted: set storageEncrypted: true.")


_FORCE_SSL_DEFAULT_MAJOR = 15  # RDS for PostgreSQL 15+ defaults rds.force_ssl to 1


def _major(version: Any) -> int:
    match = re.match(r"(\d+)", str(version or ""))
    return int(match.group(1)) if match else 0


def _default_group_problem(group: Any) -> Optional[str]:
    """Why a parameter group *name* is an RDS default group that does not force TLS (None when the
    name is not a default group, or is one of a family that forces TLS: `default.postgres15`+).
    `default.<family>` groups carry the engine defaults and cannot be changed."""
    if not isinstance(group, str) or not group.startswith("default."):
        return None
    family = group[len("default."):]
    if family.startswith("postgres") and _major(family[len("postgres"):]) >= _FORCE_SSL_DEFAULT_MAJOR:
        return None
    return f"parameter group {group} is the engine default, which does not force TLS"


def _parameters(props: Any, check: Check) -> dict[str, Any]:
    listed = seq(get(props, "parameters"), "parameters")
    if not check.known(listed, "parameters"):
        return {}
    found: dict[str, Any] = {}
    for index, parameter in enumerate(listed):
        name, value = get(parameter, "name"), get(parameter, "value")
        if check.known(name, f"parameters[{index}].name") and check.known(value, f"parameters[{index}].value"):
            # values are strings in the API, but a program may pass numbers (floats under the CLI)
            found[str(name)] = f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
    return found


@resource_policy(
    name="data-encrypted-in-transit",
    theme="data",
    summary="Clients must use TLS to reach databases and caches.",
    severity=Severity.HIGH,
    types=(CLOUD_SQL, MEMORYSTORE, ELASTICACHE, RDS_INSTANCE, RDS_CLUSTER, RDS_PARAMS, RDS_CLUSTER_PARAMS, DOCDB_PARAMS),
    checks="Cloud SQL: settings.ipConfiguration.sslMode ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED; "
    "Memorystore: transitEncryptionMode SERVER_AUTHENTICATION; ElastiCache: transitEncryptionEnabled true "
    "(mode not 'preferred'; a global datastore's secondary takes its primary's); RDS PostgreSQL < 15 / MySQL and Aurora: a custom parameter group that forces TLS "
    "(a named `default.<family>` group counts as none, except default.postgres15+; PostgreSQL without a "
    "version gets the default major, which forces TLS); "
    "parameter groups: rds.force_ssl / require_secure_transport not off; DocumentDB: tls not disabled.",
    source="seed 003 (database connection encryption); seed 001 (end-to-end encryption); seed 002 (TLS in transit)",
    remediation="Cloud SQL ssl_mode=\"ENCRYPTED_ONLY\"; Memorystore transit_encryption_mode=\"SERVER_AUTHENTICATION\" "
    "(clients use the server CA); ElastiCache transit_encryption_enabled=True; RDS parameter group rds.force_ssl=1 "
    "(PostgreSQL) or require_secure_transport=ON (MySQL); DocumentDB tls=enabled.",
)
def data_encrypted_in_transit(args: ResourceValidationArgs, check: Check) -> None:
    kind, props = args.resource_type, args.props
    if kind == CLOUD_SQL:
        mode = get(props, "settings.ipConfiguration.sslMode")
        if check.known(mode, "settings.ipConfiguration.sslMode") and mode not in (
            "ENCRYPTED_ONLY",
            "TRUSTED_CLIENT_CERTIFICATE_REQUIRED",
        ):
            check.fail(f"sslMode is {mode or 'unset (ALLOW_UNENCRYPTED_AND_ENCRYPTED)'}: set ENCRYPTED_ONLY.")
    elif kind == MEMORYSTORE:
        mode = get(props, "transitEncryptionMode")
        if check.known(mode, "transitEncryptionMode") and mode != "SERVER_AUTHENTICATION":
            check.fail(f"transitEncryptionMode is {mode or 'unset (DISABLED)'}: set SERVER_AUTHENTICATION.")
    elif kind == ELASTICACHE:
        secondary = is_global_secondary(kind, props)
        if not check.known(secondary, "globalReplicationGroupId") or secondary:
            return  # a global datastore's secondary takes its primary's TLS setting (checked on the primary)
        enabled, mode = truthy(get(props, "transitEncryptionEnabled")), get(props, "transitEncryptionMode")
        if check.known(enabled, "transitEncryptionEnabled") and enabled is not True:
            check.fail("transitEncryptionEnabled is not true: clients can connect without TLS.")
        if check.known(mode, "transitEncryptionMode") and mode == "preferred":
            check.fail("transitEncryptionMode is 'preferred': plaintext connections are still accepted; use 'required'.")
    elif kind == RDS_INSTANCE:
        engine, version, group = get(props, "engine"), get(props, "engineVersion"), get(props, "parameterGroupName")
        if not (check.known(engine, "engine") and check.known(version, "engineVersion")):
            return
        problem = _default_group_problem(group)
        if problem:
            check.fail(f"{problem}: attach a custom group with rds.force_ssl=1 (PostgreSQL) or require_secure_transport=ON.")
            return
        if present(group):
            return  # a custom group: judged by its own ParameterGroup resource
        # no version: RDS creates the default major, which forces TLS for PostgreSQL (17 today, 15+)
        if engine == "postgres" and (not version or _major(version) >= _FORCE_SSL_DEFAULT_MAJOR):
            return
        shown = f"{engine} {version}" if isinstance(engine, str) and isinstance(version, str) else "this engine version"
        check.fail(
            f"engine {shown} does not force TLS by default: attach a parameter group with "
            "rds.force_ssl=1 (PostgreSQL) or require_secure_transport=ON (MySQL/MariaDB)."
        )
    elif kind == RDS_CLUSTER:
        group = get(props, "dbClusterParameterGroupName")
        problem = _default_group_problem(group)
        if problem or not present(group):
            check.fail(f"{problem or 'the cluster uses the default cluster parameter group'}, which does not force TLS: "
                       "attach a custom cluster parameter group with rds.force_ssl=1 or require_secure_transport=ON.")
    elif kind in (RDS_PARAMS, RDS_CLUSTER_PARAMS):
        family = get(props, "family")
        if not check.known(family, "family"):
            return
        params = _parameters(props, check)
        family = str(family or "")
        force, secure = params.get("rds.force_ssl"), params.get("require_secure_transport")
        if force == "0" or (secure or "").upper() in ("0", "OFF"):
            check.fail("the parameter group turns TLS enforcement off.")
        elif family.startswith("aurora-postgresql") or (
            family.startswith("postgres") and _major(family[len("postgres"):]) < _FORCE_SSL_DEFAULT_MAJOR
        ):
            if force != "1":
                check.fail(f"family {family} does not force TLS by default: set rds.force_ssl=1.")
        elif family.startswith(("mysql", "aurora-mysql", "mariadb")) and (secure or "").upper() not in ("1", "ON"):
            check.fail(f"family {family}: set require_secure_transport=ON.")
    elif kind == DOCDB_PARAMS:
        params = _parameters(props, check)
        if params.get("tls") == "disabled":
            check.fail("DocumentDB parameter group disables TLS (tls=disabled).")


@resource_policy(
    name="data-auth-enabled",
    theme="data",
    summary="Caches require authentication.",
    severity=Severity.HIGH,
    types=(MEMORYSTORE, ELASTICACHE),
    checks="Memorystore: authEnabled true; ElastiCache: an authToken (or write-only authTokenWo) or RBAC "
    "userGroupIds. (Cloud SQL, RDS, DocumentDB and Amazon MQ always require credentials.)",
    source="seed 003 (database security: role-based access control); seed 004 (Redis connections configured "
    "with credentials from the secret manager)",
    remediation="Memorystore auth_enabled=True (the AUTH string flows into the secret store); ElastiCache "
    "auth_token from a random secret, or user_group_ids.",
)
def data_auth_enabled(args: ResourceValidationArgs, check: Check) -> None:
    if args.resource_type == MEMORYSTORE:
        enabled = truthy(get(args.props, "authEnabled"))
        if check.known(enabled, "authEnabled") and enabled is not True:
            check.fail("Memorystore AUTH is off: set authEnabled: true.")
        return
    if not any(present(get(args.props, key, secret_ok=True)) for key in ("authToken", "authTokenWo", "userGroupIds")):
        check.fail("ElastiCache accepts unauthenticated clients: set authToken or userGroupIds.")
