"""The knowledge base: articles in SQL, their Markdown sources, retrieval and answering."""
