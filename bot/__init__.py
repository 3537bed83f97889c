"""Amberline self-service assistant: our services beside Rasa.

This package never imports Rasa, so that its services start fast and its tests run without
TensorFlow. Rasa-specific glue lives in ``rasa_ext`` and the action server in ``actions``.
"""

__version__ = "0.1.0"
