"""Work done by the worker: the outbox loop, mail, notifications."""
