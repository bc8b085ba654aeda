/* streams.json (state-json.h): written field by field, one per line, and
 * read back the same way when a new process starts.
 *
 * The file is written directly, not through a JSON object tree, and read
 * back line by line, not into one: with thousands of streams the tree and its
 * rendering were most of the daemon's peak memory. The reader follows
 * nesting, not indentation, and refuses what this writer would never produce.
 *
 * This file must never write but through atomic-file, never read more than
 * STATE_PREVIOUS_MAX bytes, and never call into the manager or the
 * configuration. */
#include "state-json.h"

#include <fcntl.h>
#include <limits.h>
#include <time.h>

#include "atomic-file.h"
#include "file-read.h"
#include "util.h"

/* Longest generated_at we take back from a file as it is. */
#define GENERATED_AT_MAX 64

/* Nesting of streams.json: the document, "streams":[, a stream's {,
 * "consumers":{. Nothing is written deeper. */
enum {
        DEPTH_DOCUMENT = 1,
        DEPTH_STREAMS,
        DEPTH_STREAM,
        DEPTH_CONSUMERS,
};

static bool format_rfc3339(uint64_t usec, char buf[static 32]) {
        time_t t;
        struct tm tm;

        if (usec / USEC_PER_SEC > (uint64_t) INT64_MAX)
                return false;
        t = (time_t) (usec / USEC_PER_SEC);
        if (!gmtime_r(&t, &tm))
                return false;
        return strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0;
}

static int cmp_consumer_ptr(const void *a, const void *b) {
        const struct state_consumer *x = *(const struct state_consumer *const *) a;
        const struct state_consumer *y = *(const struct state_consumer *const *) b;
        return strcmp(x->name, y->name);
}

/* The consumers of s sorted by name (NULL when there are none). */
static int sorted_consumers(const struct state_stream *s, const struct state_consumer ***ret) {
        const struct state_consumer **v = NULL;

        if (s->n_consumers > 0) {
                v = calloc(s->n_consumers, sizeof *v);
                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_consumers; i++)
                        v[i] = &s->consumers[i];
                qsort(v, s->n_consumers, sizeof *v, cmp_consumer_ptr);
        }
        *ret = v;
        return 0;
}

/* streams.json is written directly, not through a JSON object tree: with
 * thousands of streams the tree and its rendering were most of the daemon's
 * peak memory. The layout is fixed (two-space indent, "key":value), so the
 * unchanged-content check below can compare bytes. */

/* JSON string escapes: the two that must be, and control characters. */
static bool json_needs_escape(unsigned char c) {
        return c == '"' || c == '\\' || c < 0x20 || c == 0x7f;
}

/* The usual string, short and with nothing to escape, quoted in buf for
 * one write: stdio's per-call cost was most of streams.json's. Returns the
 * length, or 0 when s is not such a string. */
static size_t json_quote_plain(const char *s, const char *suffix, char *buf, size_t size) {
        size_t n = 0;

        buf[n++] = '"';
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (json_needs_escape(*p) || n + 1 >= size)
                        return 0;
                buf[n++] = (char) *p;
        }
        buf[n++] = '"';
        for (; *suffix; suffix++) {
                if (n >= size)
                        return 0;
                buf[n++] = *suffix;
        }
        return n;
}

static void json_put_string(FILE *f, const char *s) {
        const unsigned char *p, *run;
        char buf[256];
        size_t n;

        if (!s) {
                fputs("null", f);
                return;
        }
        n = json_quote_plain(s, "", buf, sizeof buf);
        if (n > 0) {
                fwrite(buf, 1, n, f);
                return;
        }
        fputc('"', f);
        for (p = run = (const unsigned char *) s; *p; p++) {
                if (!json_needs_escape(*p))
                        continue;
                /* Unescaped stretches go out whole. */
                fwrite(run, 1, (size_t) (p - run), f);
                run = p + 1;
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        fprintf(f, "\\u%04x", *p);
                }
        }
        fwrite(run, 1, (size_t) (p - run), f);
        fputc('"', f);
}

static void json_put_key(FILE *f, const char *indent, const char *key) {
        char buf[128];
        size_t il = strlen(indent), n = il < sizeof buf ? json_quote_plain(key, ":", buf + il, sizeof buf - il) : 0;

        if (n > 0) {
                memcpy(buf, indent, il);
                fwrite(buf, 1, il + n, f);
                return;
        }
        fputs(indent, f);
        json_put_string(f, key);
        fputc(':', f);
}

static void json_put_time(FILE *f, uint64_t usec) {
        char buf[32];
        json_put_string(f, usec > 0 && format_rfc3339(usec, buf) ? buf : NULL);
}

