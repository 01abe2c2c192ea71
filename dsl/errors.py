"""The one exception type user-facing code catches and prints as a single line."""


class DslError(ValueError):
    """Bad user input: unknown primitive, malformed program or grid, bad settings."""
