"""One module per platform: wires network -> secrets -> data -> app -> edge -> monitoring -> dr.

The adapter contract (`components/platform.py` relies on it; tests/test_platform_checks.py checks it):

- `problems(config: StackConfig) -> list[Problem]`: what the platform refuses in a config whose
  schema is valid (regions, sizes it does not offer, settings of its own). Pure: no Pulumi
  resources, no provider calls; the same config gives the same problems.
- the data backends' problems are not the adapter's: each backend of the registry
  (`components/data/registry.py`, `Backend.problems`) names the function that says what it refuses
  (engine versions, instance classes, tiers); `components.data.registry.data_problems` calls those
  of the enabled services.
- `build(context: StackContext) -> dict[str, pulumi.Input]`: the resources and the stack outputs.
  It runs only after every problem above (and the schema's and the secrets') came back empty, so
  it raises no ConfigError for anything a stack file can cause; what is left are assertions on
  the program's own invariants.
"""
