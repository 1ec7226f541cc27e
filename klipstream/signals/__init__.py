"""Per-second signals of a VOD: audio features, the waveform's peaks, the chat timeline, and the robust z-scores
they are measured with."""
