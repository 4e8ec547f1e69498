"""Placeholder while the flow is being written."""


def handlers() -> list:  # type: ignore[type-arg]
    return []
