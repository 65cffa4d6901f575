"""The generator's benchmarks, each a command: `python -m generator.bench.codec`, `.model`,
`.resume`, `.serving`, `.train` (`figment bench model` and `figment bench generator` run two)."""
