/* Fuzz target for sigv4_sign().
 *
 * Input: one flag byte, then '\n'-separated lines: method, path, query,
 * session token, header lines "name:value" up to an empty line, and the rest
 * is the body. Flag bits: 1 normalize, 2 double-encode, 4 omit the token,
 * 8 add x-amz-content-sha256, 16 no query at all, 32 no token at all.
 *
 * Besides not crashing, every signed request must hold these invariants:
 * the canonical request is well formed (sorted, folded, consistent with the
 * signed-header list and the body hash), the string to sign hashes it, the
 * signature is 64 lower-case hex digits and appears in the Authorization
 * value, signing again gives the same bytes, and reordering headers (keeping
 * the relative order of same-named ones, whose values are joined) does not
 * change the signature. A refused request leaves the result untouched. */

#include <errno.h>
#include <strings.h>

#include "fuzz-common.h"
#include "aws/sigv4.h"
#include "util.h"

#define MAX_FUZZ_HEADERS (SIGV4_MAX_HEADERS + 2)

static bool is_lower_hex(const char *s, size_t n) {
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static bool is_unreserved(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.' || c == '_' || c == '~';
}

/* Only unreserved characters, the extra ones allowed, and %XX escapes with
 * upper-case hex digits. */
static bool is_encoded(const char *s, size_t n, const char *extra) {
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '%') {
                        if (i + 2 >= n || !strchr("0123456789ABCDEF", s[i + 1]) || !s[i + 1] ||
                            !strchr("0123456789ABCDEF", s[i + 2]) || !s[i + 2])
                                return false;
                        i += 2;
                } else if (!is_unreserved(s[i]) && !strchr(extra, s[i]))
                        return false;
        }
        return true;
}

static void check_canonical_request(const struct sigv4_request *req, const struct sigv4_result *res) {
        const char *cr = res->canonical_request;
        const char *line = cr, *eol;
        char prev_name[SIGV4_MAX_HEADER_NAME + 32] = "";
        char body_hash[65];
        size_t signed_len = 0, n_lines = 0;
        char *signed_list = calloc(1, strlen(cr) + 1);

        ASSERT(signed_list);

        /* method */
        eol = strchr(line, '\n');
        ASSERT(eol && (size_t)(eol - line) == strlen(req->method) &&
               !strncmp(line, req->method, eol - line));
        /* canonical URI */
        line = eol + 1;
        eol = strchr(line, '\n');
        ASSERT(eol && eol > line && line[0] == '/');
        if (req->double_encode_path)
                ASSERT(is_encoded(line, eol - line, "/"));
        if (req->normalize_path)
                for (const char *p = line; p + 1 < eol; p++)
                        ASSERT(!(p[0] == '/' && p[1] == '/'));
        /* canonical query: sorted key=value pairs, all encoded */
        line = eol + 1;
        eol = strchr(line, '\n');
        ASSERT(eol);
        for (const char *p = line; p < eol;) {
                const char *amp = memchr(p, '&', eol - p), *end = amp ? amp : eol;
                const char *eq = memchr(p, '=', end - p);
                ASSERT(eq);
                ASSERT(is_encoded(p, eq - p, "") && is_encoded(eq + 1, end - eq - 1, ""));
                p = amp ? amp + 1 : eol;
                if (amp)
                        ASSERT(p < eol);
        }
        /* header lines up to the blank one: lower-case names, strictly sorted,
         * values trimmed with single inner spaces */
        for (line = eol + 1; (eol = strchr(line, '\n')) && eol != line; line = eol + 1) {
                const char *colon = memchr(line, ':', eol - line);
                size_t nl;
                ASSERT(colon && colon > line);
                nl = colon - line;
                ASSERT(nl < sizeof prev_name);
                for (const char *p = line; p < colon; p++)
                        ASSERT(!(*p >= 'A' && *p <= 'Z') && *p > 0x20 && *p != 0x7f);
                char name[sizeof prev_name];
                memcpy(name, line, nl);
                name[nl] = 0;
                ASSERT(n_lines == 0 || strcmp(prev_name, name) < 0);
                memcpy(prev_name, name, nl + 1);
                for (const char *p = colon + 1; p < eol; p++) {
                        ASSERT(*p != '\t' && *p != '\r' && *p != '\v' && *p != '\f');
                        if (*p == ' ')
                                ASSERT(p > colon + 1 && p + 1 < eol && p[1] != ' ');
                }
                if (n_lines > 0)
                        signed_list[signed_len++] = ';';
                memcpy(signed_list + signed_len, name, nl);
                signed_len += nl;
                n_lines++;
        }
        ASSERT(eol == line);
        ASSERT(n_lines >= 2); /* host and x-amz-date at least */
        /* signed header list, then the payload hash, and nothing after */
        line = eol + 1;
        eol = strchr(line, '\n');
        ASSERT(eol && (size_t)(eol - line) == signed_len && !strncmp(line, signed_list, signed_len));
        line = eol + 1;
        sigv4_sha256_hex(req->body, req->body_len, body_hash);
        ASSERT(streq(line, body_hash));

        ASSERT(strstr(cr, "\nhost:"));
        ASSERT(strstr(cr, "\nx-amz-date:"));
        if (req->session_token && req->session_token[0] && !req->omit_session_token)
                ASSERT(strstr(cr, "\nx-amz-security-token:"));
        else
                ASSERT(!strstr(cr, "\nx-amz-security-token:"));

        _cleanup_free_ char *needle = NULL;
        ASSERT(asprintf(&needle, ", SignedHeaders=%s, Signature=%s", signed_list, res->signature) > 0);
        ASSERT(strstr(res->authorization, needle));
        ASSERT(!strncmp(res->authorization, "AWS4-HMAC-SHA256 Credential=", 28));
        free(signed_list);
}

