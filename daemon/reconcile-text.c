/* A counted set of shared texts (reconcile-text.h): a chained hash table
 * whose entries carry the text inline, found again from the text pointer.
 *
 * Must never hand out a text whose count it has not raised, or free one
 * still held. */
#include "reconcile-text.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TEXT_POOL_BUCKETS_FIRST 64

struct pooled_text {
        struct pooled_text *next;
        uint32_t hash;
        unsigned refs;
        char text[];
};

struct text_pool {
        struct pooled_text **buckets;
        size_t n_buckets; /* a power of two */
        size_t n;
};

static uint32_t text_hash(const char *s) {
        uint32_t h = 2166136261u; /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619u;
        return h;
}

static struct pooled_text *entry_of(const char *s) {
        return (struct pooled_text *) (void *) (s - offsetof(struct pooled_text, text));
}

struct text_pool *text_pool_new(void) {
        struct text_pool *p = calloc(1, sizeof *p);

        if (!p)
                return NULL;
        p->buckets = calloc(TEXT_POOL_BUCKETS_FIRST, sizeof *p->buckets);
        if (!p->buckets)
                return mfree(p);
        p->n_buckets = TEXT_POOL_BUCKETS_FIRST;
        return p;
}

struct text_pool *text_pool_free(struct text_pool *p) {
        if (!p)
                return NULL;
        /* Entries left would be a holder's bug; they go with the pool. */
        for (size_t i = 0; i < p->n_buckets; i++)
                for (struct pooled_text *e = p->buckets[i], *next; e; e = next) {
                        next = e->next;
                        free(e);
                }
        free(p->buckets);
        free(p);
        return NULL;
}

/* Twice the buckets once there are more texts than buckets; a failed
 * allocation only leaves the chains longer. */
static void grow(struct text_pool *p) {
        size_t nb = p->n_buckets * 2;
        struct pooled_text **b = calloc(nb, sizeof *b);

        if (!b)
                return;
        for (size_t i = 0; i < p->n_buckets; i++)
                for (struct pooled_text *e = p->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash & (nb - 1)];
                        b[e->hash & (nb - 1)] = e;
                }
        free(p->buckets);
        p->buckets = b;
        p->n_buckets = nb;
}

const char *text_pool_get(struct text_pool *p, const char *s) {
        struct pooled_text *e;
        uint32_t h;
        size_t len;

        if (!s)
                return NULL;
        if (!p)
                return strdup(s);
        h = text_hash(s);
        for (e = p->buckets[h & (p->n_buckets - 1)]; e; e = e->next)
                if (e->hash == h && streq(e->text, s)) {
                        e->refs++;
                        return e->text;
                }
        len = strlen(s);
        e = malloc(offsetof(struct pooled_text, text) + len + 1);
        if (!e)
                return NULL;
        memcpy(e->text, s, len + 1);
        e->hash = h;
        e->refs = 1;
        e->next = p->buckets[h & (p->n_buckets - 1)];
        p->buckets[h & (p->n_buckets - 1)] = e;
        if (++p->n > p->n_buckets)
                grow(p);
        return e->text;
}

void text_pool_put(struct text_pool *p, const char *s) {
        struct pooled_text *e, **link;

        if (!s)
                return;
        if (!p) {
                free((char *) s);
                return;
        }
        e = entry_of(s);
        if (--e->refs > 0)
                return;
        for (link = &p->buckets[e->hash & (p->n_buckets - 1)]; *link; link = &(*link)->next)
                if (*link == e) {
                        *link = e->next;
                        break;
                }
        p->n--;
        free(e);
}
