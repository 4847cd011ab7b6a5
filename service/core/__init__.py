"""Settings, secrets at rest and log redaction: used by every layer."""
