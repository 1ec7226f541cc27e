"""The project's labelled dev sets and their readers."""
