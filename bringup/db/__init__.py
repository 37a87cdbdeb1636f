"""The results database: models, engine and migrations, the recorder (the only writer), and
the history queries. Import the submodule you need; this package imports nothing heavy."""
