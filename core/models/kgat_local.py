"""KGAT's user embedding as a function of its layer-0 embedding, on the rows it needs.

Used by the re-fit of non-affine KGAT configurations (bi-interaction layers, normalised layers;
`core.models.kgat_rescoring`), whose objective must propagate on every Adam step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from core.models.layers import RowEdits, find_rows

if TYPE_CHECKING:
    from core.models.kgat import KGAT


def local_user(
    model: KGAT,
    edits: RowEdits,
    attention: Tensor,
    learned: list[tuple[Tensor, Tensor]],
) -> Callable[[Tensor], Tensor]:
    """A function e [B, dim] -> the user's final embedding [B, D] in each of the B edited
    CKGs of `edits` (the user is edits.rows[0]; `attention` [M, B] its replacement edges'),
    with its layer-0 embedding set to e (differentiable in e).

    Layer l is computed only on T_l = need_l & reach_l: need_l, the rows layer l + 1 reads
    to make what the user's final embedding needs (need_L = the user; edited heads read
    their replacement edges), and reach_l, the rows e can change in l hops. Every message
    from a row outside reach_{l-1} is a constant (its value in the edited CKG with the
    learned embedding, from `learned` = `model._delta(edits, attention, None)`), summed once
    here, outside the optimisation loop.
    """
    hidden = model._base_hidden()
    device, b, n_layers = hidden[0].device, edits.n_columns, len(model.layers)
    user = edits.rows[:1]
    # need_l, top down: every in-neighbour (graph or replacement edge) of need_{l+1}
    need = [user]
    for _ in range(n_layers):
        rows = need[0]
        graph_src = model._agg.in_edges(rows)[0]
        repl_src = edits.src[torch.isin(edits.rows[edits.row], rows)]
        need.insert(0, torch.unique(torch.cat([rows, graph_src, repl_src])))
    # reach_l, bottom up: every reader (graph or replacement edge) of reach_{l-1}
    reach = [user]
    for _ in range(n_layers):
        rows = reach[-1]
        readers = model._agg.out_edges(rows)[1]
        repl_dst = edits.rows[edits.row[torch.isin(edits.src, rows)]]
        reach.append(torch.unique(torch.cat([rows, readers, repl_dst])))
    rows = [n[torch.isin(n, r)] for n, r in zip(need, reach, strict=True)]
    is_edited = torch.zeros(len(hidden[0]), dtype=torch.bool, device=device)
    is_edited[edits.rows] = True
    plan = []
    for depth in range(n_layers):
        prev, out = rows[depth], rows[depth + 1]  # sorted
        # messages into `out`: graph in-edges of its plain rows, replacement edges of its
        # edited ones ([M, B] attention either way)
        plain = out[~is_edited[out]]
        g_src, g_dst, g_eid = model._agg.in_edges(plain, form="all")
        r_keep = torch.isin(edits.rows[edits.row], out)
        src = torch.cat([g_src, edits.src[r_keep]])
        dst = torch.searchsorted(out, torch.cat([g_dst, edits.rows[edits.row[r_keep]]]))
        att = torch.cat([model.attention[g_eid].unsqueeze(1).expand(-1, b), attention[r_keep]])
        var = torch.isin(src, prev)
        const = _values(hidden[depth], learned[depth], src[~var], b)
        const_agg = const.new_zeros(len(out), b, const.shape[2])
        const_agg.index_add_(0, dst[~var], const * att[~var].unsqueeze(2))
        # the ego input of each output row: from the variable rows where it is one
        ego_var = torch.isin(out, prev)
        ego_const = _values(hidden[depth], learned[depth], out, b)
        plan.append(
            (
                torch.searchsorted(prev, src[var]),
                dst[var],
                att[var].unsqueeze(2),
                const_agg,
                ego_var,
                torch.searchsorted(prev, out[ego_var]),
                ego_const,
                int(torch.searchsorted(out, user)),
            )
        )

    def user_final(e: Tensor) -> Tensor:
        h = e.unsqueeze(0)  # [1, B, dim]: rows[0] is the user alone
        outs = [e]
        for layer, (v_src, v_dst, v_att, const_agg, ego_var, ego_pos, ego_const, at) in zip(
            model.layers, plan, strict=True
        ):
            agg = const_agg.index_add(0, v_dst, h[v_src] * v_att)
            ego = ego_const.clone()
            ego[ego_var] = h[ego_pos]
            h = layer(ego, agg)
            outs.append(model._layer_out(h[at]))
        return model.combine(outs)

    return user_final


def _values(h: Tensor, changed: tuple[Tensor, Tensor], nodes: Tensor, b: int) -> Tensor:
    """Rows `nodes` of one layer in the B edited CKGs: `changed` = (rows, values [A, B, d])
    where they differ from the stored layer h [N, d]. Returns float [len(nodes), B, d]."""
    rows, vals = changed
    out = h[nodes].unsqueeze(1).expand(-1, b, -1).clone()
    hit, pos = find_rows(rows, nodes)
    out[hit] = vals[pos[hit]]
    return out
