"""ai-assistant-platform: load the stack's config, build its platform, export its outputs."""

import pulumi

from components.config import ConfigError, load_stack_context
from components.platform import build_platform

try:
    context = load_stack_context()
    if context.naming_notice:
        pulumi.log.warn(context.naming_notice)
    outputs = build_platform(context)
except ConfigError as err:
    # One clear message, no traceback, nothing registered.
    raise pulumi.RunError(str(err)) from None

for key, value in outputs.items():
    pulumi.export(key, value)