/* The account field of an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:...) if
 * it is 12 digits, copied into buf (13 bytes); else NULL. */
static const char *arn_account(const char *arn, char *buf) {
        const char *p = arn;

        for (int field = 0; p && field < 4; field++)
                p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL;
        if (!p || strspn(p, "0123456789") != 12 || p[12] != ':')
                return NULL;
        memcpy(buf, p, 12);
        buf[12] = '\0';
        return buf;
}

static int put_stream_json(FILE *f, const struct state_stream *s, bool last) {
        _cleanup_free_ const struct state_consumer **cv = NULL;
        char account[13];
        const char *in = "      ";
        int r;

        r = sorted_consumers(s, &cv);
        if (r < 0)
                return r;
        fputs("    {\n", f);
        json_put_key(f, in, "name");
        json_put_string(f, s->name);
        fputs(",\n", f);
        json_put_key(f, in, "region");
        json_put_string(f, s->region);
        fputs(",\n", f);
        json_put_key(f, in, "account");
        json_put_string(f, s->account ? s->account : arn_account(s->arn, account));
        fputs(",\n", f);
        json_put_key(f, in, "arn");
        json_put_string(f, s->arn);
        fputs(",\n", f);
        json_put_key(f, in, "status");
        json_put_string(f, s->status);
        fputs(",\n", f);
        json_put_key(f, in, "mode");
        json_put_string(f, s->mode);
        fputs(",\n", f);
        json_put_key(f, in, "shards");
        fprintf(f, "%u,\n", s->shards);
        json_put_key(f, in, "retention_hours");
        fprintf(f, "%u,\n", s->retention_hours);
        json_put_key(f, in, "consumers");
        fputs("{", f);
        for (size_t i = 0; i < s->n_consumers; i++) {
                fputs(i ? ",\n" : "\n", f);
                json_put_key(f, "        ", cv[i]->name);
                json_put_string(f, cv[i]->arn);
        }
        fputs(s->n_consumers ? "\n      },\n" : "},\n", f);
        json_put_key(f, in, "last_change");
        json_put_time(f, s->last_change_usec);
        fputs(",\n", f);
        json_put_key(f, in, "last_error");
        json_put_string(f, s->last_error);
        fputs(",\n", f);
        json_put_key(f, in, "waiting");
        json_put_string(f, s->waiting);
        fputs(",\n", f);
        json_put_key(f, in, "throughput_commitment");
        json_put_string(f, s->throughput_commitment);
        fputs(",\n", f);
        json_put_key(f, in, "not_managed");
        json_put_string(f, s->not_managed);
        fputs(last ? "\n    }\n" : "\n    },\n", f);
        return 0;
}

#define STREAMS_JSON_HEAD "{\n  \"generated_at\":\""
#define STREAMS_JSON_TS_END "\",\n"

struct streams_json {
        const struct state_stream *const *v;
        size_t n;
        const char *generated_at;
};

static int render_streams_json(FILE *f, const void *userdata) {
        const struct streams_json *j = userdata;
        int r = 0;

        fputs(STREAMS_JSON_HEAD, f);
        fputs(j->generated_at, f);
        fputs(STREAMS_JSON_TS_END "  \"streams\":[\n", f);
        for (size_t i = 0; r >= 0 && i < j->n; i++)
                r = put_stream_json(f, j->v[i], i + 1 == j->n);
        fputs("  ]\n}\n", f);
        return r;
}

/* The generated_at at the top of our own streams.json, open as fd. */
static bool previous_generated_at(int fd, char ts[static GENERATED_AT_MAX + 1]) {
        size_t head = strlen(STREAMS_JSON_HEAD), end = strlen(STREAMS_JSON_TS_END), ts_len;
        char first[160], *q;
        ssize_t k;

        k = pread(fd, first, sizeof first - 1, 0);
        if (k < (ssize_t) head)
                return false;
        first[k] = 0;
        if (memcmp(first, STREAMS_JSON_HEAD, head) != 0 || !(q = strchr(first + head, '"')))
                return false;
        ts_len = (size_t) (q - first) - head;
        if (ts_len == 0 || ts_len > GENERATED_AT_MAX || strncmp(q, STREAMS_JSON_TS_END, end) != 0)
                return false;
        memcpy(ts, first + head, ts_len);
        ts[ts_len] = 0;
        return true;
}

/* streams.json keeps its generated_at while nothing else in it changes: the
 * old file is compared with what it would be under its own generated_at, and
 * only a difference writes it anew, stamped now. */
