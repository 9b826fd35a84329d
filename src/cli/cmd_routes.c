/* `usher routes`: prints every route the server answers, "METHOD PATTERN" one per line in match
 * order (optionally with who may call it and the query parameters it reads), straight from the
 * route tables, so documentation can be checked against them. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"

static void routes_help(FILE *out)
{
    fprintf(out,
            "Usage: usher routes [--access] [--query]\n\n"
            "Prints every HTTP route usher serves as \"METHOD PATTERN\", one per line, in the\n"
            "order the router tries them. {name} in a pattern stands for one path segment.\n"
            "HEAD is answered wherever GET is and is not listed.\n\n"
            "  --access    add a third column: \"public\" or \"authenticated\" (a session or a\n"
            "              token is required, else 401)\n"
            "  --query     add a column: the query parameters the route reads, comma-separated,\n"
            "              \"-\" for none (any other parameter is refused with 400), or \"*\"\n"
            "              for a route that takes any parameter and judges them itself\n");
}

static int routes_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        routes_help(stdout);
        return 0;
    }
    bool with_access = false, with_query = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--access") == 0) {
            with_access = true;
            continue;
        }
        if (strcmp(argv[i], "--query") == 0) {
            with_query = true;
            continue;
        }
        fprintf(stderr, "usher routes: unknown option \"%s\"\n\n", argv[i]);
        routes_help(stderr);
        return 2;
    }
    for (const struct http_route_table *const *t = api_route_tables; *t; t++) {
        for (const struct http_route *r = (*t)->routes; r->method; r++) {
            printf("%s %s", r->method, r->pattern);
            if (with_access)
                printf(" %s", r->access == HTTP_PUBLIC ? "public" : "authenticated");
            if (with_query) {
                printf(" ");
                for (const char *const *q = r->query; q && *q; q++)
                    printf("%s%s", q == r->query ? "" : ",", *q);
                if (!r->query || !*r->query)
                    printf("-");
            }
            printf("\n");
        }
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

const struct cli_command cli_cmd_routes = {"routes", "print every HTTP route", routes_run};
