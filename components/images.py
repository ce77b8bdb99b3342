"""Where the stack's container images come from, for what the AWS side needs to pull them.

An image in a private ECR repository needs an IAM grant on that repository (the task execution
role) and, to stay inside the AWS network, the ECR interface endpoints; images from other
registries (ghcr.io, ECR Public, Docker Hub) need neither -- they are pulled through NAT.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence

from components.config import StackConfig

_ECR_IMAGE_RE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?/(?P<repo>[^:@]+)"
)


def ecr_repository_arns(images: Sequence[str], region: Optional[str] = None) -> list[str]:
    """The private ECR repositories `images` come from (only those in `region`, when given)."""
    arns = set()
    for image in images:
        m = _ECR_IMAGE_RE.match(image)
        if m and region in (None, m["region"]):
            partition = "aws-cn" if m["cn"] else "aws"
            arns.add(f"arn:{partition}:ecr:{m['region']}:{m['account']}:repository/{m['repo']}")
    return sorted(arns)


def stack_images(config: StackConfig) -> list[str]:
    """Every image the ECS platform runs: the enabled services' and the init container's."""
    return sorted({s.image for s in config.enabled_services.values()} | {config.aws.init_image})
