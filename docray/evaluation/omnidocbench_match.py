"""OmniDocBench's "quick match": pair ground-truth blocks with predicted pieces, allowing many-to-one merges.

Facts from OmniDocBench's ``utils/match_quick.py`` at commit 24e6428 (the version that produced the published demo
results); the code is ours. Inputs are normalised, non-empty strings; NED is Levenshtein / max(len).

1. *Truncation merges.* A GT block with no prediction closer than NED 0.25 may take a run of consecutive predicted
   pieces (none of them within 0.25 of any block): a run grows while joining the next piece (with spaces) does not
   raise the NED, every piece fits some window of the block with NED <= 0.6 (the new one < 0.6), and it stops once
   the run is as long as the block. Each block keeps its best run; overlapping runs are resolved by keeping the
   non-overlapping set with the lowest mean NED.
2. *Assignment.* Minimum-cost assignment of blocks to (merged) pieces on NED. A pair above 0.7 is undone.
3. *Fuzzy rescue.* An unpaired block that fits some window of a piece with NED < 0.4 joins that piece.
4. *Leftovers.* Remaining blocks and remaining pieces are paired by a minimum-cost assignment on raw Levenshtein
   distance; blocks beyond that stay unmatched, pieces beyond it (when no block is left) form one extra entry.
5. Entries sharing a prediction are merged (their blocks concatenated in entry order).

Quirk kept on purpose, because the published scores include it: a block that is unmatched while every piece is
used is listed twice (and so counts twice in its page's edit distance).
"""

from __future__ import annotations

from dataclasses import dataclass

from docray.evaluation.assignment import linear_sum_assignment

TRUNCATION_ANCHOR = 0.25  # NED under which a pair is "certain" and excluded from truncation merges
MERGE_WINDOW_NED = 0.6
UNDO_PAIR_NED = 0.7
FUZZY_RESCUE_NED = 0.4


@dataclass(frozen=True)
class MatchedEntry:
    gt: tuple[int, ...]  # GT indices, in merge order; empty for an extra prediction
    pred: tuple[int, ...]  # prediction indices; empty for a missed GT block


def levenshtein(a, b, score_cutoff: int | None = None) -> int:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b, score_cutoff=score_cutoff)


def ned(a, b) -> float:
    """Normalised edit distance: Levenshtein / max(len); 0 for two empty sequences."""
    longest = max(len(a), len(b))
    return levenshtein(a, b) / longest if longest else 0.0


def best_window_ned(text: str, piece: str) -> float | None:
    """Lowest NED (over len(piece)) of ``piece`` against the windows of ``text`` of the same length; None when the
    piece is empty or longer than the text."""
    size = len(piece)
    if size == 0 or size > len(text):
        return None
    best = size
    for start in range(len(text) - size + 1):
        best = min(best, levenshtein(text[start : start + size], piece, score_cutoff=best))
        if best == 0:
            break
    return best / size


def _run_keeps_growing(gt: str, run: list[str]) -> tuple[bool, bool]:
    """Whether the last piece of ``run`` joins the run, and whether the run may grow further."""
    joined_before, joined = " ".join(run[:-1]), " ".join(run)
    if ned(gt, joined) > ned(gt, joined_before):
        return False, False
    for piece in run[:-1]:
        fit = best_window_ned(gt, piece)
        if fit is None or fit > MERGE_WINDOW_NED:
            return False, False
    fit = best_window_ned(gt, run[-1])
    if fit is None:
        return False, False
    return fit < MERGE_WINDOW_NED, len(joined) <= len(gt)


def _best_runs(cost, gts: list[str], preds: list[str]) -> tuple[list[tuple[int, ...]], list[float]]:
    anchored_gt = {i for i in range(len(gts)) if any(c < TRUNCATION_ANCHOR for c in cost[i])}
    anchored_pred = {j for j in range(len(preds)) if any(cost[i][j] < TRUNCATION_ANCHOR for i in range(len(gts)))}
    free_preds = [j for j in range(len(preds)) if j not in anchored_pred]
    runs, costs = [], []
    for i in range(len(gts)):
        if i in anchored_gt or not free_preds:
            continue
        best: tuple[float, tuple[int, ...]] | None = None
        for start in free_preds:
            length = 1
            while start + length < len(preds) and start + length not in anchored_pred:
                joins, grows = _run_keeps_growing(gts[i], preds[start : start + length + 1])
                if not joins:
                    break
                length += 1
                if not grows:
                    break
            distance = ned(gts[i], " ".join(preds[start : start + length]))
            if best is None or distance < best[0]:
                best = (distance, tuple(range(start, start + length)))
        runs.append(best[1])
        costs.append(best[0])
    return runs, costs


def _non_overlapping_runs(runs: list[tuple[int, ...]], costs: list[float]) -> list[tuple[int, ...]]:
    """Per group of overlapping runs, the compatible set ("path") with the lowest mean cost."""
    ordered = sorted(zip(runs, costs), key=lambda item: item[0][0])
    groups: list[list[tuple[tuple[int, ...], float]]] = []
    for run, run_cost in ordered:
        if groups and any(set(run) & set(other) for other, _ in groups[-1]):
            groups[-1].append((run, run_cost))
        else:
            groups.append([(run, run_cost)])
    chosen: list[tuple[int, ...]] = []
    for group in groups:
        paths: list[list[tuple[tuple[int, ...], float]]] = [[group[0]]]
        for run, run_cost in group[1:]:
            placed = False
            for path in paths:
                same = [k for k, (other, _) in enumerate(path) if other == run]
                if same:
                    if path[same[0]][1] > run_cost:
                        path[same[0]] = (run, run_cost)
                    placed = True
                elif not any(set(run) & set(other) for other, _ in path):
                    path.append((run, run_cost))
                    placed = True
            if not placed:
                paths.append([(run, run_cost)])
        best_path = min(paths, key=lambda path: sum(c for _, c in path) / len(path))
        chosen.extend(run for run, _ in best_path)
    return chosen


