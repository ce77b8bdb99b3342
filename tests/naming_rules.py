"""The physical-name rules of every AWS and GCP resource type the program names.

Mocks accept any name; the providers and cloud APIs do not. Each rule says, for one input property
of one type: the longest (and shortest) value, the characters and case allowed (a regular
expression over the whole value, which also says how it must start and end), what it must not
look like, where it must be unique, and -- when the program leaves the property out -- how the
provider names it instead (Pulumi autonaming: `<logical name>-<7 random characters>`, the logical
name shortened so that the whole fits `autoname`).

Sources: the pinned SDK docstrings (pulumi-aws, pulumi-gcp), the cloud API references and the
Terraform provider's validation (which runs at `pulumi preview`). `tests/test_physical_names.py`
applies the table to every resource of every stack, including stacks with long and odd names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

# a name the cloud stores lower-case and DNS-like ("RFC 1035 label")
RFC1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
# RDS / DocumentDB / ElastiCache identifiers: a letter first, letters, digits, hyphens, no "--",
# no trailing hyphen
DB_IDENTIFIER = r"[a-z](?!.*--)[a-z0-9-]*[a-z0-9]|[a-z]"
SNAPSHOT_IDENTIFIER = r"[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]|[A-Za-z]"
ELB_NAME = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
DNS_NAME = r"(?=.{1,253}$)([A-Za-z0-9_*]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?"
PRINTABLE = r"[^\x00-\x1f\x7f]+"


@dataclass(frozen=True)
class Rule:
    field: str  # the engine (camelCase) input property
    max: int
    pattern: str  # must match the whole value
    scope: str  # where two resources may not share the value: global | account | region | project | parent
    min: int = 1
    not_pattern: Optional[str] = None  # must not match (anywhere)
    autoname: Optional[int] = None  # the provider names it when absent; total length it keeps to
    evidence: str = ""

    def problems(self, value: str) -> list[str]:
        found = []
        if not self.min <= len(value) <= self.max:
            found.append(f"{len(value)} characters, allowed {self.min}-{self.max}")
        if not re.fullmatch(self.pattern, value):
            found.append(f"does not match {self.pattern}")
        if self.not_pattern and re.search(self.not_pattern, value):
            found.append(f"must not match {self.not_pattern}")
        return found


def _compute(field: str = "name") -> list[Rule]:
    return [Rule(field, 63, RFC1035, "region", autoname=63,
                 evidence="pulumi-gcp compute docstrings: 1-63 characters, RFC 1035, first a lowercase letter, "
                 "then dashes, lowercase letters or digits, the last not a dash")]


def _certificate_manager(scope: str) -> list[Rule]:
    return [Rule("name", 64, r"[A-Za-z][A-Za-z0-9_-]*", scope,
                 evidence="pulumi-gcp certificatemanager docstrings: 1-64 characters matching "
                 "[a-zA-Z][a-zA-Z0-9_-]*")]


RULES: dict[str, list[Rule]] = {
    # ---------------------------------------------------------------- AWS
    "aws:appautoscaling/policy:Policy": [
        Rule("name", 255, PRINTABLE, "account", evidence="Application Auto Scaling PolicyName: 1-256, \\p{Print}")],
    "aws:backup/plan:Plan": [
        Rule("name", 50, r"[A-Za-z0-9_.-]+", "region", evidence="AWS Backup BackupPlanName: 1-50 alphanumeric, -_.")],
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": [
        Rule("name", 50, r"[A-Za-z0-9_]+", "region",
             evidence="pulumi-aws backup.RestoreTestingPlan name: 1-50 characters, only alphanumeric characters "
             "and underscores (no hyphens)")],
    "aws:backup/restoreTestingSelection:RestoreTestingSelection": [
        Rule("name", 50, r"[A-Za-z0-9_]+", "parent",
             evidence="AWS Backup RestoreTestingSelectionName: 1-50 alphanumeric characters and underscores, "
             "unique within its restore testing plan")],
    "aws:backup/selection:Selection": [
        Rule("name", 50, r"[A-Za-z0-9_.-]+", "parent", evidence="AWS Backup SelectionName: 1-50 alphanumeric, -_.")],
    "aws:backup/vault:Vault": [
        Rule("name", 50, r"[A-Za-z0-9_-]+", "region", min=2,
             evidence="AWS Backup BackupVaultName: 2-50 letters, digits, hyphens, underscores")],
    "aws:budgets/budget:Budget": [
        Rule("name", 100, r"[^:\\]+", "account", evidence="AWS Budgets BudgetName: 1-100, no ':' or '\\'; unique "
             "within the account (docstring)")],
    "aws:cloudfront/cachePolicy:CachePolicy": [
        Rule("name", 128, r"[A-Za-z0-9_-]+", "account", evidence="CloudFront policy names: 1-128 letters, digits, - _")],
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": [
        Rule("name", 128, r"[A-Za-z0-9_-]+", "account", evidence="CloudFront policy names: 1-128 letters, digits, - _")],
    "aws:cloudwatch/dashboard:Dashboard": [
        Rule("dashboardName", 255, r"[A-Za-z0-9_-]+", "account",
             evidence="CloudWatch PutDashboard: up to 255 alphanumerics, '-' and '_'")],
    "aws:cloudwatch/eventRule:EventRule": [
        Rule("name", 64, r"[.\-_A-Za-z0-9]+", "region", autoname=64,
             evidence="EventBridge PutRule Name: 1-64, [\\.\\-_A-Za-z0-9]+, unique per event bus")],
    "aws:cloudwatch/logGroup:LogGroup": [
        Rule("name", 512, r"[.\-_/#A-Za-z0-9]+", "region", autoname=512,
             evidence="CloudWatch Logs logGroupName: 1-512, [\\.\\-_/#A-Za-z0-9]+")],
    "aws:cloudwatch/metricAlarm:MetricAlarm": [
        Rule("name", 255, PRINTABLE, "region", evidence="CloudWatch AlarmName: 1-255 printable")],
    "aws:docdb/cluster:Cluster": [
        Rule("clusterIdentifier", 63, DB_IDENTIFIER, "region",
             evidence="DocumentDB DBClusterIdentifier: 1-63 lowercase letters, digits, hyphens; a letter first; "
             "no trailing hyphen or '--'"),
        Rule("finalSnapshotIdentifier", 255, SNAPSHOT_IDENTIFIER, "region",
             evidence="DocumentDB snapshot identifier: 1-255, a letter first, no trailing hyphen or '--'")],
    "aws:docdb/globalCluster:GlobalCluster": [
        Rule("globalClusterIdentifier", 255, DB_IDENTIFIER, "account",
             evidence="DocumentDB GlobalClusterIdentifier: a letter first, letters, digits, hyphens, no trailing "
             "hyphen or '--' (the provider's validation); one per account, spanning regions")],
    "aws:docdb/clusterInstance:ClusterInstance": [
        Rule("identifier", 63, DB_IDENTIFIER, "region", evidence="DocumentDB DBInstanceIdentifier: as the cluster")],
    "aws:docdb/clusterParameterGroup:ClusterParameterGroup": [
        Rule("name", 255, DB_IDENTIFIER, "region", evidence="DocumentDB parameter group name: a letter first, "
             "lowercase letters, digits, hyphens, no trailing hyphen or '--'")],
    "aws:docdb/subnetGroup:SubnetGroup": [
        Rule("name", 255, r"[a-z0-9 ._-]+", "region", not_pattern=r"^default$",
             evidence="DB subnet group name: up to 255 lowercase letters, digits, spaces, . _ -; not 'default'")],
    "aws:ec2/securityGroup:SecurityGroup": [
        Rule("name", 255, r"[ -~]+", "parent", not_pattern=r"^sg-", autoname=255,
             evidence="EC2 GroupName: up to 255 ASCII characters, unique in its VPC, cannot start with 'sg-'")],
    "aws:ecs/cluster:Cluster": [
        Rule("name", 255, r"[A-Za-z0-9_-]+", "region",
             evidence="docstring: up to 255 letters, numbers, hyphens, and underscores")],
    "aws:ecs/service:Service": [
        Rule("name", 255, r"[A-Za-z0-9_-]+", "parent",
             evidence="docstring: up to 255 letters, numbers, hyphens, and underscores; unique in its cluster")],
    "aws:ecs/taskDefinition:TaskDefinition": [
        Rule("family", 255, r"[A-Za-z0-9_-]+", "region", evidence="ECS family: up to 255 letters, digits, - _")],
    "aws:elasticache/replicationGroup:ReplicationGroup": [
        Rule("replicationGroupId", 40, DB_IDENTIFIER, "region",
             evidence="ElastiCache ReplicationGroupId: 1-40, a letter first, letters, digits, hyphens, no "
             "trailing hyphen or '--' (stored lower-case)"),
        Rule("finalSnapshotIdentifier", 255, SNAPSHOT_IDENTIFIER, "region",
             evidence="ElastiCache snapshot name: a letter first, letters, digits, hyphens")],
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": [
        Rule("globalReplicationGroupIdSuffix", 40, DB_IDENTIFIER, "account",
             evidence="ElastiCache GlobalReplicationGroupIdSuffix: AWS names the datastore '<5-letter region "
             "prefix>-<suffix>'; the program keeps the suffix to the ReplicationGroupId rules (1-40, a letter "
             "first, no trailing hyphen or '--'); unique in the account")],
    "aws:elasticache/subnetGroup:SubnetGroup": [
        Rule("name", 255, r"[a-z0-9-]+", "region",
             evidence="ElastiCache CacheSubnetGroupName: up to 255 lowercase letters, digits, hyphens")],
    "aws:iam/role:Role": [
        Rule("name", 64, r"[\w+=,.@-]+", "global", autoname=64,
             evidence="IAM RoleName: 1-64 [\\w+=,.@-]; pulumi-aws autonames it within 64"),
        Rule("namePrefix", 38, r"[\w+=,.@-]+", "global", evidence="IAM name_prefix: at most 38")],
    "aws:iam/rolePolicy:RolePolicy": [
        Rule("name", 128, r"[\w+=,.@-]+", "parent", autoname=128, evidence="IAM PolicyName: 1-128 [\\w+=,.@-]")],
    "aws:kms/alias:Alias": [
        Rule("name", 256, r"alias/[A-Za-z0-9/_-]+", "region", not_pattern=r"^alias/aws/",
             evidence="KMS AliasName: 1-256, 'alias/' + letters, digits, / _ -; 'alias/aws/' is reserved")],
    "aws:lb/loadBalancer:LoadBalancer": [
        Rule("name", 32, ELB_NAME, "region", not_pattern=r"^internal-", autoname=32,
             evidence="docstring: at most 32 alphanumerics or hyphens, not beginning or ending with a hyphen; "
             "must not begin with 'internal-'")],
    "aws:lb/targetGroup:TargetGroup": [
        Rule("name", 32, ELB_NAME, "region", autoname=32,
             evidence="docstring: unique per region per account, at most 32 characters, alphanumerics or "
             "hyphens, not beginning or ending with a hyphen")],
    "aws:mq/broker:Broker": [
        Rule("brokerName", 50, r"[A-Za-z0-9_.~-]+", "region",
             evidence="Amazon MQ BrokerName: 1-50 alphanumerics, dashes, periods, underscores, tildes")],
    "aws:rds/instance:Instance": [
        Rule("identifier", 63, DB_IDENTIFIER, "region",
             evidence="RDS DBInstanceIdentifier: 1-63 lowercase letters, digits, hyphens; a letter first; "
             "no trailing hyphen or '--'"),
        Rule("finalSnapshotIdentifier", 255, SNAPSHOT_IDENTIFIER, "region",
             evidence="RDS DBSnapshotIdentifier: 1-255, a letter first, no trailing hyphen or '--'"),
        Rule("dbName", 63, r"[A-Za-z][A-Za-z0-9_]*", "parent",
             evidence="RDS for PostgreSQL DBName: 1-63 letters, digits, underscores, a letter first")],
    "aws:rds/parameterGroup:ParameterGroup": [
        Rule("name", 255, DB_IDENTIFIER, "region", evidence="RDS DBParameterGroupName: a letter first, lowercase "
             "letters, digits, hyphens, no trailing hyphen or '--'")],
    "aws:rds/subnetGroup:SubnetGroup": [
        Rule("name", 255, r"[a-z0-9 ._-]+", "region", not_pattern=r"^default$",
             evidence="DBSubnetGroupName: up to 255 lowercase letters, digits, spaces, . _ -; not 'default'")],
    "aws:route53/healthCheck:HealthCheck": [
        Rule("referenceName", 27, r"[ -~]+", "account",
             evidence="Terraform aws_route53_health_check reference_name: at most 27 characters (the provider "
             "appends a unique suffix to form the 64-character CallerReference); checked at preview")],
    "aws:route53/record:Record": [
        Rule("name", 253, DNS_NAME, "parent", evidence="Route 53 record name: a DNS name, labels up to 63"),
        Rule("setIdentifier", 128, r"[ -~]+", "parent", evidence="Route 53 SetIdentifier: 1-128")],
    "aws:s3/bucket:Bucket": [
        Rule("bucket", 63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]", "global", min=3,
             not_pattern=r"\.\.|^xn--|^sthree-|-s3alias$|--ol-s3$|^\d+\.\d+\.\d+\.\d+$", autoname=63,
             evidence="S3 bucket naming rules: 3-63 lowercase letters, digits, dots, hyphens; a letter or digit "
             "at both ends; no '..', no IP address, no 'xn--'/'sthree-' prefix, no '-s3alias' suffix; "
             "globally unique")],
    "aws:secretsmanager/secret:Secret": [
        Rule("name", 512, r"[A-Za-z0-9/_+=.@-]+", "region", autoname=512,
             evidence="Secrets Manager Name: 1-512 letters, digits, /_+=.@-")],
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": [
        Rule("name", 253, DNS_NAME, "parent", evidence="Cloud Map namespace: a DNS name (the hosted zone)")],
    "aws:servicediscovery/service:Service": [
        Rule("name", 63, r"[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?", "parent",
             evidence="Cloud Map service name: one DNS label of its namespace")],
    "aws:sns/topic:Topic": [
        Rule("name", 256, r"[A-Za-z0-9_-]+(\.fifo)?", "region", autoname=256,
             evidence="docstring: only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, "
             "1-256 characters")],
    "aws:wafv2/webAcl:WebAcl": [
        Rule("name", 128, r"[\w-]+", "region", evidence="WAFv2 Name: 1-128, [\\w-]+")],
    # ---------------------------------------------------------------- GCP
    "gcp:certificatemanager/certificate:Certificate": _certificate_manager("project"),
    "gcp:certificatemanager/certificateMap:CertificateMap": _certificate_manager("project"),
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": _certificate_manager("parent"),
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": _certificate_manager("project"),
    "gcp:cloudrunv2/service:Service": [
        Rule("name", 49, RFC1035, "region", evidence="Cloud Run service names: RFC 1035, fewer than 50 characters")],
    "gcp:cloudrunv2/job:Job": [
        Rule("name", 49, RFC1035, "region", evidence="Cloud Run job names: RFC 1035; held to the service names' "
             "limit (fewer than 50), the tightest Cloud Run name rule, as executions append a suffix to it")],
    "gcp:cloudrunv2/workerPool:WorkerPool": [
        Rule("name", 49, RFC1035, "region", evidence="Cloud Run worker pool names: as services")],
    "gcp:cloudscheduler/job:Job": [
        Rule("name", 500, r"[A-Za-z0-9_-]+", "region", evidence="Cloud Scheduler job id: letters, digits, - _, "
             "up to 500")],
    "gcp:compute/address:Address": _compute(),
    "gcp:compute/backendService:BackendService": _compute(),
    "gcp:compute/disk:Disk": _compute(),
    "gcp:compute/firewall:Firewall": _compute(),
    "gcp:compute/globalAddress:GlobalAddress": _compute(),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": _compute(),
    "gcp:compute/instance:Instance": _compute(),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": _compute(),
    "gcp:compute/network:Network": _compute(),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": _compute(),
    "gcp:compute/resourcePolicy:ResourcePolicy": _compute(),
    "gcp:compute/router:Router": _compute(),
    "gcp:compute/healthCheck:HealthCheck": _compute(),
    "gcp:compute/instanceTemplate:InstanceTemplate": _compute() + [
        Rule("namePrefix", 54, r"[a-z][-a-z0-9]*", "project",
             evidence="pulumi-gcp compute.InstanceTemplate name_prefix: max 54 characters (a generated "
             "suffix follows), RFC 1035 start")],
    "gcp:compute/regionDisk:RegionDisk": _compute(),
    "gcp:compute/regionDiskResourcePolicyAttachment:RegionDiskResourcePolicyAttachment": _compute(),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": _compute(),
    "gcp:compute/regionPerInstanceConfig:RegionPerInstanceConfig": _compute(),
    "gcp:compute/route:Route": _compute(),
    "gcp:compute/routerNat:RouterNat": _compute(),
    "gcp:compute/sSLPolicy:SSLPolicy": _compute(),
    "gcp:compute/securityPolicy:SecurityPolicy": _compute(),
    "gcp:compute/subnetwork:Subnetwork": _compute(),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": _compute(),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": _compute(),
    "gcp:compute/uRLMap:URLMap": _compute(),
    "gcp:dns/managedZone:ManagedZone": [
        Rule("name", 63, RFC1035, "project", evidence="pulumi-gcp dns.ManagedZone: 1-63 characters, a letter first, "
             "a letter or digit last, lowercase letters, digits or dashes; unique within the project")],
    "gcp:dns/recordSet:RecordSet": [
        Rule("name", 253, DNS_NAME, "parent", evidence="Cloud DNS record name: a DNS name in the zone, labels up to 63")],
    "gcp:container/cluster:Cluster": [
        Rule("name", 40, RFC1035, "region", evidence="GKE cluster names: 1-40, RFC 1035")],
    "gcp:container/nodePool:NodePool": [
        Rule("name", 40, RFC1035, "parent", evidence="GKE node pool names: 1-40, RFC 1035")],
    "gcp:firestore/database:Database": [
        Rule("name", 63, r"[a-z][a-z0-9-]*[a-z0-9]|\(default\)", "project", min=4,
             not_pattern=r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$",
             evidence="docstring: 4-63 characters of [a-z0-9-], a letter first, a letter or digit last, not "
             "UUID-like; or '(default)'")],
    "gcp:firestore/userCreds:UserCreds": [
        Rule("name", 63, r"[a-z][a-z0-9-]*[a-z0-9]", "parent", min=4,
             not_pattern=r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$",
             evidence="docstring: 4-63 characters of [a-z0-9-], a letter first, a letter or digit last")],
    "gcp:gkebackup/backupPlan:BackupPlan": [
        Rule("name", 63, RFC1035, "region", evidence="Backup for GKE plan id: RFC 1035, up to 63")],
    "gcp:kms/cryptoKey:CryptoKey": [
        Rule("name", 63, r"[A-Za-z0-9_-]+", "parent", evidence="Cloud KMS key id: [a-zA-Z0-9_-]{1,63}")],
    "gcp:kms/keyRing:KeyRing": [
        Rule("name", 63, r"[A-Za-z0-9_-]+", "region", evidence="Cloud KMS key ring id: [a-zA-Z0-9_-]{1,63}; never "
             "deletable, so a name is taken for good")],
    "gcp:logging/metric:Metric": [
        Rule("name", 100, r"[A-Za-z0-9_.,+!*'()%-][A-Za-z0-9_.,+!*'()%/-]*", "project",
             evidence="Cloud Logging metric id: up to 100 of A-Za-z0-9 and _-.,+!*',()%/, not starting with '/'")],
    "gcp:redis/instance:Instance": [
        Rule("name", 40, RFC1035, "region", evidence="Memorystore instance id: 1-40, RFC 1035")],
    "gcp:secretmanager/secret:Secret": [
        Rule("secretId", 255, r"[A-Za-z0-9_-]+", "project", evidence="Secret Manager secret id: up to 255 letters, "
             "digits, - _")],
    "gcp:serviceaccount/account:Account": [
        Rule("accountId", 30, r"[a-z]([-a-z0-9]*[a-z0-9])", "project", min=6, autoname=30,
             evidence="docstring/IAM: 6-30 characters, [a-z]([-a-z0-9]*[a-z0-9]); pulumi-gcp autonames within 30")],
    "gcp:sql/database:Database": [
        Rule("name", 63, r"[A-Za-z_][A-Za-z0-9_$-]*", "parent", evidence="PostgreSQL identifier: up to 63 bytes")],
    "gcp:sql/databaseInstance:DatabaseInstance": [
        Rule("name", 67, RFC1035, "project",
             evidence="Cloud SQL instance id: RFC 1035; '<project>:<instance>' at most 98 characters (a 30-character "
             "project id leaves 67); an id is not reusable for a week after deletion")],
    "gcp:sql/user:User": [
        Rule("name", 63, r"[A-Za-z_][A-Za-z0-9_.@-]*", "parent", evidence="PostgreSQL role name: up to 63 bytes")],
    "gcp:storage/bucket:Bucket": [
        Rule("name", 63, r"[a-z0-9][a-z0-9_.-]*[a-z0-9]", "global", min=3, not_pattern=r"^goog|google|g00gle|\.",
             evidence="Cloud Storage bucket names: 3-63 lowercase letters, digits, - _ .; a letter or digit at "
             "both ends; no 'goog' prefix or 'google'; globally unique; a name with a dot is a domain name and "
             "is refused unless the deployer verified that domain (Search Console), which no stack can assume")],
    "gcp:workflows/workflow:Workflow": [
        Rule("name", 64, r"[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]", "region",
             evidence="Workflows id: a letter first, up to 64 letters, digits, - _, a letter or digit last")],
}

# Input properties that name a resource when a type has them. A type that has one in the plan must
# be in RULES (or say here that on it the property refers to another resource).
NAME_FIELDS = (
    "name", "namePrefix", "bucket", "accountId", "family", "identifier", "clusterIdentifier", "replicationGroupId",
    "brokerName", "dashboardName", "referenceName", "secretId", "finalSnapshotIdentifier", "dbName", "setIdentifier",
    "globalClusterIdentifier", "globalReplicationGroupIdSuffix",
)

# (type, property) where the property is a reference to another resource, not a name of its own
REFERENCES = {
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "bucket"),
    ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "bucket"),
    ("aws:s3/bucketPolicy:BucketPolicy", "bucket"),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket"),
    ("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "bucket"),
    ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "bucket"),
    ("aws:s3/bucketVersioning:BucketVersioning", "bucket"),
    ("aws:s3/bucketLogging:BucketLogging", "bucket"),
    ("aws:s3/bucketAcl:BucketAcl", "bucket"),
    ("aws:s3/bucketNotification:BucketNotification", "bucket"),
    ("gcp:storage/bucketIAMMember:BucketIAMMember", "bucket"),
    ("gcp:secretmanager/secretIamMember:SecretIamMember", "secretId"),
    ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "name"),
    ("gcp:cloudrunv2/jobIamMember:JobIamMember", "name"),
    ("aws:docdb/clusterInstance:ClusterInstance", "clusterIdentifier"),
    ("aws:docdb/cluster:Cluster", "globalClusterIdentifier"),  # the global cluster it joins
    ("aws:secretsmanager/secretVersion:SecretVersion", "secretId"),
    ("aws:budgets/budget:Budget", "accountId"),
    # the engine family ("postgres16", "docdb5.0"), not a name of the group
    ("aws:rds/parameterGroup:ParameterGroup", "family"),
    ("aws:docdb/clusterParameterGroup:ClusterParameterGroup", "family"),
}
