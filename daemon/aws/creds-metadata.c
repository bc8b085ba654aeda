/* Container credentials and EC2 instance metadata (IMDSv2) for the
 * credential chain (see creds.h, creds.c), fetched through http.c.
 *
 * Must never log a key, a token or a document that holds one. */
#include <stdio.h>
#include <strings.h>

#include "aws/creds-internal.h"
#include "aws/url.h"
#include "log.h"


static void http_fetch_done(struct http_request *req, const struct http_response *resp, void *userdata);

static int container_prepare(struct http_request *req, void *userdata) {
        const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *tok = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        /* The file wins and is read again for every fetch: it is rotated. */
        if (file && *file) {
                r = aws_file_read(file, 16384, &text, &len, NULL);
                if (r < 0) {
                        log_error_errno(r, "Cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %m", file);
                        return r;
                }
                while (len > 0 && strchr("\r\n \t", text[len - 1]))
                        text[--len] = 0;
                tok = text;
        }
        if (tok && *tok) {
                r = http_request_add_header(req, "Authorization", tok);
                if (text)
                        explicit_bzero(text, len);
                if (r < 0)
                        return r == -EINVAL ? -EBADMSG : r;
        }
        return 0;
}

static bool container_url_allowed(const char *url) {
        _cleanup_free_ char *host = NULL;

        int r = url_check(url, false);

        if (r == 0)
                return true;
        if (r == -EACCES || strncasecmp(url, "http://", 7) != 0 || url_host_path(url, &host, NULL) < 0)
                return false;
        /* The ECS and EKS Pod Identity agents; never the instance metadata host. */
        return streq(host, "169.254.170.2") || streq(host, "169.254.170.23") ||
               strcasecmp(host, "[fd00:ec2::23]") == 0;
}

int creds_container_start(struct creds_provider *p) {
        _cleanup_free_ char *url = NULL;
        bool relative;
        int r;

        r = aws_container_credentials_url(&url);
        if (r < 0)
                return r;
        relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") &&
                   *getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        if (!relative && !container_url_allowed(url)) {
                log_error("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https:// or http:// to a loopback "
                          "address, without user information, refusing it.");
                return -EPERM;
        }
        p->step = STEP_CONTAINER;
        struct http_request_params params = {
                .method = "GET",
                .url = url,
                .max_attempts = 3,
                .timeout_usec = 5 * USEC_PER_SEC,
                .connect_timeout_usec = 2 * USEC_PER_SEC,
                .allow_link_local = relative,
                .no_proxy = true,
                .log_name = "container-credentials",
                .prepare = container_prepare,
                .done = http_fetch_done,
                .userdata = p,
        };
        return http_request_start(p->http, &params, &p->req);
}

static int imds_prepare(struct http_request *req, void *userdata) {
        struct creds_provider *p = userdata;

        if (p->step == STEP_IMDS_TOKEN)
                return http_request_add_header(req, "X-aws-ec2-metadata-token-ttl-seconds",
                                               IMDS_TOKEN_TTL);
        return http_request_add_header(req, "X-aws-ec2-metadata-token", p->imds_token);
}

static int imds_request(struct creds_provider *p, const char *method, const char *path) {
        _cleanup_free_ char *url = NULL;

        if (asprintf(&url, "%s%s", p->imds_base, path) < 0)
                return -ENOMEM;
        struct http_request_params params = {
                .method = method,
                .url = url,
                .max_attempts = 2,
                .timeout_usec = 2 * USEC_PER_SEC,
                .connect_timeout_usec = USEC_PER_SEC,
                .allow_link_local = true,
                .no_proxy = true,
                /* Off EC2 the probe times out as a matter of course; once a
                 * role was found there, a timeout is news. */
                .quiet = !p->imds_role,
                .log_name = "instance-metadata",
                .prepare = imds_prepare,
                .done = http_fetch_done,
                .userdata = p,
        };
        return http_request_start(p->http, &params, &p->req);
}

bool creds_imds_disabled(void) {
        const char *e = getenv("AWS_EC2_METADATA_DISABLED");
        return e && strcasecmp(e, "true") == 0;
}

