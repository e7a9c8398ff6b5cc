// libcurl's easy interface for Swift: curl_easy_setopt/getinfo are variadic, which Swift cannot
// call, so each argument type gets a typed wrapper.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

typedef size_t (*fs_curl_data_callback)(char *data, size_t size, size_t count, void *context);
typedef int (*fs_curl_progress_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode fs_curl_set_long(CURL *h, CURLoption option, long value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode fs_curl_set_pointer(CURL *h, CURLoption option, void *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode fs_curl_set_string(CURL *h, CURLoption option, const char *value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode fs_curl_set_size(CURL *h, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(h, option, value);
}
static inline CURLcode fs_curl_set_data_callback(CURL *h, CURLoption option, fs_curl_data_callback f) {
    return curl_easy_setopt(h, option, f);
}
static inline CURLcode fs_curl_set_progress_callback(CURL *h, fs_curl_progress_callback f) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f);
}
static inline CURLcode fs_curl_response_code(CURL *h, long *code) {
    return curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
}
