"""Remote commands (placeholder)."""
