"""Minimum-cost assignment on a rectangular cost matrix (the Hungarian method, shortest augmenting paths).

OmniDocBench pairs ground-truth blocks with predicted pieces by a minimum-cost assignment of their normalised edit
distances (it calls scipy's ``linear_sum_assignment``). scipy is not a docray dependency, so this is our own
O(n^2 m) implementation with numpy. Among equal-cost optima the pairing chosen may differ from scipy's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def linear_sum_assignment(cost: Sequence[Sequence[float]] | np.ndarray) -> tuple[list[int], list[int]]:
    """Rows and columns of a minimum-cost assignment: ``min(n_rows, n_cols)`` pairs, rows in ascending order."""
    matrix = np.asarray(cost, dtype=float)
    if matrix.ndim != 2 or matrix.size == 0:
        return [], []
    transposed = matrix.shape[0] > matrix.shape[1]
    if transposed:
        matrix = matrix.T
    column_of_row = _assign_rows(matrix)
    pairs = [(row, col) for row, col in enumerate(column_of_row)]
    if transposed:
        pairs = sorted((col, row) for row, col in pairs)
    return [row for row, _ in pairs], [col for _, col in pairs]


def _assign_rows(matrix: np.ndarray) -> list[int]:
    """Column assigned to each row of a matrix with n_rows <= n_cols (potentials + Dijkstra-like augmentation)."""
    n_rows, n_cols = matrix.shape
    row_potential = np.zeros(n_rows + 1)
    col_potential = np.zeros(n_cols + 1)
    row_of_col = np.zeros(n_cols + 1, dtype=int)  # 1-based row index per column, 0 = free; column 0 is virtual
    previous_col = np.zeros(n_cols + 1, dtype=int)
    for row in range(1, n_rows + 1):
        row_of_col[0] = row
        current_col = 0
        min_slack = np.full(n_cols + 1, np.inf)
        used = np.zeros(n_cols + 1, dtype=bool)
        while True:
            used[current_col] = True
            current_row = row_of_col[current_col]
            free = ~used[1:]
            slack = matrix[current_row - 1] - row_potential[current_row] - col_potential[1:]
            improve = free & (slack < min_slack[1:])
            min_slack[1:][improve] = slack[improve]
            previous_col[1:][improve] = current_col
            candidates = np.where(free, min_slack[1:], np.inf)
            next_col = int(np.argmin(candidates)) + 1
            delta = candidates[next_col - 1]
            row_potential[row_of_col[used]] += delta
            col_potential[used] -= delta
            min_slack[1:][free] -= delta
            current_col = next_col
            if row_of_col[current_col] == 0:
                break
        while current_col:
            back = previous_col[current_col]
            row_of_col[current_col] = row_of_col[back]
            current_col = back
    column_of_row = [0] * n_rows
    for col in range(1, n_cols + 1):
        if row_of_col[col]:
            column_of_row[row_of_col[col] - 1] = col - 1
    return column_of_row
