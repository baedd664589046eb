"""The county server: sync API, public verification pages, objection intake, county admin."""
