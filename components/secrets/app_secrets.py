"""Application secrets, platform-neutral: provided ones (from `pulumi config set --secret`) and
generated ones (pulumi_random). Platform secret stores consume `values`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_random as random

from components.base import PlatformComponent
from components.config import StackContext


@dataclass(frozen=True)
class AppSecretsArgs:
    context: StackContext


class AppSecrets(PlatformComponent):
    """Creates a RandomPassword per generated secret. Exposes `values`: env name -> secret Output."""

    TYPE = "aiplatform:secrets:AppSecrets"

    def __init__(self, name: str, args: AppSecretsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(name, args.context, opts)
        values: dict[str, pulumi.Output[str]] = {
            key: pulumi.Output.secret(value) for key, value in args.context.provided_secrets.items()
        }
        for secret_name in self.config.secrets.generated:
            generated = random.RandomPassword(
                self.child_name(secret_name.lower().replace("_", "-")),
                random.RandomPasswordArgs(length=48, special=False),
                # a regenerated session/JWT key logs every user out: keep it in production
                opts=self.child_opts(stateful=True),
            )
            values[secret_name] = pulumi.Output.secret(generated.result)
        self.values = values
        self.register_outputs({"names": sorted(values)})