int creds_imds_start(struct creds_provider *p) {
        const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
        size_t n;
        int r;

        free(p->imds_base);
        if (ep && *ep)
                p->imds_base = strdup(ep);
        else if (mode && strcasecmp(mode, "IPv6") == 0)
                p->imds_base = strdup("http://[fd00:ec2::254]");
        else
                p->imds_base = strdup("http://169.254.169.254");
        if (!p->imds_base)
                return -ENOMEM;
        n = strlen(p->imds_base);
        while (n > 0 && p->imds_base[n - 1] == '/')
                p->imds_base[--n] = 0;
        /* Said by the caller as a refusal of the endpoint, not of a request. */
        r = url_check(p->imds_base, true);
        if (r < 0)
                return r;
        p->step = STEP_IMDS_TOKEN;
        return imds_request(p, "PUT", "/latest/api/token");
}

static bool valid_token_text(const char *s, size_t n, size_t max) {
        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

static void http_fetch_done(struct http_request *req, const struct http_response *resp,
                            void *userdata) {
        struct creds_provider *p = userdata;
        struct aws_credentials c = {};
        const char *what = p->step == STEP_CONTAINER ? "container credentials endpoint"
                                                     : "instance metadata service";
        int r;

        p->req = NULL;
        if (resp->error < 0 || resp->status != 200) {
                if (p->step == STEP_CONTAINER) {
                        if (resp->error < 0)
                                creds_fail(p, resp->error, "The %s did not answer: %s", what,
                                           resp->error_text ? resp->error_text : strerror(-resp->error));
                        else
                                creds_fail(p, -EACCES, "The %s answered HTTP %ld", what, resp->status);
                        return;
                }
                /* No instance metadata (not on EC2, or IMDSv2 refused): the chain ends. */
                log_debug("The %s: %s (HTTP %ld).", what,
                          resp->error < 0 ? strna(resp->error_text) : "no answer", resp->status);
                if (resp->error < 0)
                        creds_tried(p, "IMDS (%s)", strna(resp->error_text));
                else
                        creds_tried(p, "IMDS (HTTP %ld)", resp->status);
                creds_fetch_done(p, -ENOKEY, NULL);
                return;
        }

        switch (p->step) {
        case STEP_CONTAINER:
        case STEP_IMDS_CREDS: {
                json_object *code;
                if (p->step == STEP_IMDS_CREDS && resp->json &&
                    json_object_object_get_ex(resp->json, "Code", &code) &&
                    (!json_object_is_type(code, json_type_string) ||
                     !streq(json_object_get_string(code), "Success"))) {
                        creds_fail(p, -EACCES, "The %s did not return credentials for role %s", what,
                                   strna(p->imds_role));
                        return;
                }
                r = aws_credentials_from_json(resp->json, "Token", &c);
                if (r < 0) {
                        creds_fail(p, r, "The %s returned incomplete or malformed credentials", what);
                        return;
                }
                creds_fetch_done(p, 0, &c);
                return;
        }
        case STEP_IMDS_TOKEN:
                if (!valid_token_text(resp->body, resp->body_len, 4096)) {
                        creds_fail(p, -EBADMSG, "The %s answered a malformed IMDSv2 token", what);
                        return;
                }
                free(p->imds_token);
                p->imds_token = strndup(resp->body, resp->body_len);
                if (!p->imds_token) {
                        creds_fetch_done(p, -ENOMEM, NULL);
                        return;
                }
                p->step = STEP_IMDS_ROLE;
                r = imds_request(p, "GET", "/latest/meta-data/iam/security-credentials/");
                break;
        case STEP_IMDS_ROLE: {
                size_t n = strcspn(resp->body, "\r\n");
                /* Role names: letters, digits and +=,.@_- only, at most 64 (IAM's rule). */
                if (n == 0 || n > 64 || strspn(resp->body, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                         "0123456789+=,.@_-") < n) {
                        creds_fail(p, -ENOKEY, "The %s names no usable instance profile role", what);
                        return;
                }
                free(p->imds_role);
                p->imds_role = strndup(resp->body, n);
                if (!p->imds_role) {
                        creds_fetch_done(p, -ENOMEM, NULL);
                        return;
                }
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "/latest/meta-data/iam/security-credentials/%s", p->imds_role) < 0) {
                        creds_fetch_done(p, -ENOMEM, NULL);
                        return;
                }
                p->step = STEP_IMDS_CREDS;
                r = imds_request(p, "GET", path);
                break;
        }
        default:
                r = -EINVAL;
        }
        if (r < 0)
                creds_fetch_done(p, r, NULL);
}
