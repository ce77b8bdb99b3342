"""Which Terraform resource type each bridged Pulumi type token the stacks register is.

The GCP and AWS Pulumi providers are bridged from the Terraform providers `hashicorp/google`
(`google-beta` for beta-only resources) and `hashicorp/aws`: every Pulumi resource is one
Terraform resource. The bridge derives the token from the Terraform name (module from the
product prefix, type from the rest in PascalCase) but many products are renamed on the way
(`google_cloud_run_v2_service` -> `cloudrunv2/service`, `aws_db_instance` -> `rds/instance`,
`aws_lb` -> `lb/loadBalancer`, the pulumi_aws 7 S3 tokens that dropped their `V2` suffix), so
the reverse cannot be computed from the token: this table is written out, one line per token,
and `tests/scan/test_terraform_types.py` proves that it covers every GCP/AWS token any stack
registers and that every Terraform type in it is one the pinned Checkov has checks for.

`pulumi_random` has no Terraform counterpart Checkov checks (`random_password` is not a
resource type of any Checkov check), and Kubernetes objects go to Checkov's `kubernetes`
framework as manifests, so neither is here.
"""

from __future__ import annotations

#: Pulumi type token -> Terraform resource type.
TERRAFORM_TYPES: dict[str, str] = {
    # --- AWS (hashicorp/aws) ---
    "aws:acm/certificate:Certificate": "aws_acm_certificate",
    "aws:acm/certificateValidation:CertificateValidation": "aws_acm_certificate_validation",
    "aws:appautoscaling/policy:Policy": "aws_appautoscaling_policy",
    "aws:appautoscaling/target:Target": "aws_appautoscaling_target",
    "aws:backup/plan:Plan": "aws_backup_plan",
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": "aws_backup_restore_testing_plan",
    "aws:backup/restoreTestingSelection:RestoreTestingSelection": "aws_backup_restore_testing_selection",
    "aws:backup/selection:Selection": "aws_backup_selection",
    "aws:backup/vault:Vault": "aws_backup_vault",
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration": "aws_backup_vault_lock_configuration",
    "aws:budgets/budget:Budget": "aws_budgets_budget",
    "aws:cloudfront/cachePolicy:CachePolicy": "aws_cloudfront_cache_policy",
    "aws:cloudfront/distribution:Distribution": "aws_cloudfront_distribution",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "aws_cloudfront_response_headers_policy",
    "aws:cloudwatch/dashboard:Dashboard": "aws_cloudwatch_dashboard",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    "aws:docdb/cluster:Cluster": "aws_docdb_cluster",
    "aws:docdb/clusterInstance:ClusterInstance": "aws_docdb_cluster_instance",
    "aws:docdb/globalCluster:GlobalCluster": "aws_docdb_global_cluster",
    "aws:docdb/clusterParameterGroup:ClusterParameterGroup": "aws_docdb_cluster_parameter_group",
    "aws:docdb/subnetGroup:SubnetGroup": "aws_docdb_subnet_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:ecs/cluster:Cluster": "aws_ecs_cluster",
    "aws:ecs/service:Service": "aws_ecs_service",
    "aws:ecs/taskDefinition:TaskDefinition": "aws_ecs_task_definition",
    "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": "aws_elasticache_global_replication_group",
    "aws:elasticache/replicationGroup:ReplicationGroup": "aws_elasticache_replication_group",
    "aws:elasticache/subnetGroup:SubnetGroup": "aws_elasticache_subnet_group",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:lb/listener:Listener": "aws_lb_listener",
    "aws:lb/listenerRule:ListenerRule": "aws_lb_listener_rule",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:lb/targetGroup:TargetGroup": "aws_lb_target_group",
    "aws:mq/broker:Broker": "aws_mq_broker",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": (
        "aws_db_instance_automated_backups_replication"
    ),
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:route53/healthCheck:HealthCheck": "aws_route53_health_check",
    "aws:route53/record:Record": "aws_route53_record",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "aws_s3_bucket_server_side_encryption_configuration"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretRotation:SecretRotation": "aws_secretsmanager_secret_rotation",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": "aws_service_discovery_private_dns_namespace",
    "aws:servicediscovery/service:Service": "aws_service_discovery_service",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "aws_vpc_security_group_egress_rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "aws_vpc_security_group_ingress_rule",
    "aws:wafv2/webAcl:WebAcl": "aws_wafv2_web_acl",
    "aws:wafv2/webAclAssociation:WebAclAssociation": "aws_wafv2_web_acl_association",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "aws_wafv2_web_acl_logging_configuration",
    # --- GCP (hashicorp/google, google-beta) ---
    "gcp:certificatemanager/certificate:Certificate": "google_certificate_manager_certificate",
    "gcp:certificatemanager/certificateMap:CertificateMap": "google_certificate_manager_certificate_map",
    "gcp:certificatemanager/certificateMapEntry:CertificateMapEntry": (
        "google_certificate_manager_certificate_map_entry"
    ),
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": (
        "google_certificate_manager_dns_authorization"
    ),
    "gcp:cloudrunv2/job:Job": "google_cloud_run_v2_job",
    "gcp:cloudrunv2/jobIamMember:JobIamMember": "google_cloud_run_v2_job_iam_member",
    "gcp:cloudrunv2/service:Service": "google_cloud_run_v2_service",
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": "google_cloud_run_v2_service_iam_member",
    "gcp:cloudrunv2/workerPool:WorkerPool": "google_cloud_run_v2_worker_pool",
    "gcp:cloudscheduler/job:Job": "google_cloud_scheduler_job",
    "gcp:compute/address:Address": "google_compute_address",
    "gcp:compute/backendService:BackendService": "google_compute_backend_service",
    "gcp:compute/disk:Disk": "google_compute_disk",
    "gcp:compute/firewall:Firewall": "google_compute_firewall",
    "gcp:compute/globalAddress:GlobalAddress": "google_compute_global_address",
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": "google_compute_global_forwarding_rule",
    "gcp:compute/healthCheck:HealthCheck": "google_compute_health_check",
    "gcp:compute/instance:Instance": "google_compute_instance",
    "gcp:compute/instanceTemplate:InstanceTemplate": "google_compute_instance_template",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "google_compute_managed_ssl_certificate",
    "gcp:compute/network:Network": "google_compute_network",
    "gcp:compute/regionDisk:RegionDisk": "google_compute_region_disk",
    "gcp:compute/regionDiskResourcePolicyAttachment:RegionDiskResourcePolicyAttachment": (
        "google_compute_region_disk_resource_policy_attachment"
    ),
    "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager": (
        "google_compute_region_instance_group_manager"
    ),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": "google_compute_region_network_endpoint_group",
    "gcp:compute/regionPerInstanceConfig:RegionPerInstanceConfig": (
        "google_compute_region_per_instance_config"
    ),
    "gcp:compute/resourcePolicy:ResourcePolicy": "google_compute_resource_policy",
    "gcp:compute/route:Route": "google_compute_route",
    "gcp:compute/router:Router": "google_compute_router",
    "gcp:compute/routerNat:RouterNat": "google_compute_router_nat",
    "gcp:compute/sSLPolicy:SSLPolicy": "google_compute_ssl_policy",
    "gcp:compute/securityPolicy:SecurityPolicy": "google_compute_security_policy",
    "gcp:compute/subnetwork:Subnetwork": "google_compute_subnetwork",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "google_compute_target_http_proxy",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "google_compute_target_https_proxy",
    "gcp:compute/uRLMap:URLMap": "google_compute_url_map",
    "gcp:container/cluster:Cluster": "google_container_cluster",
    "gcp:container/nodePool:NodePool": "google_container_node_pool",
    "gcp:dns/managedZone:ManagedZone": "google_dns_managed_zone",
    "gcp:dns/recordSet:RecordSet": "google_dns_record_set",
    "gcp:firestore/backupSchedule:BackupSchedule": "google_firestore_backup_schedule",
    "gcp:firestore/database:Database": "google_firestore_database",
    "gcp:firestore/userCreds:UserCreds": "google_firestore_user_creds",
    "gcp:gkebackup/backupPlan:BackupPlan": "google_gke_backup_backup_plan",
    "gcp:kms/cryptoKey:CryptoKey": "google_kms_crypto_key",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "google_kms_crypto_key_iam_member",
    "gcp:kms/keyRing:KeyRing": "google_kms_key_ring",
    "gcp:logging/metric:Metric": "google_logging_metric",
    "gcp:monitoring/alertPolicy:AlertPolicy": "google_monitoring_alert_policy",
    "gcp:monitoring/dashboard:Dashboard": "google_monitoring_dashboard",
    "gcp:monitoring/notificationChannel:NotificationChannel": "google_monitoring_notification_channel",
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": "google_monitoring_uptime_check_config",
    "gcp:projects/iAMCustomRole:IAMCustomRole": "google_project_iam_custom_role",
    "gcp:projects/iAMMember:IAMMember": "google_project_iam_member",
    "gcp:projects/service:Service": "google_project_service",
    "gcp:projects/serviceIdentity:ServiceIdentity": "google_project_service_identity",
    "gcp:redis/instance:Instance": "google_redis_instance",
    "gcp:secretmanager/secret:Secret": "google_secret_manager_secret",
    "gcp:secretmanager/secretIamMember:SecretIamMember": "google_secret_manager_secret_iam_member",
    "gcp:secretmanager/secretVersion:SecretVersion": "google_secret_manager_secret_version",
    "gcp:serviceaccount/account:Account": "google_service_account",
    "gcp:serviceaccount/iAMMember:IAMMember": "google_service_account_iam_member",
    "gcp:servicenetworking/connection:Connection": "google_service_networking_connection",
    "gcp:sql/database:Database": "google_sql_database",
    "gcp:sql/databaseInstance:DatabaseInstance": "google_sql_database_instance",
    "gcp:sql/user:User": "google_sql_user",
    "gcp:storage/bucket:Bucket": "google_storage_bucket",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "google_storage_bucket_iam_member",
    "gcp:workflows/workflow:Workflow": "google_workflows_workflow",
}

