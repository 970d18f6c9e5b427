"""Example tool sets written with the typed tool-author API (tools.authoring)."""
