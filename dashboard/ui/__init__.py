"""The Textual dashboard: one screen of panels fed by the analytics, polled live.

`dashboard.ui.app.make_app` is the only entry point the CLI needs.
"""