#: Terraform types newer than the pinned Checkov's type registry (so it has no check for them yet);
#: they still go into the plan, for the graph and for a later Checkov.
NEWER_THAN_CHECKOV: frozenset[str] = frozenset({
    "google_cloud_run_v2_worker_pool",  # google provider 6.x (2025)
    "google_firestore_user_creds",  # google provider 6.x (2025)
})

#: Terraform types Checkov registers no check for, because they carry no security setting: a
#: service agent's identity (`google_project_service_identity` only asks Google to create the agent
#: and returns its email). Kept exact like NEWER_THAN_CHECKOV: a type leaves once Checkov checks it.
WITHOUT_CHECKOV_CHECKS: frozenset[str] = frozenset({
    "google_project_service_identity",
})

#: Providers whose resources go into the Terraform plan, with the registry address Terraform writes
#: as `provider_name` (Checkov reads the type prefix; the address keeps the document honest).
PROVIDERS: dict[str, str] = {
    "aws": "registry.terraform.io/hashicorp/aws",
    "gcp": "registry.terraform.io/hashicorp/google",
}


def terraform_type(token: str) -> str | None:
    """The Terraform type of a GCP/AWS token, None for other providers; KeyError for an unmapped
    GCP/AWS token (a new resource type must be added here before the scan can see it)."""
    if token.split(":", 1)[0] not in PROVIDERS:
        return None
    return TERRAFORM_TYPES[token]
