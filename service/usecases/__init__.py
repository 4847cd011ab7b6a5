"""What the product does (book, reschedule, cancel, connect a calendar, create a client...),
called by the web and the CLI alike."""
