"""The Rasa action server: one module per concern, thin, calling ``bot``.

The SDK imports every module here at start-up and registers every ``Action`` subclass, so
nothing here opens a database, file or connection at import time.
"""
