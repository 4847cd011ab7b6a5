"""The domain of Counsel Hours: agreements, time intervals, availability, booking rules.

Pure Python. Nothing here imports Flask, SQLAlchemy or does I/O; "now", rules and busy
time come in as arguments and plain values go out (like Flask's ``sansio`` package).
"""
