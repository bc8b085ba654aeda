/* Reading AWS JSON-protocol answers: a bounded JSON parser, and the error
 * code and message of an error answer (DESIGN §5: the code from the
 * x-amzn-ErrorType header or the body's "__type").
 *
 * Pure: no I/O, no logging. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

/* The largest JSON text aws_json_parse() reads (the HTTP body cap). */
#define AWS_JSON_MAX (1024 * 1024)
/* Nesting deeper than this is refused: no AWS answer comes close. */
#define AWS_JSON_MAX_DEPTH 64
/* Longer error codes and messages are cut: they only go into logs. */
#define AWS_ERROR_CODE_MAX 256
#define AWS_ERROR_MESSAGE_MAX 2048

/* Parse an AWS JSON-protocol error: the code from the x-amzn-ErrorType header
 * (may be NULL) or the body's "__type" (or "code"), with any "prefix#" and
 * ":suffix" stripped; the message from "message" or "Message". Both escaped
 * (log_escape_dup(): control characters as \xNN), fit for any message.
 * Either result may be NULL when absent. Returns 0 or -ENOMEM. */
int aws_error_parse(const char *error_type_header, const json_object *body, char **ret_code,
                    char **ret_message);
/* Strip "prefix#" and ":suffix" from an error code, in place. */
void aws_error_code_normalize(char *code);
/* Parse JSON of at most AWS_JSON_MAX bytes with a depth limit; trailing
 * whitespace is allowed, anything else after the value is not. NULL on error. */
json_object *aws_json_parse(const char *text, size_t len);
/* The same with a tokener made by json_tokener_new_ex(AWS_JSON_MAX_DEPTH)
 * and kept for reuse: making one per answer was a tenth of the parse. */
json_object *aws_json_parse_with(json_tokener *tok, const char *text, size_t len);