int state_json_write(int dirfd, const struct state_stream *const *v, size_t n, uint64_t now_usec) {
        _cleanup_close_ int fd = -1;
        char old[GENERATED_AT_MAX + 1], now[32];
        struct streams_json j = { v, n, NULL };
        off_t size = 0;
        int r;

        fd = atomic_file_open_existing(dirfd, STREAMS_JSON, &size);
        if (fd >= 0 && previous_generated_at(fd, old)) {
                j.generated_at = old;
                r = atomic_file_matches(fd, size, render_streams_json, &j);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        if (!format_rfc3339(now_usec, now))
                return -ERANGE;
        j.generated_at = now;
        return atomic_file_write_rendered(dirfd, STREAMS_JSON, render_streams_json, &j, false);
}

/* ---- reading it back ---------------------------------------------------- */

static bool parse_rfc3339(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        time_t t;

        if (!end || *end)
                return false;
        t = timegm(&tm);
        if (t <= 0)
                return false;
        *ret = (uint64_t) t * USEC_PER_SEC;
        return true;
}

/* One line of streams.json, whitespace and a trailing comma taken off. */
struct json_line {
        enum { LINE_BLANK, LINE_OPEN, LINE_CLOSE, LINE_VALUE } kind;
        const char *key;   /* NULL: none, or one with an escape */
        const char *value; /* a string without escapes, else NULL */
        const char *scalar; /* a number (or true, false, null), else NULL */
};

/* Find the closing quote of the string that starts after p[-1] == '"'; set
 * *escaped if it holds an escape. NULL if the line ends first. */
static char *string_end(char *p, bool *escaped) {
        *escaped = false;
        for (; *p; p++) {
                if (*p == '"')
                        return p;
                if (*p == '\\') {
                        *escaped = true;
                        if (!*++p)
                                return NULL;
                }
        }
        return NULL;
}

static bool is_scalar(const char *v) {
        if (!*v)
                return false;
        for (; *v; v++)
                if (!((*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || strchr(".+-E", *v)))
                        return false;
        return true;
}

/* Classify line (changed in place: strings are cut out of it). 0, or
 * -EBADMSG for a line this writer would not have written. */
static int json_line_parse(char *line, struct json_line *ret) {
        size_t l;
        char *v, *e;
        bool escaped;

        while (*line == ' ' || *line == '\t')
                line++;
        l = strlen(line);
        while (l > 0 && strchr(" \t\r", line[l - 1]))
                line[--l] = 0;
        if (l > 0 && line[l - 1] == ',')
                line[--l] = 0;

        *ret = (struct json_line) { .kind = l == 0 ? LINE_BLANK : LINE_VALUE };
        if (l == 0)
                return 0;
        if (streq(line, "{") || streq(line, "[") || streq(line, "}") || streq(line, "]")) {
                ret->kind = line[0] == '{' || line[0] == '[' ? LINE_OPEN : LINE_CLOSE;
                return 0;
        }
        if (line[0] != '"' || !(e = string_end(line + 1, &escaped)) || e[1] != ':')
                return -EBADMSG;
        *e = 0;
        ret->key = escaped ? NULL : line + 1;
        v = e + 2;
        while (*v == ' ' || *v == '\t')
                v++;
        if (streq(v, "{") || streq(v, "[")) {
                ret->kind = LINE_OPEN;
                return 0;
        }
        if (streq(v, "{}") || streq(v, "[]"))
                return 0;
        if (is_scalar(v)) {
                ret->scalar = v;
                return 0;
        }
        if (v[0] != '"' || !(e = string_end(v + 1, &escaped)) || e[1] != 0)
                return -EBADMSG;
        *e = 0;
        ret->value = escaped ? NULL : v + 1;
        return 0;
}

static const char *arn_or_null(const char *v) {
        return v && strncmp(v, "arn:", 4) == 0 ? v : NULL;
}

struct previous_reader {
        struct state_previous p;
        size_t cap_streams, cap_consumers;
        unsigned depth;
        bool done;
        struct state_previous_stream cur;
        size_t cur_first; /* cur's first consumer in p.consumers */
};

static int reader_add_consumer(struct previous_reader *r, const char *name, const char *arn) {
        if (r->p.n_consumers == r->cap_consumers) {
                size_t c = r->cap_consumers ? r->cap_consumers * 2 : 16;
                struct state_previous_consumer *v = reallocarray(r->p.consumers, c, sizeof *v);
                if (!v)
                        return -ENOMEM;
                r->p.consumers = v;
                r->cap_consumers = c;
        }
        r->p.consumers[r->p.n_consumers++] = (struct state_previous_consumer) { name, arn_or_null(arn) };
        return 0;
}

/* A stream's closing brace: keep it if it names itself, else drop it and
 * the consumers read for it. */
static int reader_end_stream(struct previous_reader *r) {
        if (!r->cur.name || !r->cur.region) {
                r->p.n_consumers = r->cur_first;
                return 0;
        }
        if (r->p.n_streams == r->cap_streams) {
                size_t c = r->cap_streams ? r->cap_streams * 2 : 64;
                struct state_previous_stream *v = reallocarray(r->p.streams, c, sizeof *v);
                if (!v)
                        return -ENOMEM;
                r->p.streams = v;
                r->cap_streams = c;
        }
        r->cur.n_consumers = r->p.n_consumers - r->cur_first;
        r->p.streams[r->p.n_streams++] = r->cur;
        return 0;
}

static void reader_value(struct previous_reader *r, const struct json_line *l) {
        if (!l->key)
                return;
        if (streq(l->key, "name"))
                r->cur.name = l->value;
        else if (streq(l->key, "region"))
                r->cur.region = l->value;
        else if (streq(l->key, "account"))
                r->cur.account = l->value;
        else if (streq(l->key, "arn"))
                r->cur.arn = arn_or_null(l->value);
        else if (streq(l->key, "shards") || streq(l->key, "retention_hours")) {
                unsigned long u = 0;
                char *end = NULL;
                if (l->scalar && l->scalar[0] >= '0' && l->scalar[0] <= '9')
                        u = strtoul(l->scalar, &end, 10);
                *(streq(l->key, "shards") ? &r->cur.shards : &r->cur.retention_hours) =
                        end && !*end && u <= UINT_MAX ? (unsigned) u : 0;
        } else if (streq(l->key, "last_change") &&
                 (!l->value || !parse_rfc3339(l->value, &r->cur.last_change_usec)))
                r->cur.last_change_usec = 0;
}

/* Follow one line's nesting: a bare "{" opens the document or a stream, a
 * keyed one "streams" or "consumers"; anything else out of place is refused. */
static int reader_line(struct previous_reader *r, const struct json_line *l) {
        if (l->kind == LINE_BLANK)
                return 0;
        if (r->done)
                return -EBADMSG;
        switch (l->kind) {
        case LINE_BLANK:
                return 0;
        case LINE_OPEN:
                if (!l->key ? r->depth != 0 && r->depth != DEPTH_STREAMS
                            : r->depth != DEPTH_DOCUMENT && r->depth != DEPTH_STREAM)
                        return -EBADMSG;
                if (++r->depth == DEPTH_STREAM) {
                        r->cur = (struct state_previous_stream) {};
                        r->cur_first = r->p.n_consumers;
                }
                return 0;
        case LINE_CLOSE:
                if (r->depth == 0)
                        return -EBADMSG;
                if (r->depth-- == DEPTH_STREAM)
                        return reader_end_stream(r);
                r->done = r->depth == 0;
                return 0;
        case LINE_VALUE:
                if (r->depth == 0)
                        return -EBADMSG;
                if (r->depth == DEPTH_CONSUMERS && l->key)
                        return reader_add_consumer(r, l->key, l->value);
                if (r->depth == DEPTH_STREAM)
                        reader_value(r, l);
                return 0;
        }
        return -EBADMSG;
}

void state_previous_done(struct state_previous *p) {
        free(p->text);
        free(p->streams);
        free(p->consumers);
        *p = (struct state_previous) {};
}

int state_read_previous(const struct state_dir *d, struct state_previous *ret) {
        struct previous_reader r = {};
        size_t off = 0, len = 0;
        int fd = state_dir_fd(d), k;

        if (fd < 0 || !ret)
                return -EINVAL;
        k = read_file_bounded_at(fd, STREAMS_JSON, O_NOFOLLOW, STATE_PREVIOUS_MAX, &r.p.text, &len, NULL);
        if (k < 0)
                return k;
        if (strlen(r.p.text) != len)
                k = -EBADMSG; /* a NUL byte */
        while (k >= 0 && off < len) {
                char *line = r.p.text + off, *nl = strchr(line, '\n');
                struct json_line l;

                if (nl)
                        *nl = 0;
                off += strlen(line) + 1;
                k = json_line_parse(line, &l);
                if (k >= 0)
                        k = reader_line(&r, &l);
        }
        if (k >= 0 && !r.done)
                k = -EBADMSG; /* empty or truncated */
        if (k < 0) {
                state_previous_done(&r.p);
                return k;
        }
        /* Every stream's consumers are contiguous and in order. */
        off = 0;
        for (size_t i = 0; i < r.p.n_streams; i++) {
                r.p.streams[i].consumers = r.p.n_consumers ? r.p.consumers + off : NULL;
                off += r.p.streams[i].n_consumers;
        }
        *ret = r.p;
        return 0;
}
