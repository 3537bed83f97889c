"""The story editor: training stories and rules read as conversations (``stories``), real
conversations from Rasa's tracker store (``conversations``), and corrected copies saved as
training or test stories after Rasa's own validation (``saving``).

Rasa's readers, writer and validator are imported inside the functions that use them, so the
web app starts without them and pays their import once, on the editor's first use.
"""
