/* AWS JSON-protocol answers: bounded JSON parsing, error code and message
 * (see aws-error.h).
 *
 * Must never: read past the length given, recurse deeper than
 * AWS_JSON_MAX_DEPTH, keep more of a foreign string than its cap, or hand
 * one on unescaped. */
#include "aws/aws-error.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

json_object *aws_json_parse_with(json_tokener *tok, const char *text, size_t len) {
        json_object *o;

        if (!tok || !text || len == 0 || len > AWS_JSON_MAX || len > INT32_MAX)
                return NULL;
        json_tokener_reset(tok);
        o = json_tokener_parse_ex(tok, text, (int) len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) < len) {
                /* Allow trailing whitespace only. */
                size_t end = json_tokener_get_parse_end(tok);
                bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
                for (size_t i = end; ok && i < len; i++)
                        if (!strchr(" \t\r\n", text[i]))
                                ok = false;
                if (!ok) {
                        json_object_put(o);
                        o = NULL;
                }
        }
        json_tokener_reset(tok);
        return o;
}

json_object *aws_json_parse(const char *text, size_t len) {
        json_tokener *tok;
        json_object *o;

        if (!text || len == 0 || len > AWS_JSON_MAX || len > INT32_MAX)
                return NULL;
        tok = json_tokener_new_ex(AWS_JSON_MAX_DEPTH);
        if (!tok)
                return NULL;
        o = aws_json_parse_with(tok, text, len);
        json_tokener_free(tok);
        return o;
}

void aws_error_code_normalize(char *code) {
        char *p;

        if (!code)
                return;
        p = strrchr(code, '#');
        if (p)
                memmove(code, p + 1, strlen(p + 1) + 1);
        p = strchr(code, ':');
        if (p)
                *p = 0;
        /* Trim whitespace the header may carry. */
        size_t n = strlen(code);
        while (n > 0 && strchr(" \t\r\n", code[n - 1]))
                code[--n] = 0;
}

static const char *json_get_string(const json_object *o, const char *key, size_t *ret_len) {
        json_object *v;

        if (!o || !json_object_is_type(o, json_type_object))
                return NULL;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        /* The whole string: "\u0000" inside it is escaped, not an end. */
        *ret_len = (size_t) json_object_get_string_len(v);
        return json_object_get_string(v);
}

int aws_error_parse(const char *error_type_header, const json_object *body, char **ret_code,
                    char **ret_message) {
        _cleanup_free_ char *code = NULL, *message = NULL, *raw = NULL;
        const char *c = error_type_header && *error_type_header ? error_type_header : NULL;
        const char *m;
        size_t c_len = c ? strlen(c) : 0, m_len = 0;

        if (!c)
                c = json_get_string(body, "__type", &c_len);
        if (!c)
                c = json_get_string(body, "code", &c_len);
        m = json_get_string(body, "message", &m_len);
        if (!m)
                m = json_get_string(body, "Message", &m_len);
        /* Both go into logs, the status line and streams.json: escaped here,
         * once, and only the escaped text is kept. */
        if (c) {
                raw = strndup(c, c_len < AWS_ERROR_CODE_MAX ? c_len : AWS_ERROR_CODE_MAX);
                if (!raw)
                        return -ENOMEM;
                aws_error_code_normalize(raw);
                if (*raw) {
                        code = log_escape_dup(raw, strlen(raw), AWS_ERROR_CODE_MAX);
                        if (!code)
                                return -ENOMEM;
                }
        }
        if (m) {
                message = log_escape_dup(m, m_len, AWS_ERROR_MESSAGE_MAX);
                if (!message)
                        return -ENOMEM;
        }
        *ret_code = TAKE_PTR(code);
        *ret_message = TAKE_PTR(message);
        return 0;
}
