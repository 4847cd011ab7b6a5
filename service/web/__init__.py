"""The web edge: public booking pages, the widget and JSON API, the admin area, OAuth
callbacks. ``blueprints.init_app`` registers every blueprint."""
