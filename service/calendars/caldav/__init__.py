"""The CalDAV provider."""
