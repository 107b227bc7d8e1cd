"""Query limits, checked during validation before anything runs.

A storefront query nests a handful of levels (`products > edges > node > variations >
price` is 5) and selects tens of fields. Refused, with a GraphQL error and no data:

- data deeper than `MAX_DEPTH` levels (introspection, whose standard query nests type
  references about a dozen levels deep, is measured against `MAX_INTROSPECTION_DEPTH`);
- more than `MAX_FIELDS` fields in all, fragments counted wherever they are spread (so
  aliases and fragments cannot multiply the work unseen);
- more than `MAX_ROOT_FIELDS` top-level fields: each one is its own database read.

Fragments are measured once each, so measuring is linear in the size of the document.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

MAX_DEPTH = 8
MAX_INTROSPECTION_DEPTH = 20
MAX_FIELDS = 300
MAX_ROOT_FIELDS = 10
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# Past this nesting the query is refused anyway; stop descending (bounded recursion).
STOP_AT = MAX_INTROSPECTION_DEPTH + 2


@dataclass(frozen=True, slots=True)
class Size:
    depth: int = 0  # levels of data fields
    introspection_depth: int = 0
    fields: int = 0  # every field, fragments expanded
    width: int = 0  # fields directly at this level, fragments expanded

    def __add__(self, other: Size) -> Size:  # two selections side by side
        return Size(
            max(self.depth, other.depth),
            max(self.introspection_depth, other.introspection_depth),
            self.fields + other.fields,
            self.width + other.width,
        )


class Measure:
    def __init__(self, context: ValidationContext) -> None:
        self.context = context
        self.fragments: dict[str, Size] = {}
        self.visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None, level: int) -> Size:
        size = Size()
        if node is None or level > STOP_AT:
            return size if node is None else Size(depth=level, introspection_depth=level)
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                size += self.field(selection, level)
            elif isinstance(selection, InlineFragmentNode):
                size += self.selection_set(selection.selection_set, level)
            elif isinstance(selection, FragmentSpreadNode):
                size += self.fragment(selection.name.value, level)
        return size

    def field(self, node: FieldNode, level: int) -> Size:
        below = self.selection_set(node.selection_set, level + 1)
        fields = 1 + below.fields
        if node.name.value in INTROSPECTION_ROOTS:
            deepest = max(below.depth, below.introspection_depth)
            return Size(introspection_depth=1 + deepest, fields=fields, width=1)
        introspection = below.introspection_depth + 1 if below.introspection_depth else 0
        return Size(1 + below.depth, introspection, fields, width=1)

    def fragment(self, name: str, level: int) -> Size:
        if name in self.fragments:
            return self.fragments[name]
        definition = self.context.get_fragment(name)
        if definition is None or name in self.visiting:
            return Size()  # unknown or cyclic: the specified rules report those
        self.visiting.add(name)
        size = self.selection_set(definition.selection_set, level)
        self.visiting.discard(name)
        self.fragments[name] = size
        return size


class QueryLimitsRule(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_args) -> None:
        size = Measure(self.context).selection_set(node.selection_set, 0)
        refusals = []
        if size.depth > MAX_DEPTH:
            refusals.append(f"nests {size.depth} levels deep; the limit is {MAX_DEPTH}")
        if size.introspection_depth > MAX_INTROSPECTION_DEPTH:
            refusals.append(
                f"nests introspection {size.introspection_depth} levels deep; "
                f"the limit is {MAX_INTROSPECTION_DEPTH}"
            )
        if size.fields > MAX_FIELDS:
            refusals.append(f"selects {size.fields} fields; the limit is {MAX_FIELDS}")
        if size.width > MAX_ROOT_FIELDS:
            refusals.append(f"has {size.width} top-level fields; the limit is {MAX_ROOT_FIELDS}")
        for refusal in refusals:
            name = f"Operation '{node.name.value}'" if node.name else "The operation"
            self.report_error(GraphQLError(f"{name} {refusal}.", node))
