"""Emotions and sentiment: LLM or offline scoring of speech windows, trained models for chat messages.

Entry points: `chat.score_chat` (chat_sentiment.csv), `speech.score_windows` (audio sentiment.csv),
`train.main` / `python -m klipstream.emotions.train` (rebuild models/*.skops)."""
