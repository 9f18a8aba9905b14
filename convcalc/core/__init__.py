"""The numeric core: pure NumPy, no printing, no Rich, no Typer, no SymPy.

Arrays are canonical: (N, C, *spatial) data and (C_out, C_in/groups, *kernel) weights.
Entries are int64 / float64, or Python ints and Fractions in object arrays for exact work.
"""
