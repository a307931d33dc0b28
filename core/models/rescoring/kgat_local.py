"""KGAT's user embedding as a function of its layer-0 embedding, on the rows it needs.

Used by the re-fit of non-affine KGAT configurations (bi-interaction layers, normalised layers;
`core.models.rescoring.kgat`), whose objective must propagate on every Adam step.
"""

from __future__ import annotations

from collections.abc import Callable

import dgl
import torch
from torch import Tensor, nn

from core.models.rescoring.edits import RowEdits, find_rows, upstream_rows
from core.models.rescoring.kgat_snapshot import KGATSnapshot


def local_user(
    model: KGATSnapshot,
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
    learned embedding, from `learned` = `KGATRescorer.delta(edits, attention, None)`), summed once
    here, outside the optimisation loop.
    """
    hidden = model.hidden
    device, b, n_layers = hidden[0].device, edits.n_columns, len(model.layers)
    user = edits.rows[:1]
    # need_l, top down: every in-neighbour (graph or replacement edge) of need_{l+1}
    need = [user]
    for _ in range(n_layers):
        rows = need[0]
        graph_src = model.agg.in_edges(rows)[0]
        repl_src = edits.src[torch.isin(edits.rows[edits.row], rows)]
        need.insert(0, torch.unique(torch.cat([rows, graph_src, repl_src])))
    # reach_l, bottom up: every reader (graph or replacement edge) of reach_{l-1}
    reach = [user]
    for _ in range(n_layers):
        rows = reach[-1]
        readers = model.agg.out_edges(rows)[1]
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
        g_src, g_dst, g_eid = model.agg.in_edges(plain, form="all")
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
            outs.append(model.layer_out(h[at]))
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


def local_layers(
    agg: dgl.DGLGraph,
    x0: Tensor,
    attention: Tensor,
    layers: nn.ModuleList,
    layer_out: Callable[[Tensor], Tensor],
    nodes: Tensor,
    edge_weight: Tensor,
) -> list[Tensor]:
    """KGAT's layer outputs [x0, out1, ..., outL] with attention * edge_weight, on `nodes`
    (sorted, unique) only: layer l runs on the rows L - l hops upstream of them (in `agg`,
    messages tail -> head) and reads only their in-edges, so every other edge's weight gets
    exactly zero gradient, as in the full propagation. A pair's edge attribution touches a few
    thousand of the sample's 86k edges instead of all (the full pass cost ~220 ms at width
    224). x0: the layer-0 node table [N, dim]; edge_weight: float [E] over `agg`'s edges."""
    g, n_layers = agg, len(layers)
    need = upstream_rows(g, nodes, n_layers)  # need[l]: the rows layer l + 1 runs on
    if n_layers:
        src, dst, eid = g.in_edges(need[0], form="all")
        rows = torch.unique(torch.cat([need[0], src]))
    else:
        rows = nodes
    h = x0[rows]
    outputs = [h[find_rows(rows, nodes)[1]]]
    for depth, layer in enumerate(layers):
        out_rows = need[depth]
        into, at = find_rows(out_rows, dst)
        src, dst, eid, at = src[into], dst[into], eid[into], at[into]
        weight = (attention[eid] * edge_weight[eid]).unsqueeze(1)
        messages = weight * h[find_rows(rows, src)[1]]
        neigh = messages.new_zeros(len(out_rows), h.shape[1]).index_add_(0, at, messages)
        h = layer(h[find_rows(rows, out_rows)[1]], neigh)
        rows = out_rows
        outputs.append(layer_out(h[find_rows(rows, nodes)[1]]))
    return outputs
