"""The dependency graph of a project's nodes, from their ref() and source() calls."""

from __future__ import annotations

import heapq

from runner.errors import GraphError


class Graph:
    """`parents[node]` is the set of nodes `node` reads from."""

    def __init__(self, parents: dict[str, set[str]]):
        self.parents = {node: set(deps) for node, deps in parents.items()}
        self.children: dict[str, set[str]] = {node: set() for node in self.parents}
        for node, deps in self.parents.items():
            for dep in deps:
                self.children.setdefault(dep, set()).add(node)
                self.parents.setdefault(dep, set())

    def upstream(self, node: str) -> set[str]:
        return self._walk(node, self.parents)

    def downstream(self, node: str) -> set[str]:
        return self._walk(node, self.children)

    @staticmethod
    def _walk(start: str, edges: dict[str, set[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(edges.get(start, ()))
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))
        return seen

    def topological_order(self) -> list[str]:
        """Kahn's algorithm; ties broken by name, so the order is stable."""
        indegree = {node: len(deps) for node, deps in self.parents.items()}
        ready = [node for node, n in indegree.items() if n == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            node = heapq.heappop(ready)
            order.append(node)
            for child in self.children.get(node, ()):
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, child)
        if len(order) < len(self.parents):
            raise GraphError(f"the models depend on each other in a cycle: "
                             f"{' -> '.join(self.find_cycle())} (each refs the next).",
                             hint="one of these models must stop ref()-ing the next; move the "
                                  "shared logic into a model both can ref.")
        return order

    def find_cycle(self) -> list[str]:
        """One cycle, as a path that ends where it starts."""
        state: dict[str, int] = {}      # 1: on the stack, 2: done
        for root in sorted(self.parents):
            if state.get(root):
                continue
            stack = [(root, iter(sorted(self.parents[root])))]
            path = [root]
            state[root] = 1
            while stack:
                node, deps = stack[-1]
                dep = next(deps, None)
                if dep is None:
                    state[node] = 2
                    stack.pop()
                    path.pop()
                elif state.get(dep) == 1:
                    return path[path.index(dep):] + [dep]
                elif not state.get(dep):
                    state[dep] = 1
                    path.append(dep)
                    stack.append((dep, iter(sorted(self.parents[dep]))))
        return []
