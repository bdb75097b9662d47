"""Late-fusion detectors: frozen audio and lyrics encoders, and a trained head over their embeddings."""
