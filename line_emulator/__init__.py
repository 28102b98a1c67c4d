"""A local LINE platform emulator (api.line.me, api-data.line.me, access.line.me on one origin).

Its own Django project and SQLite file; run it with `python -m line_emulator --port 8765`.
The app never imports this package, and this package imports nothing of the app.
"""
