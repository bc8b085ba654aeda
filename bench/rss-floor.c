/* The resident-memory floor of kinesisd's link set: a program that links the
 * same libraries and, with arguments, does what kinesisd does to libcurl
 * before any stream is touched. See RESULTS.md ("Peak RSS").
 *
 *   rss-floor          load the libraries only
 *   rss-floor 1        ... and curl_global_init(CURL_GLOBAL_DEFAULT)
 *   rss-floor 1 2      ... and a multi handle with one easy handle */
#include <curl/curl.h>

int main(int argc, char *argv[]) {
        (void) argv;
        if (argc > 1)
                curl_global_init(CURL_GLOBAL_DEFAULT);
        if (argc > 2) {
                CURLM *m = curl_multi_init();
                CURL *e = curl_easy_init();
                curl_multi_add_handle(m, e);
        }
        return 0;
}
