/* Texts many streams hold alike (the last error, the last refusal warned
 * about): one counted copy of each distinct text, shared. With thousands of
 * streams failing or refused for the same reason ("does not exist (manage:
 * observe)", an outage's message) a copy each would cost more than the
 * streams themselves.
 *
 * No I/O, no logging; the pool belongs to the manager and outlives every
 * reconciler that holds one of its texts. */
#pragma once

struct text_pool;

struct text_pool *text_pool_new(void);
/* Every text must have been put back first. */
struct text_pool *text_pool_free(struct text_pool *p);

/* The pool's copy of s, held once more; NULL if s is NULL or memory ran
 * out. Without a pool (NULL): a copy of its own, freed by text_pool_put(NULL, …). */
const char *text_pool_get(struct text_pool *p, const char *s);
/* Give back a text text_pool_get() returned (NULL: nothing). */
void text_pool_put(struct text_pool *p, const char *s);
