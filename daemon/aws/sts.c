/* An AWS STS client (see sts.h).
 *
 * The answer is read with libexpat, never searched as a string: a value is
 * taken only from the element its documented parent holds. A document type
 * declaration (and with it every entity) is refused outright.
 *
 * Must never log a credential, a token, a signature or a request body. */
#include "aws/sts.h"

#include <expat.h>
#include <stdio.h>
#include <time.h>

#include "aws/sigv4.h"
#include "aws/url.h"
#include "log.h"
#include "util.h"

#define STS_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"
#define XML_DEPTH_MAX 32
#define XML_VALUE_MAX 16384

/* ---- the request ----------------------------------------------------- */

static int form_append(char **buf, size_t *len, const char *key, const char *value) {
        static const char hex[] = "0123456789ABCDEF";
        size_t klen = strlen(key), vlen = strlen(value);
        char *n, *q;

        /* Every byte of the value may become three. */
        n = realloc(*buf, *len + 1 + klen + 1 + 3 * vlen + 1);
        if (!n)
                return -ENOMEM;
        *buf = n;
        q = n + *len;
        if (*len > 0)
                *q++ = '&';
        memcpy(q, key, klen);
        q += klen;
        *q++ = '=';
        for (const unsigned char *s = (const unsigned char *) value; *s; s++) {
                if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                    *s == '-' || *s == '_' || *s == '.' || *s == '~')
                        *q++ = (char) *s;
                else {
                        *q++ = '%';
                        *q++ = hex[*s >> 4];
                        *q++ = hex[*s & 15];
                }
        }
        *q = 0;
        *len = (size_t) (q - n);
        return 0;
}

