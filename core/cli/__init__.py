"""`python -m core ...`: the command-line interface (core.cli.main dispatches).

One module per command group (data, models, explain, narrate, export, samples), each with a
`register(sub)`; what they share (UsageError, common arguments, loading) is core.cli.common.
Nothing in the library imports this package.
"""
