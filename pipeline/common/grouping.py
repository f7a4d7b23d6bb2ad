"""Grouping: things joined pairwise, gathered into the connected groups they make (union-find)."""

from __future__ import annotations

from collections.abc import Callable


def connected_groups(count: int, joined: Callable[[int, int], bool]) -> list[list[int]]:
    """The indices ``0 … count - 1`` in groups, two in one group where a chain of ``joined`` pairs (``i < j``) links
    them; groups in the order of their first index, each in increasing order."""
    parent = list(range(count))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for first in range(count):
        for second in range(first + 1, count):
            if joined(first, second):
                parent[find(second)] = find(first)
    groups: dict[int, list[int]] = {}
    for index in range(count):
        groups.setdefault(find(index), []).append(index)
    return list(groups.values())
