/* Prints the route table of routes_router() as "METHOD PATTERN" lines, one
 * per route, for check_routes.py to compare with api-spec/openapi.yaml. */
#include <stdio.h>

#include "handlers/routes.h"

int main(void)
{
    const struct srv_router *r = routes_router();
    for (size_t i = 0; i < r->nroutes; i++)
        printf("%s %s\n", srv_method_name(r->routes[i].method), r->routes[i].pattern);
    printf("# api 1.%d 1.%d\n", r->api_min_minor, r->api_max_minor);
    return ferror(stdout) ? 1 : 0;
}
