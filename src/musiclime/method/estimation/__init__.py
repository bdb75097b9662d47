"""How an explanation is estimated from scored masks: sampling, the surrogates, their
standard errors and certified ranks, the stopping rule, Shapley values. Never calls a model."""
