"""One module per platform: wires network -> secrets -> data -> app -> edge -> monitoring -> dr.

Each module exposes `build(context: StackContext) -> dict[str, pulumi.Input]` (the stack outputs).
"""