int sts_query_body(const struct sts_params *p, char **ret) {
        _cleanup_free_ char *b = NULL;
        char duration[16];
        size_t len = 0;
        bool web;
        int r;

        if (!p->action || !p->role_arn || !*p->role_arn || !p->session_name || !*p->session_name)
                return -EINVAL;
        web = streq(p->action, "AssumeRoleWithWebIdentity");
        if (!web && !streq(p->action, "AssumeRole"))
                return -EINVAL;
        if (web && (!p->web_identity_token || !*p->web_identity_token))
                return -EINVAL;
        r = form_append(&b, &len, "Action", p->action);
        if (r >= 0)
                r = form_append(&b, &len, "Version", STS_VERSION);
        if (r >= 0)
                r = form_append(&b, &len, "RoleArn", p->role_arn);
        if (r >= 0)
                r = form_append(&b, &len, "RoleSessionName", p->session_name);
        if (r >= 0 && p->duration_seconds > 0) {
                (void) snprintf(duration, sizeof duration, "%u", p->duration_seconds);
                r = form_append(&b, &len, "DurationSeconds", duration);
        }
        if (r >= 0 && !web && p->external_id && *p->external_id)
                r = form_append(&b, &len, "ExternalId", p->external_id);
        if (r >= 0 && web)
                r = form_append(&b, &len, "WebIdentityToken", p->web_identity_token);
        if (r < 0) {
                if (b)
                        explicit_bzero(b, len);
                return r;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

/* ---- the answer ------------------------------------------------------ */

void sts_answer_done(struct sts_answer *a) {
        if (!a)
                return;
        free(a->access_key_id);
        free_secret(a->secret_access_key);
        free_secret(a->session_token);
        free(a->expiration);
        free(a->assumed_arn);
        free(a->error_code);
        free(a->error_message);
        free(a->request_id);
        *a = (struct sts_answer){};
}

struct xml_state {
        XML_Parser parser;
        struct sts_answer *answer;
        const char *stack[XML_DEPTH_MAX];
        char **target;  /* the field the text of the open element goes to, or NULL */
        char text[XML_VALUE_MAX + 1];
        size_t text_len;
        unsigned depth;
        int error;
};

static void xml_fail(struct xml_state *s, int error) {
        if (s->error == 0)
                s->error = error;
        (void) XML_StopParser(s->parser, XML_FALSE);
}

/* The field an element fills, by its name and its parent's. */
static char **xml_field(struct sts_answer *a, const char *parent, const char *name) {
        static const struct {
                const char *parent, *name;
                size_t offset;
        } fields[] = {
                { "Credentials", "AccessKeyId", offsetof(struct sts_answer, access_key_id) },
                { "Credentials", "SecretAccessKey", offsetof(struct sts_answer, secret_access_key) },
                { "Credentials", "SessionToken", offsetof(struct sts_answer, session_token) },
                { "Credentials", "Expiration", offsetof(struct sts_answer, expiration) },
                { "AssumedRoleUser", "Arn", offsetof(struct sts_answer, assumed_arn) },
                { "Error", "Code", offsetof(struct sts_answer, error_code) },
                { "Error", "Message", offsetof(struct sts_answer, error_message) },
                { "ResponseMetadata", "RequestId", offsetof(struct sts_answer, request_id) },
                { "ErrorResponse", "RequestId", offsetof(struct sts_answer, request_id) },
        };

        if (!parent)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (streq(parent, fields[i].parent) && streq(name, fields[i].name))
                        return (char **) ((char *) a + fields[i].offset);
        return NULL;
}

static void XMLCALL xml_start(void *userdata, const XML_Char *name, const XML_Char **attrs) {
        struct xml_state *s = userdata;

        if (s->depth >= XML_DEPTH_MAX) {
                xml_fail(s, -EBADMSG);
                return;
        }
        s->target = xml_field(s->answer, s->depth > 0 ? s->stack[s->depth - 1] : NULL, name);
        /* Names live as long as the element is open: expat keeps them. */
        s->stack[s->depth++] = name;
        s->text_len = 0;
}

static void XMLCALL xml_end(void *userdata, const XML_Char *name) {
        struct xml_state *s = userdata;

        if (s->target && !*s->target) {
                *s->target = strndup(s->text, s->text_len);
                if (!*s->target)
                        xml_fail(s, -ENOMEM);
        }
        explicit_bzero(s->text, s->text_len);
        s->text_len = 0;
        s->target = NULL;
        if (s->depth > 0)
                s->depth--;
}

static void XMLCALL xml_text(void *userdata, const XML_Char *t, int len) {
        struct xml_state *s = userdata;

        if (!s->target || len <= 0)
                return;
        if (s->text_len + (size_t) len > XML_VALUE_MAX) {
                xml_fail(s, -EBADMSG);
                return;
        }
        memcpy(s->text + s->text_len, t, (size_t) len);
        s->text_len += (size_t) len;
}

static void XMLCALL xml_doctype(void *userdata, const XML_Char *name, const XML_Char *sysid,
                                const XML_Char *pubid, int has_internal_subset) {
        xml_fail(userdata, -EBADMSG);
}

int sts_answer_parse(const char *xml, size_t len, struct sts_answer *ret) {
        struct sts_answer a = {};
        struct xml_state *s;
        int r = 0;

        if (len > INT32_MAX)
                return -EBADMSG;
        /* The state holds a value buffer: too big for the stack of a fuzzer. */
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->parser = XML_ParserCreate("UTF-8");
        if (!s->parser) {
                free(s);
                return -ENOMEM;
        }
        s->answer = &a;
        XML_SetUserData(s->parser, s);
        XML_SetElementHandler(s->parser, xml_start, xml_end);
        XML_SetCharacterDataHandler(s->parser, xml_text);
        XML_SetStartDoctypeDeclHandler(s->parser, xml_doctype);
        if (XML_Parse(s->parser, xml, (int) len, XML_TRUE) != XML_STATUS_OK)
                r = s->error < 0 ? s->error : -EBADMSG;
        XML_ParserFree(s->parser);
        explicit_bzero(s->text, sizeof s->text);
        free(s);
        if (r < 0) {
                sts_answer_done(&a);
                return r;
        }
        *ret = a;
        return 0;
}

int sts_error_parse(const char *body, size_t len, char **ret_code, char **ret_message) {
        struct sts_answer a = {};
        char *code = NULL, *msg = NULL;
        int r;

        r = sts_answer_parse(body, len, &a);
        if (r == -ENOMEM)
                return r;
        if (r >= 0 && a.error_code && *a.error_code) {
                code = log_escape_dup(a.error_code, strlen(a.error_code), STS_ERROR_CODE_MAX);
                msg = a.error_message ? log_escape_dup(a.error_message, strlen(a.error_message),
                                                       STS_ERROR_MESSAGE_MAX)
                                      : NULL;
                if (!code || (a.error_message && !msg)) {
                        free(code);
                        free(msg);
                        sts_answer_done(&a);
                        return -ENOMEM;
                }
        }
        sts_answer_done(&a);
        *ret_code = code;
        *ret_message = msg;
        return 0;
}

int sts_answer_credentials(const struct sts_answer *a, struct aws_credentials *ret) {
        struct aws_credentials c = {};

        if (!a->access_key_id || !a->secret_access_key || !a->session_token || !a->expiration ||
            !*a->access_key_id || !*a->secret_access_key || !*a->session_token ||
            strlen(a->access_key_id) > 128 || strlen(a->secret_access_key) > 1024 ||
            strpbrk(a->access_key_id, "\r\n ") || strpbrk(a->secret_access_key, "\r\n") ||
            strpbrk(a->session_token, "\r\n"))
                return -EBADMSG;
        if (aws_parse_iso8601(a->expiration, &c.expiration_usec) < 0)
                return -EBADMSG;
        c.access_key_id = strdup(a->access_key_id);
        c.secret_access_key = strdup(a->secret_access_key);
        c.session_token = strdup(a->session_token);
        if (!c.access_key_id || !c.secret_access_key || !c.session_token) {
                aws_credentials_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* ---- the call -------------------------------------------------------- */

struct sts_call {
        struct http_request *req;
        char *action, *host, *region, *body;
        size_t body_len;
        struct aws_credentials signer;
        bool sign;
        sts_callback cb;
        void *userdata;
};

struct sts_call *sts_call_cancel(struct sts_call *c) {
        if (!c)
                return NULL;
        c->req = http_request_cancel(c->req);
        aws_credentials_done(&c->signer);
        if (c->body)
                explicit_bzero(c->body, c->body_len);
        free(c->body);
        free(c->action);
        free(c->host);
        free(c->region);
        free(c);
        return NULL;
}

static int call_prepare(struct http_request *req, void *userdata) {
        struct sts_call *c = userdata;
        struct sigv4_result sig = {};
        int r;

        const struct sigv4_header headers[] = {
                { "Host", c->host },
                { "Content-Type", STS_CONTENT_TYPE },
        };
        r = http_request_add_header(req, "Content-Type", STS_CONTENT_TYPE);
        if (r < 0 || !c->sign)
                return r;
        const struct sigv4_request s = {
                .method = "POST",
                .path = "/",
                .headers = headers,
                .n_headers = ELEMENTSOF(headers),
                .body = c->body,
                .body_len = c->body_len,
                .region = c->region,
                .service = "sts",
                .access_key_id = c->signer.access_key_id,
                .secret_access_key = c->signer.secret_access_key,
                .session_token = c->signer.session_token,
                .now = time(NULL),
                .normalize_path = true,
                .double_encode_path = true,
        };
        r = sigv4_sign(&s, &sig);
        if (r < 0)
                return r;
        r = http_request_add_header(req, "Host", c->host);
        if (r >= 0)
                r = http_request_add_signature(req, sig.amz_date, sig.authorization, sig.security_token);
        sigv4_result_done(&sig);
        return r < 0 ? r : 0;
}

static void call_done(struct http_request *req, const struct http_response *resp, void *userdata) {
        struct sts_call *c = userdata;
        struct sts_answer a = {};
        struct aws_credentials cr = {};
        _cleanup_free_ char *text = NULL;
        sts_callback cb = c->cb;
        void *ud = c->userdata;
        int r;

        c->req = NULL;
        if (resp->error < 0) {
                r = resp->error;
                text = strdup(resp->error_text ? resp->error_text : "no answer");
        } else if (resp->status != 200) {
                /* An error answer of STS: its code and message (escaped by
                 * sts_error_parse(), through http.c). */
                r = -EACCES;
                if (resp->error_code) {
                        if (asprintf(&text, "%s%s%s (HTTP %ld)", resp->error_code,
                                     resp->error_message ? ": " : "", strempty(resp->error_message),
                                     resp->status) < 0)
                                text = NULL;
                } else if (asprintf(&text, "HTTP %ld without an STS error answer", resp->status) < 0)
                        text = NULL;
        } else {
                r = sts_answer_parse(resp->body, resp->body_len, &a);
                if (r >= 0)
                        r = sts_answer_credentials(&a, &cr);
                if (r < 0)
                        text = strdup("the answer holds no complete credentials");
        }
        sts_answer_done(&a);
        c->cb = NULL;
        sts_call_cancel(c);
        if (r < 0)
                cb(r, NULL, resp->error_code, text ? text : "out of memory", ud);
        else
                cb(0, &cr, NULL, NULL, ud);
        aws_credentials_done(&cr);
}

int sts_call_start(struct http_client *http, const struct sts_target *t, const struct sts_params *p,
                   const struct aws_credentials *signer, sts_callback cb, void *userdata,
                   struct sts_call **ret) {
        struct sts_call *c;
        int r;

        if (!t->url || !t->region)
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->cb = cb;
        c->userdata = userdata;
        c->action = strdup(p->action ? p->action : "");
        c->region = strdup(t->region);
        if (!c->action || !c->region) {
                sts_call_cancel(c);
                return -ENOMEM;
        }
        r = url_host_path(t->url, &c->host, NULL);
        if (r >= 0)
                r = sts_query_body(p, &c->body);
        if (r >= 0 && signer) {
                c->sign = true;
                r = aws_credentials_copy(signer, &c->signer);
        }
        if (r < 0) {
                sts_call_cancel(c);
                return r;
        }
        c->body_len = strlen(c->body);
        struct http_request_params hp = {
                .method = "POST",
                .url = t->url,
                .body = c->body,
                .body_len = c->body_len,
                .max_attempts = 3,
                .parse_error = sts_error_parse,
                .log_name = streq(c->action, "AssumeRole") ? "STS.AssumeRole"
                                                           : "STS.AssumeRoleWithWebIdentity",
                .prepare = call_prepare,
                .done = call_done,
                .userdata = c,
        };
        r = http_request_start(http, &hp, &c->req);
        if (r < 0) {
                sts_call_cancel(c);
                return r;
        }
        *ret = c;
        return 0;
}
