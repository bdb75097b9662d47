"""Calling the model on perturbed inputs: streaming inference, late fusion, waveform
composition in bounded buffers, rounds of the stopping rule, the coarse coalitions."""
