"""Read by gunicorn before it starts (it loads ``./gunicorn.conf.py`` by default; the
Procfile and the README's deployment run from here): a missing or malformed setting ends
the master with one line and exit 1, instead of each worker printing a traceback."""

from service import exit_on_bad_settings

exit_on_bad_settings()
