"""One module per platform: wires network -> secrets -> data -> app -> edge -> monitoring -> dr.

The adapter contract (`components/platform.py` relies on it; tests/test_platform_checks.py checks it):

- `problems(config: StackConfig) -> list[Problem]`: what the platform refuses in a config whose
  schema is valid (regions, sizes it does not offer, settings of its own). Pure: no Pulumi
  resources, no provider calls; the same config gives the same problems.
- `DATA_PROBLEMS: Mapping[str, Callable[[StackConfig], list[Problem]]]`: for each data service, what
  the platform's backend of it refuses (engine versions, instance classes, tiers); called only for
  the enabled ones.
- `build(context: StackContext) -> dict[str, pulumi.Input]`: the resources and the stack outputs.
  It runs only after every problem above (and the schema's and the secrets') came back empty, so
  it raises no ConfigError for anything a stack file can cause; what is left are assertions on
  the program's own invariants.
"""
