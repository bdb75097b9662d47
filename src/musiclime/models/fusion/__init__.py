"""Late-fusion classifiers: pretrained audio and lyrics encoders, and a small head on their embeddings."""
