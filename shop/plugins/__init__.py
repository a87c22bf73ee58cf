"""The plugin framework: hook specs, entry-point discovery, enabled state; the built-ins."""
