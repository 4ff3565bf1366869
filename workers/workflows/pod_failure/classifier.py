"""The deterministic pod-failure classifier: the best-supported category, its confidence and its citations.

``classify(evidence)`` evaluates the signal table (``matching.find_hits``: each log hit weighed by its
line's level and its distance from the exit), discounts consequences and generic crash reports
(``weighing``), scores each category with a noisy-or of its distinct signal weights, picks the best one,
lowers the confidence when a rival category is nearly as well supported, and cites every evidence line
behind the conclusion. The diagnosis names the line that decided it (``decided_by``) and what it set
aside (``discounted``). When nothing fires strongly enough the diagnosis is ``unknown``, with the
container's state and log tail cited so that a person starts from the facts.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from workers.workflows.pod_failure.matching import ContainerView, Hit, find_hits
from workers.workflows.pod_failure.model import UNKNOWN, Citation, Diagnosis
from workers.workflows.pod_failure.revisions import check_revision
from workers.workflows.pod_failure.signals import title
from workers.workflows.pod_failure.weighing import weigh

MIN_SCORE = 0.3
"""Below this the best category is only a hint, and the diagnosis is ``unknown``."""
MAX_CONFIDENCE = 0.99
AMBIGUITY_PENALTY = 0.3
"""Confidence loses this share of the strongest rival category's score."""
UNKNOWN_CONFIDENCE = 0.1
GENERIC_ONLY_CONFIDENCE = 0.6
"""A crash known only from generic reports (an exception, a panic, an abort exit code) is named, but
nothing says why it happened: its confidence stays at most this."""
CONTEXT_LOG_LINES = 5
MAX_DISCOUNTED = 12
SET_ASIDE_SHOWN = 2


def noisy_or(weights: list[float]) -> float:
    """Combine independent evidence strengths: 1 - prod(1 - w)."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


def score(hits: list[Hit]) -> float:
    """A category's score: each distinct signal counts once, at its strongest hit; generic crash reports
    (an exception header, a traceback, an abort exit code) all report one fact, that the process died,
    so together they count once, at the strongest."""
    best: dict[str, float] = {}
    for hit in hits:
        key = "generic" if hit.signal.kind == "generic" else hit.signal.name
        best[key] = max(best.get(key, 0.0), hit.weight)
    return noisy_or(list(best.values()))


def primary_container(hits: list[Hit], views: list[ContainerView]) -> str | None:
    """The container a category's hits point at most; else the first failing main container."""
    totals: dict[str, float] = defaultdict(float)
    for hit in hits:
        if hit.container:
            totals[hit.container] += hit.weight
    if totals:
        return max(totals, key=lambda name: totals[name])
    failing = [v for v in views if v.failing and not v.init] or [v for v in views if v.failing] or views
    return failing[0].name if failing else None


def classify(evidence: dict[str, Any]) -> Diagnosis:
    """Diagnose one failing pod from its evidence dict (see docs/ARCHITECTURE.md for the shape)."""
    hits, views = find_hits(evidence)
    discounts = weigh(hits, views, evidence.get("events") or [])
    by_category: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_category[hit.signal.category].append(hit)
    scores = {category: score(category_hits) for category, category_hits in by_category.items()}
    ranked = sorted(scores, key=lambda category: -scores[category])
    best = ranked[0] if ranked and scores[ranked[0]] >= MIN_SCORE else UNKNOWN
    container = primary_container(by_category.get(best, []), views)
    view = next((v for v in views if v.name == container), None)
    started, revision, revision_citations = check_revision(evidence, view.raw if view else None)
    alternatives: list[dict[str, Any]] = [
        {
            "category": category,
            "score": round(scores[category], 2),
            "container": primary_container(by_category[category], views),
        }
        for category in ranked
        if category != best
    ]
    if best == UNKNOWN:
        confidence = UNKNOWN_CONFIDENCE
    else:
        # An init container's own failure mode (its sub-cause) is no rival to init_container_failure.
        rivals = [
            alt["score"]
            for alt in alternatives
            if not (best == "init_container_failure" and alt["container"] == container)
        ]
        confidence = scores[best] - AMBIGUITY_PENALTY * max(rivals, default=0.0)
        if all(hit.signal.kind == "generic" for hit in by_category[best]):
            confidence = min(confidence, GENERIC_ONLY_CONFIDENCE)
        confidence = round(max(UNKNOWN_CONFIDENCE, min(MAX_CONFIDENCE, confidence)), 2)

    best_hits = sorted(by_category.get(best, []), key=lambda hit: -hit.weight)
    shown: set[str] = set()
    sentences = _unique(hit.sentence(shown) for hit in best_hits)
    citations = [citation for hit in best_hits for citation in hit.citations]
    if best == "init_container_failure":
        sub = next((alt for alt in alternatives if alt["container"] == container), None)
        if sub is not None:
            sub_hits = sorted(by_category[sub["category"]], key=lambda hit: -hit.weight)
            sentences.append(
                f"Its own failure looks like {title(sub['category'])}: {sub_hits[0].sentence(shown)}"
            )
            citations.extend(c for hit in sub_hits if hit.container == container for c in hit.citations)
    if best == "oom_killed" and view is not None:
        citations.extend(_resource_citations(view))
    if best == UNKNOWN:
        sentences = [_unknown_sentence(evidence, view, alternatives)]
        citations = _context_citations(evidence, view)
    set_aside = [d for d in discounts if d.category not in (best, "none") and d.rule != "outlived"]
    if best != UNKNOWN and set_aside:
        sentences.append(
            "Set aside: "
            + "; ".join(f"{title(d.category)} ({d.signal}): {d.why}" for d in set_aside[:SET_ASIDE_SHOWN])
        )
    if started and revision is not None:
        sentences.append(
            f"The failure started with revision {revision['current']} of deployment {revision['deployment']} "
            f"({'; '.join(revision['changes'])}); revision {revision['previous']} is the one before it."
        )
        citations.extend(revision_citations)

    decider = max(
        by_category.get(best, []), key=lambda hit: (hit.signal.kind == "specific", hit.weight), default=None
    )
    decided_by = None
    if decider is not None:
        source = decider.source
        decided_by = {
            "signal": decider.signal.name,
            "category": decider.signal.category,
            "source": source.source,
            "text": source.text,
            "weight": round(decider.weight, 2),
            "level": decider.line.level.value if decider.line else None,
        }
    return Diagnosis(
        category=best,
        summary=_summary(evidence, best, view, confidence, started=started, revision=revision),
        root_cause=" ".join(_sentence_case(sentence) for sentence in sentences),
        confidence=confidence,
        container=container,
        citations=list(dict.fromkeys(citations)),
        started_with_revision=started,
        revision=revision,
        alternatives=alternatives,
        decided_by=decided_by,
        discounted=[
            discount.to_dict()
            for discount in discounts
            if not (discount.rule == "outlived" and discount.category == best)
        ][:MAX_DISCOUNTED],
    )


