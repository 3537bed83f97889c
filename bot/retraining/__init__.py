"""Retraining from the editor: a training job that exports the published articles, trains a
candidate model, evaluates it and the current model on the evaluation set, and loads the
candidate into the running Rasa server only if it is not worse.

- ``models``: the ``training_jobs`` table (one row per job: who, when, stage, progress, log tail,
  outcome, model paths, metrics).
- ``jobs``: the job's state machine (one running job at a time; a job whose process died is
  failed, never running forever).
- ``comparing``: the rule that decides whether a candidate is not worse, and what got worse.
- ``measuring``: what the bot would answer to each question of the evaluation set with a model's
  parses, by the bot's own rules (``bot.kb.trying``).
- ``parse_cache``: a model's parses of the evaluation set, kept for the next job (the model
  that runs now was the candidate of the job before).
- ``runner``: the background process (``python -m bot.retraining.runner <job>``), run with low
  priority by the web app (``bot/web/training_api.py``).
- ``process``: that process seen from the web app: started in its own session, stopped with its
  process group (``rasa train`` too) when the job is cancelled.

Nothing here imports Rasa: training runs ``rasa train`` as a child process, and models parse the
evaluation set in another (``rasa_ext/parse_texts.py``).
"""
