"""The command line (filled in by the CLI modules)."""


def main() -> None:  # replaced below once commands exist
    raise SystemExit("convcalc: no commands yet")
