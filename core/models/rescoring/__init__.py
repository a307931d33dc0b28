"""Exact re-scoring of edited histories, composed into the models that offer it.

A model builds a read-only snapshot of its unedited propagation (`prepare_inference`, or per
call on a model that was not prepared) and hands it to its re-scorer (`LightGCNRescorer`,
`KGATRescorer`); the model's `score_with_histories`, `refit_histories` and `reference_scores`
delegate to it. `edits` holds what both share: the rows an edit changes, their lookup and the
rows L hops upstream of a pair.
"""
