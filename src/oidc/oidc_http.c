/* The one way usher talks to an IdP: libcurl with no redirects, https only (http to loopback
 * only when allowed), never to an internal address, connect and total timeouts, a response
 * size cap enforced as bytes arrive, and the Cache-Control max-age read for the caches. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/error.h"
#include "base/ipnet.h"
#include "oidc/oidc.h"

struct sink {
    struct arena *a;
    char *buf;
    size_t len, cap, max;
    bool too_large;
    int64_t max_age_s;
    bool has_max_age, no_store;
    bool allow_loopback;  /* the insecure-loopback development setting */
    bool address_refused; /* the name led to an internal address */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t body_write(char *data, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t n = size * nmemb;
    if (n > s->max - s->len) {
        s->too_large = true;
        return 0; /* aborts the transfer */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *buf = arena_alloc(s->a, cap);
        if (s->len)
            memcpy(buf, s->buf, s->len);
        s->buf = buf;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

/* Reads max-age=N (and no-store/no-cache) from a Cache-Control header line. */
static void cache_control_read(struct sink *s, const char *v, size_t len)
{
    for (size_t i = 0; i < len;) {
        while (i < len && (v[i] == ' ' || v[i] == ',' || v[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        const char *d = v + start;
        size_t dlen = i - start;
        while (dlen && (d[dlen - 1] == ' ' || d[dlen - 1] == '\r' || d[dlen - 1] == '\n'))
            dlen--;
        if (dlen > 8 && strncasecmp(d, "max-age=", 8) == 0) {
            int64_t n = 0;
            size_t j = 8;
            for (; j < dlen && d[j] >= '0' && d[j] <= '9' && n < OIDC_MAX_AGE_MAX_S; j++)
                n = n * 10 + (d[j] - '0');
            s->max_age_s = n;
            s->has_max_age = true;
        } else if ((dlen == 8 && strncasecmp(d, "no-store", 8) == 0) ||
                   (dlen == 8 && strncasecmp(d, "no-cache", 8) == 0)) {
            s->no_store = true;
        }
    }
}

static size_t header_read(char *data, size_t size, size_t nmemb, void *user)
{
    size_t n = size * nmemb;
    static const char name[] = "cache-control:";
    if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0)
        cache_control_read(user, data + sizeof(name) - 1, n - (sizeof(name) - 1));
    return n;
}

static bool content_type_is_json(const char *ct)
{
    if (!ct)
        return false;
    size_t len = strcspn(ct, "; \t");
    if (len == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return len > 5 && strncasecmp(ct + len - 5, "+json", 5) == 0 &&
           strncasecmp(ct, "application/", 12) == 0;
}

/* Opens the socket for an address the name resolved to, unless that address is internal: an
 * issuer's name must not lead usher to its own network (a loopback address is allowed only
 * under the development setting). Checked on the resolved address, so a public name that
 * resolves inward is refused as well. */
static curl_socket_t socket_open(void *user, curlsocktype purpose, struct curl_sockaddr *address)
{
    struct sink *s = user;
    struct ipnet_addr addr;
    (void)purpose;
    if (!ipnet_addr_from_sockaddr(&addr, &address->addr) ||
        (ipnet_addr_is_internal(&addr) && !(s->allow_loopback && ipnet_addr_is_loopback(&addr)))) {
        s->address_refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

/* Sets every option of one exchange on curl; returns the header list to free afterwards. */
static struct curl_slist *curl_prepare(CURL *curl, struct arena *a, const char *url,
                                       const char *form, const char *authorization,
                                       const struct oidc_http_options *opt, struct sink *sink)
{
    struct curl_slist *headers = NULL;
    bool loopback = opt && opt->allow_insecure_loopback;
    headers = curl_slist_append(headers, "Accept: application/json");
    if (authorization) {
        char *line = arena_printf(a, "Authorization: %s", authorization);
        headers = curl_slist_append(headers, line);
    }
    long connect_ms = opt && opt->connect_timeout_ms ? opt->connect_timeout_ms : 3000;
    long total_ms = opt && opt->timeout_ms ? opt->timeout_ms : 5000;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, loopback ? "http,https" : "https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->max);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_read);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, sink);
    sink->allow_loopback = loopback;
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, socket_open);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, sink);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "usher");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (form) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    }
    return headers;
}

static int http_perform(struct oidc_http_response *out, struct arena *a, const char *url,
                        const char *form, const char *authorization,
                        const struct oidc_http_options *opt, struct usher_error *err)
{
    int rc = 0;
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    struct sink sink = {.a = a, .max = opt && opt->max_bytes ? opt->max_bytes : OIDC_DOC_MAX};
    bool loopback = opt && opt->allow_insecure_loopback;
    memset(out, 0, sizeof(*out));
    if (!oidc_url_allowed(url, loopback)) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_url_refused", "url",
                             "URL is not an allowed https URL");
        goto done;
    }
    pthread_once(&curl_once, curl_init);
    curl = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
    if (!curl) {
        rc = usher_error_set(err, USHER_EINTERNAL, "oidc_http_failed", NULL,
                             "cannot start an HTTP client");
        goto done;
    }
    headers = curl_prepare(curl, a, url, form, authorization, opt, &sink);
    CURLcode cc = curl_easy_perform(curl);
    if (sink.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = usher_error_set(err, USHER_EUNAVAIL, "oidc_http_too_large", NULL,
                             "the IdP's answer is larger than %zu bytes", sink.max);
        goto done;
    }
    if (sink.address_refused) {
        rc = usher_error_set(err, USHER_EINVAL, "oidc_address_refused", "url",
                             "the IdP's name leads to an internal address, which is not fetched");
        goto done;
    }
    if (cc != CURLE_OK) {
        rc = usher_error_set(err, USHER_EUNAVAIL, "oidc_http_failed", NULL,
                             "cannot reach the IdP: %s", curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    if (out->status >= 300 && out->status < 400) {
        rc = usher_error_set(err, USHER_EUNAVAIL, "oidc_http_redirect", NULL,
                             "the IdP answered with a redirect (%ld), which is not followed",
                             out->status);
        goto done;
    }
    char *ct = NULL;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    out->is_json = content_type_is_json(ct);
    out->body = sink.buf ? sink.buf : arena_strdup(a, "");
    out->len = sink.len;
    int64_t age = sink.has_max_age ? sink.max_age_s : OIDC_MAX_AGE_DEFAULT_S;
    if (sink.no_store)
        age = OIDC_MAX_AGE_MIN_S;
    out->max_age_s = age < OIDC_MAX_AGE_MIN_S   ? OIDC_MAX_AGE_MIN_S
                     : age > OIDC_MAX_AGE_MAX_S ? OIDC_MAX_AGE_MAX_S
                                                : age;
done:
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

int oidc_http_get(struct oidc_http_response *out, struct arena *a, const char *url,
                  const struct oidc_http_options *opt, struct usher_error *err)
{
    return http_perform(out, a, url, NULL, NULL, opt, err);
}

int oidc_http_post_form(struct oidc_http_response *out, struct arena *a, const char *url,
                        const char *form, const char *authorization,
                        const struct oidc_http_options *opt, struct usher_error *err)
{
    return http_perform(out, a, url, form ? form : "", authorization, opt, err);
}
