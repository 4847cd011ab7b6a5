"""The Google Calendar provider: API client, OAuth, push channels."""