def _merged_candidates(gts: list[str], preds: list[str]) -> list[tuple[int, ...]]:
    """The prediction groups offered to the assignment: single pieces, or chosen truncation runs."""
    cost = [[ned(g, p) for p in preds] for g in gts]
    runs = _non_overlapping_runs(*_best_runs(cost, gts, preds))
    starts = {run[0]: run for run in runs}
    covered = {j for run in runs for j in run}
    candidates: list[tuple[int, ...]] = []
    for j in range(len(preds)):
        if j in starts:
            candidates.append(starts[j])
        elif j not in covered:
            candidates.append((j,))
    return candidates


def quick_match(gts: list[str], preds: list[str]) -> list[MatchedEntry]:
    """Pair normalised GT blocks with normalised predicted pieces (see the module docstring)."""
    if not gts:
        return [MatchedEntry((), (j,)) for j in range(len(preds))]
    if not preds:
        return [MatchedEntry((i,), ()) for i in range(len(gts))]
    if len(gts) == 1 and len(preds) == 1:
        return [MatchedEntry((0,), (0,))]
    candidates = _merged_candidates(gts, preds)
    joined = [" ".join(preds[j] for j in group) for group in candidates]
    rows, cols = linear_sum_assignment([[ned(g, c) for c in joined] for g in gts])
    paired: dict[int, tuple[int, ...]] = {}
    unmatched_gt: list[int] = []
    for i in range(len(gts)):
        if i in rows:
            col = cols[rows.index(i)]
            if ned(gts[i], joined[col]) <= UNDO_PAIR_NED:
                paired[i] = tuple(range(candidates[col][0], candidates[col][-1] + 1))
                continue
        unmatched_gt.append(i)
    groups: dict[tuple[int, ...], list[int]] = {}
    used_gt: set[int] = set()
    for i, group in paired.items():
        groups.setdefault(tuple(sorted(group)), [])
        if i not in used_gt:
            groups[tuple(sorted(group))].append(i)
            used_gt.add(i)
    for j, piece in enumerate(preds):
        rescued = [i for i in unmatched_gt if _fits_inside(piece, gts[i])]
        if rescued:
            members = groups.setdefault((j,), [])
            for i in rescued:
                if i not in used_gt:
                    members.append(i)
                    used_gt.add(i)
    return _collect_entries(groups, gts, preds)


def _fits_inside(piece: str, gt: str) -> bool:
    fit = best_window_ned(piece, gt)
    return fit is not None and fit < FUZZY_RESCUE_NED


def _collect_entries(groups: dict[tuple[int, ...], list[int]], gts: list[str], preds: list[str]) -> list[MatchedEntry]:
    pairs: list[tuple[int | None, tuple[int, ...]]] = []  # (gt or None, pred group or () for "missed")
    for group, members in groups.items():
        pairs.extend((i, group) for i in sorted(set(members)))
    matched_gt = {i for members in groups.values() for i in members}
    matched_pred = {j for group in groups for j in group}
    left_gt = [i for i in range(len(gts)) if i not in matched_gt]
    left_pred = [j for j in range(len(preds)) if j not in matched_pred]
    if left_pred and left_gt:
        rows, cols = linear_sum_assignment([[levenshtein(gts[i], preds[j]) for j in left_pred] for i in left_gt])
        pairs.extend((left_gt[r], (left_pred[c],)) for r, c in zip(rows, cols))
    elif left_pred:
        pairs.append((None, tuple(left_pred)))
    else:
        pairs.extend((i, ()) for i in left_gt)
    entries: list[MatchedEntry] = []
    seen_groups: set[tuple[int, ...]] = set()
    listed_gt: set[int] = set()
    for i, group in pairs:
        if not group or group in seen_groups:
            continue
        members = [other for other, other_group in pairs if other_group == group and other is not None]
        entries.append(MatchedEntry(tuple(members), group))
        seen_groups.add(group)
        listed_gt.update(members)
    for i, group in pairs:
        if not group and i not in listed_gt:
            entries.append(MatchedEntry((i,), ()))  # listed here and again below: the published quirk
    entries.extend(MatchedEntry((i,), ()) for i in range(len(gts)) if i not in listed_gt)
    return entries


def simple_match(gts: list[str], preds: list[str]) -> list[MatchedEntry]:
    """One-to-one minimum-cost assignment on NED (OmniDocBench's ``match_gt2pred_simple``, used for tables);
    unassigned GT items are missed, unassigned predictions are dropped."""
    if not gts or not preds:
        return [MatchedEntry((i,), ()) for i in range(len(gts))]
    rows, cols = linear_sum_assignment([[ned(g, p) for p in preds] for g in gts])
    assigned = dict(zip(rows, cols))
    return [MatchedEntry((i,), (assigned[i],) if i in assigned else ()) for i in range(len(gts))]
