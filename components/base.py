"""The base every component of this program derives from.

It gives each component its type token (`aiplatform:<module>:<Type>`), the stack context, the
project's labels/tags, child naming, and the resource options every child must get: `parent=self`
always, `protect=True` on stateful resources of production stacks.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Sequence

import pulumi

from components.config import StackConfig, StackContext


class PlatformComponent(pulumi.ComponentResource):
    """Base component. Subclasses set `TYPE` and call `register_outputs` last."""

    TYPE: ClassVar[str]

    def __init__(self, name: str, context: StackContext, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(self.TYPE, name, None, opts)
        self.component_name = name
        self.context = context

    @property
    def config(self) -> StackConfig:
        return self.context.config

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.context.labels)

    def child_name(self, *parts: str) -> str:
        """Logical name of a child: derived from this component's name, so it is stable."""
        return "-".join((self.component_name, *parts))

    def child_opts(
        self,
        *,
        stateful: bool = False,
        depends_on: Optional[Sequence[pulumi.Resource]] = None,
        **kwargs: Any,
    ) -> pulumi.ResourceOptions:
        """Options for a child resource. `stateful=True` marks data that must survive mistakes:
        it is protected in production stacks (a `pulumi destroy` then needs an explicit unprotect)."""
        return pulumi.ResourceOptions(
            parent=self,
            protect=self.context.protect_stateful if stateful else None,
            depends_on=list(depends_on) if depends_on else None,
            **kwargs,
        )
