"""The one typed schema of a stack's configuration.

Every stack file (`Pulumi.<stack>.yaml`) is read here, once, into frozen pydantic models. The rest
of the program receives a `StackContext` and never touches `pulumi.Config` itself.

Keys live in the project namespace (`ai-assistant-platform:<key>`) and are camelCase in YAML.
Per-environment defaults (sizes, replicas, retention, thresholds) come from the seeds and are
merged under what the stack file says, so a stack file only states what differs.

Bad input raises `ConfigError` with one message that names the stack file, each bad key path, the
bad value and what is allowed -- before any resource is registered. Secret values are never part of
these models (they are read separately as secret Outputs) so they can never leak into an error.

Where things live:
- `base.py`: constants, `ConfigError`, `Problem`, CPU/memory quantities, the base model, patterns;
- one module per platform-independent section: `services.py`, `data.py`, `edge.py`,
  `monitoring.py`, `dr.py`; `stack.py` composes them (plus `secrets` and `regions`) into `StackConfig`;
- each platform's own section beside its adapter: `components/platforms/{kubernetes,gcp,gke,aws}_settings.py`;
- `defaults.py`: the seed defaults per environment;
- `loader.py`: reading Pulumi config, one error message per bad stack file, `StackContext`.
"""

from components.config.base import (
    DATA_SERVICES,
    ENVIRONMENTS,
    PLATFORMS,
    PROJECT,
    ConfigError,
    MebiBytes,
    Millicores,
    Problem,
    cpu_quantity,
    memory_quantity,
    problems_error,
    secret_config_key,
)
from components.config.data import DataConfig, DataServiceConfig
from components.config.defaults import _deep_merge, environment_defaults
from components.config.dr import DrConfig, RetentionConfig
from components.config.edge import EdgeConfig, IngressNginxConfig, RateLimitsConfig
from components.config.release import RELEASE_STRATEGIES, ReleaseConfig, RollbackConfig
from components.config.loader import (
    StackContext,
    _decode,
    declared_provided_secret_keys,
    format_validation_error,
    load_stack_context,
    parse_stack_config,
    split_project_config,
)
from components.config.monitoring import (
    BudgetsConfig,
    MonitoringConfig,
    NotificationsConfig,
    PrometheusStackConfig,
    TargetsConfig,
    ThresholdsConfig,
)
from components.config.services import RouteConfig, ServiceConfig
from components.config.stack import TOP_LEVEL_KEYS, RegionsConfig, SecretsConfig, StackConfig
from components.platforms.aws_settings import AwsConfig
from components.platforms.gcp_settings import GcpConfig
from components.platforms.gke_settings import GkeConfig
from components.platforms.kubernetes_settings import KubernetesConfig, MetricsServerConfig

__all__ = [
    "DATA_SERVICES", "ENVIRONMENTS", "PLATFORMS", "PROJECT", "RELEASE_STRATEGIES", "TOP_LEVEL_KEYS",
    "ReleaseConfig", "RollbackConfig",
    "AwsConfig", "BudgetsConfig", "ConfigError", "DataConfig", "DataServiceConfig", "DrConfig",
    "EdgeConfig", "GcpConfig", "GkeConfig", "IngressNginxConfig", "KubernetesConfig", "MebiBytes",
    "MetricsServerConfig", "Millicores", "MonitoringConfig", "NotificationsConfig", "Problem",
    "PrometheusStackConfig", "RateLimitsConfig", "RegionsConfig", "RetentionConfig", "RouteConfig",
    "SecretsConfig", "ServiceConfig", "StackConfig", "StackContext", "TargetsConfig",
    "ThresholdsConfig", "cpu_quantity", "declared_provided_secret_keys", "environment_defaults",
    "format_validation_error", "load_stack_context", "memory_quantity", "parse_stack_config",
    "problems_error", "secret_config_key", "split_project_config", "_decode", "_deep_merge",
]
