from tests.letters.conftest import admin, lawyer  # noqa: F401 - the signed-in lawyer
