"""The iCal feed provider (read-only)."""
