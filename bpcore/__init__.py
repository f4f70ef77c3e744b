"""bpcore: the numpy core of a lesson series on backpropagation, from the chain rule to the LSTM.

One module a concept; see the README for the map from modules to lessons.
"""

__version__ = "0.1.0"
