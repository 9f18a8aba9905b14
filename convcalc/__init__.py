"""convcalc: worked solutions for convolutional-network arithmetic, checked against PyTorch."""

__version__ = "0.1.0"