static void check_string_to_sign(const struct sigv4_result *res) {
        char hash[65];
        const char *last = strrchr(res->string_to_sign, '\n');

        ASSERT(!strncmp(res->string_to_sign, "AWS4-HMAC-SHA256\n", 17));
        ASSERT(!strncmp(res->string_to_sign + 17, res->amz_date, 16));
        ASSERT(last);
        sigv4_sha256_hex(res->canonical_request, strlen(res->canonical_request), hash);
        ASSERT(streq(last + 1, hash));
}

static bool name_eq(const char *a, const char *b) {
        return strcasecmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct sigv4_header headers[MAX_FUZZ_HEADERS], permuted[MAX_FUZZ_HEADERS];
        struct sigv4_result res = {}, again = {}, perm_res = {};
        const char *fields[4] = {"", "", "", ""};
        size_t n_headers = 0;
        char *buf, *p, *end;
        uint8_t flags;
        int r;

        if (size < 1 || size > 64 * 1024)
                return 0;
        flags = data[0];
        buf = malloc(size);
        if (!buf)
                return 0;
        memcpy(buf, data + 1, size - 1);
        buf[size - 1] = 0;
        p = buf;
        end = buf + size - 1;

        for (size_t i = 0; i < ELEMENTSOF(fields) && p < end; i++) {
                char *nl = memchr(p, '\n', end - p);
                fields[i] = p;
                if (!nl) {
                        p = end;
                        break;
                }
                *nl = 0;
                p = nl + 1;
        }
        while (p < end) {
                char *nl = memchr(p, '\n', end - p), *colon;
                if (nl)
                        *nl = 0;
                if (!*p) {
                        p = nl ? nl + 1 : end;
                        break;
                }
                colon = strchr(p, ':');
                if (colon && n_headers < ELEMENTSOF(headers)) {
                        *colon = 0;
                        headers[n_headers++] = (struct sigv4_header){.name = p, .value = colon + 1};
                }
                p = nl ? nl + 1 : end;
        }

        struct sigv4_request req = {
                .method = fields[0],
                .path = fields[1],
                .query = (flags & 16) ? NULL : fields[2],
                .session_token = (flags & 32) ? NULL : fields[3],
                .headers = headers,
                .n_headers = n_headers,
                .body = p,
                .body_len = (size_t)(end - p),
                .region = "us-east-1",
                .service = "kinesis",
                .access_key_id = "AKIDEXAMPLE",
                .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                .now = 1440938160 + (time_t)(flags >> 6) * 86400 * 400,
                .normalize_path = flags & 1,
                .double_encode_path = flags & 2,
                .omit_session_token = flags & 4,
                .add_content_sha256 = flags & 8,
        };

        r = sigv4_sign(&req, &res);
        if (r < 0) {
                struct sigv4_result zero = {};
                ASSERT(r == -EINVAL || r == -ENOMEM);
                ASSERT(memcmp(&res, &zero, sizeof zero) == 0);
                free(buf);
                return 0;
        }

        ASSERT(is_lower_hex(res.signature, 64));
        ASSERT(res.authorization && res.canonical_request && res.string_to_sign);
        ASSERT(strlen(res.amz_date) == 16);
        ASSERT(!!res.content_sha256 == !!req.add_content_sha256);
        check_canonical_request(&req, &res);
        check_string_to_sign(&res);

        /* Deterministic. */
        ASSERT(sigv4_sign(&req, &again) == 0);
        ASSERT(streq(res.canonical_request, again.canonical_request));
        ASSERT(streq(res.string_to_sign, again.string_to_sign));
        ASSERT(streq(res.authorization, again.authorization));
        ASSERT(streq(res.signature, again.signature));

        /* Reverse the order of distinct names, each name's headers kept in
         * their order: a different request on the wire, the same signature. */
        size_t n = 0;
        for (size_t i = n_headers; i-- > 0;) {
                bool seen_earlier = false;
                for (size_t j = 0; j < i && !seen_earlier; j++)
                        seen_earlier = name_eq(headers[j].name, headers[i].name);
                if (seen_earlier)
                        continue; /* emitted with the group's first member */
                for (size_t j = i; j < n_headers; j++)
                        if (name_eq(headers[j].name, headers[i].name))
                                permuted[n++] = headers[j];
        }
        ASSERT(n == n_headers);
        req.headers = permuted;
        ASSERT(sigv4_sign(&req, &perm_res) == 0);
        ASSERT(streq(res.signature, perm_res.signature));
        ASSERT(streq(res.canonical_request, perm_res.canonical_request));

        sigv4_result_done(&res);
        sigv4_result_done(&again);
        sigv4_result_done(&perm_res);
        free(buf);
        return 0;
}
