"""``taskonomy tree``: the task similarity tree of an affinity table, without torch."""

from __future__ import annotations

import enum
import json
from typing import Annotated

import typer

from taskonomy.cli._app import app, console
from taskonomy.cli._common import (
    AffinitiesOpt,
    BootstrapOpt,
    LossesOpt,
    SeedOpt,
    matching_losses,
)


class Format(enum.StrEnum):
    text = "text"
    json = "json"
    newick = "newick"


@app.command()
def tree(
    affinities: AffinitiesOpt,
    clusters: Annotated[
        int,
        typer.Option(
            "--clusters",
            "-c",
            help="Cut the tree into this many groups (the paper's four families: 4).",
            min=1,
        ),
    ] = 4,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="text (groups and dendrogram), json, newick.")
    ] = Format.text,
    normalisation: Annotated[
        str,
        typer.Option(
            "--normalisation",
            help="How each target's affinities are put on one scale before clustering: "
            "zlog (standardised log-affinities), log, sum, none.",
        ),
    ] = "zlog",
    own: Annotated[
        str,
        typer.Option(
            "--own",
            help="A source's entry for its own target: best (the target's highest value: "
            "mutual transfer counts as kinship) or mean (neither attracts nor repels).",
        ),
    ] = "best",
    linkage: Annotated[
        str, typer.Option("--linkage", help="scipy linkage method: average, complete, ward, ...")
    ] = "average",
    metric: Annotated[
        str, typer.Option("--metric", help="Distance between patterns: cosine, euclidean, ...")
    ] = "cosine",
    losses: LossesOpt = None,
    bootstrap: BootstrapOpt = 200,
    seed: SeedOpt = 0,
) -> None:
    """The task similarity tree: agglomerative clustering of transfer-out patterns.

    Each source task is described by its first-order affinities into every target; each
    target's affinities are normalised (default: standardised log-affinities, since AHP
    scores are a ratio scale on a per-target scale), a task counts as the best source for
    itself (--own best), then sources are clustered (default: average linkage on cosine
    distance). The paper's Figure 14 finds 3D, 2D,
    low-dimensional geometric and semantic families this way. With a run's per-image test
    losses (--losses), every cluster gets its bootstrap support: the fraction of
    resampled test sets whose tree has a node with exactly its tasks.
    """
    from taskonomy.affinity.paper import resolve_affinities
    from taskonomy.affinity.release import load_affinities
    from taskonomy.affinity.tree import similarity_tree
    from taskonomy.errors import AffinityError
    from taskonomy.tasks.families import builtin_family, task_label

    if seed < 0 or seed >= 2**63:
        raise AffinityError(f"--seed must be an integer in [0, 2^63), got {seed}")
    source = resolve_affinities(affinities)
    table = load_affinities(source.affinities)
    the_tree = similarity_tree(table, linkage, metric, normalisation, own)  # type: ignore[arg-type]
    groups = the_tree.clusters(clusters)
    support: dict[tuple[str, ...], float] = {}
    if losses is not None and bootstrap:
        from taskonomy.solvers.bootstrap import bootstrap_support

        found = bootstrap_support(
            matching_losses(table, losses), [], tree=the_tree, resamples=bootstrap, seed=seed
        )
        support = dict(found.clusters)
    if fmt is Format.json:
        doc = {
            "affinities": source.name,
            "labels": list(the_tree.labels),
            "leaf_order": the_tree.leaf_order,
            "clusters": groups,
            "newick": the_tree.to_newick(),
            "normalisation": the_tree.normalisation,
            "own": the_tree.own,
            "linkage": the_tree.method,
            "metric": the_tree.metric,
            "families": {
                t: (f.value if (f := builtin_family(t)) else None) for t in the_tree.labels
            },
            "clusters_support": [support.get(tuple(g)) for g in groups],
            "clades": [{"tasks": list(c), "support": s} for c, s in support.items()],
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    if fmt is Format.newick:
        typer.echo(the_tree.to_newick())
        return

    def label(name: str) -> str:
        family = builtin_family(name)
        return f"{task_label(name)} [{family.value}]" if family else task_label(name)

    lines = [
        f"similarity tree of {source.name}: {len(the_tree.labels)} source tasks, "
        f"{the_tree.normalisation}-normalised transfer-out patterns (own entry: "
        f"{the_tree.own}), {the_tree.method} linkage, {the_tree.metric} distance",
        "",
        f"{len(groups)} cluster(s):",
    ]
    for i, g in enumerate(groups, 1):
        backing = support.get(tuple(g))
        note = f"  (bootstrap support {backing:.2f})" if backing is not None else ""
        lines.append(f"  {i}. {', '.join(label(t) for t in g)}{note}")
    lines += ["", "dendrogram (similar tasks adjacent):", *the_tree.to_text(label)]
    console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
