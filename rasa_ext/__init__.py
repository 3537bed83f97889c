"""Our extensions of Rasa, loaded by the Rasa server by module path (endpoints.yml, config.yml).

The only place besides ``actions/`` that imports Rasa.
"""
