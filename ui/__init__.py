"""PySide6 desktop UI. Holds no business rules: every action calls a service in app/."""