def _unique(sentences: Any) -> list[str]:
    return list(dict.fromkeys(sentences))


def _sentence_case(sentence: str) -> str:
    sentence = sentence.strip()
    if not sentence:
        return sentence
    sentence = sentence[0].upper() + sentence[1:]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def _pod_name(evidence: dict[str, Any]) -> str:
    target = evidence.get("target") or {}
    return f"{target.get('namespace', '?')}/{target.get('name', '?')}"


def _summary(
    evidence: dict[str, Any],
    category: str,
    view: ContainerView | None,
    confidence: float,
    *,
    started: bool,
    revision: dict[str, Any] | None,
) -> str:
    who = f"container {view.name}" if view else "the pod"
    if view and view.init:
        who = f"init container {view.name}"
    text = f"{_pod_name(evidence)}: {who} - {title(category)}"
    if view and view.restart_count:
        text += f", {view.restart_count} restarts"
    if started and revision is not None:
        text += f", since revision {revision['current']}"
    return f"{text} (confidence {confidence:.2f})"


def _resource_citations(view: ContainerView) -> list[Citation]:
    resources = view.raw.get("resources") or {}
    parts = [
        f"{kind}.memory={(resources.get(kind) or {}).get('memory')}"
        for kind in ("limits", "requests")
        if (resources.get(kind) or {}).get("memory")
    ]
    if not parts:
        return [Citation(f"pod.spec.containers[{view.name}].resources", "no memory limit or request set")]
    return [Citation(f"pod.spec.containers[{view.name}].resources", " ".join(parts))]


def _state_text(view: ContainerView) -> list[Citation]:
    cited = []
    if view.waiting:
        waiting = view.waiting
        text = f"reason={waiting.get('reason')}" + (
            f" message={waiting['message']}" if waiting.get("message") else ""
        )
        cited.append(Citation(view.waiting_source, text))
    if view.terminated:
        term = view.terminated
        cited.append(
            Citation(view.terminated_source, f"reason={term.get('reason')} exitCode={term.get('exitCode')}")
        )
    return cited


def _context_citations(evidence: dict[str, Any], view: ContainerView | None) -> list[Citation]:
    if view is None:
        return []
    cited = _state_text(view)
    log = (evidence.get("previous_logs") or {}).get(view.name)
    if isinstance(log, str):
        tail = [line.strip() for line in log.splitlines() if line.strip()][-CONTEXT_LOG_LINES:]
        cited.extend(Citation(f"logs/{view.name}", line) for line in tail)
    return cited


def _unknown_sentence(
    evidence: dict[str, Any], view: ContainerView | None, alternatives: list[dict[str, Any]]
) -> str:
    parts = ["no known failure pattern matched the evidence"]
    if view is not None:
        state = []
        if view.waiting:
            state.append(f"waiting {view.waiting.get('reason')}")
        if view.terminated:
            state.append(f"last exit {view.terminated.get('exitCode')} ({view.terminated.get('reason')})")
        state.append(f"{view.restart_count} restarts")
        parts.append(f"container {view.name}: {', '.join(state)}")
        if not (evidence.get("previous_logs") or {}).get(view.name):
            parts.append("no previous log was available")
    if alternatives:
        hints = ", ".join(f"{alt['category']} ({alt['score']:.2f})" for alt in alternatives)
        parts.append(f"weak hints only: {hints}")
    if evidence.get("errors"):
        parts.append(f"evidence gaps: {'; '.join(map(str, evidence['errors']))}")
    return "; ".join(parts)
