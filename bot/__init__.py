"""Wiring: settings, the applications per channel, the CLI, i18n and the messenger."""
