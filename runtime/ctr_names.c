/* Names for containers created without --name: "adjective_scientist", as
 * Docker users are used to (scripts only rely on the shape). */
#include <stdio.h>
#include <sys/random.h>

#include "container.h"

static const char *const adjectives[] = {
    "agile",   "bold",    "brave",   "bright",   "calm",    "clever", "cosmic", "curious",
    "daring",  "eager",   "elegant", "fearless", "festive", "gentle", "happy",  "humble",
    "jolly",   "keen",    "kind",    "lucid",    "mellow",  "merry",  "modest", "nimble",
    "patient", "playful", "proud",   "quiet",    "serene",  "sharp",  "steady", "swift",
    "tender",  "tidy",    "upbeat",  "vibrant",  "vivid",   "wise",   "witty",  "zealous",
};

static const char *const scientists[] = {
    "agnesi",   "babbage",    "bohr",    "boole",    "carson",   "curie",  "darwin",   "dijkstra",
    "einstein", "euler",      "faraday", "fermi",    "franklin", "galois", "gauss",    "hamilton",
    "hopper",   "hypatia",    "johnson", "kepler",   "knuth",    "lamarr", "lovelace", "maxwell",
    "meitner",  "mirzakhani", "newton",  "noether",  "pascal",   "payne",  "poincare", "ritchie",
    "shannon",  "somerville", "tesla",   "thompson", "turing",   "volta",  "wozniak",  "yonath",
};

#define NADJ (sizeof(adjectives) / sizeof(adjectives[0]))
#define NSCI (sizeof(scientists) / sizeof(scientists[0]))

void ctr_name_generate(const struct ctr_table *t, char *out, size_t outlen)
{
    for (unsigned attempt = 0;; attempt++) {
        unsigned r[2] = {0, 0};
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            r[0] = attempt, r[1] = attempt * 7;
        if (attempt < 8)
            snprintf(out, outlen, "%s_%s", adjectives[r[0] % NADJ], scientists[r[1] % NSCI]);
        else
            snprintf(out, outlen, "%s_%s%u", adjectives[r[0] % NADJ], scientists[r[1] % NSCI],
                     r[0] % 100);
        if (!map_get(&t->by_name, out))
            return;
    }
}
