"""GraphQL storefront reads: /api/graphql (GET and POST; the schema is in lib.graphql.schema).

An API key is required as on every storefront read (the access middleware); a publishable
key is enough.
"""

from lib.runtime import FunctionApp

from django.http import HttpRequest, JsonResponse
from django.urls import path

from lib.graphql.http import graphql_response


def graphql(request: HttpRequest) -> JsonResponse:
    return graphql_response(request)


app = FunctionApp("graphql", [path("api/graphql", graphql)])
