/* Detach keys: the key sequence that ends an attach (or exec) session while
 * the container keeps running. Docker's format: comma-separated keys, each
 * one ASCII character or "ctrl-<c>" with <c> in a-z @ [ \ ] ^ _; the default
 * is "ctrl-p,ctrl-q". The filter sits on the client's input: bytes that may
 * start the sequence are held back, and passed on if the sequence breaks. */
#ifndef BERTH_HANDLERS_DETACH_KEYS_H
#define BERTH_HANDLERS_DETACH_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"

#define DETACH_KEYS_MAX     16
#define DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"

struct detach_keys {
    unsigned char seq[DETACH_KEYS_MAX];
    size_t len; /* 0: detaching is off */
    size_t pos; /* how much of seq the input has matched so far */
};

/* spec NULL or "" gives the default. 400 "Invalid detach keys (<spec>)
 * provided" for anything else Docker refuses. */
int detach_keys_parse(const char *spec, struct detach_keys *ret, struct berr *err);

/* Copies the bytes of in[0..n) to pass on into out, which has room for
 * n + DETACH_KEYS_MAX bytes, and returns how many. *detached becomes true
 * once the whole sequence is seen; input after it is dropped. */
size_t detach_keys_filter(struct detach_keys *k, const char *in, size_t n, char *out,
                          bool *detached);

/* The held-back prefix (input ended mid-sequence): copied into out (room for
 * DETACH_KEYS_MAX bytes), returns its length and forgets it. */
size_t detach_keys_flush(struct detach_keys *k, char *out);

#endif
