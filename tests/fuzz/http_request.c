/* Fuzzes whole HTTP requests on the wire: the input is sent over a TCP connection to the real
 * server (libmicrohttpd, usher's request assembly and caps, the router, the authenticator with
 * Bearer tokens and cookies, every handler and its JSON validation, the console's files)
 * running on a seeded store. Placeholders in the input are replaced before sending, so the
 * corpus stays readable and keeps working when tokens are derived differently: @ADMIN@,
 * @OWNER@ and @AGENT@ (session tokens), @ADMIN_CSRF@, @OWNER_CSRF@, @AGENT_CSRF@, @INVITE@ (an
 * invitation's link token). Properties: every answer is well-formed HTTP, never a 500, and
 * never carries a session token it was not given. FUZZ_SHOW=1 prints each request line with
 * its status line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "api/auth.h"
#include "fuzz.h"
#include "http/http.h"
#include "http/static.h"

#define ANSWER_MAX         (4 * 1024 * 1024)
#define ANSWER_WAIT_MS     3000 /* silence after which a complete request's answer is over */
#define INCOMPLETE_WAIT_MS 30   /* the same for a request the server still waits on */
#define RESET_EVERY        2000 /* inputs between two fresh worlds, so state cannot drift far */

static struct http_server *server;
static int port;
static unsigned long inputs;

static void server_stop(void)
{
    http_server_stop(server, 0);
    server = NULL;
}

static void server_start(struct fuzz_world *w)
{
    struct http_server_options opts = {
        .listen = "127.0.0.1:0",
        .threads = 2,
        .max_connections = 64,
        .connection_timeout_seconds = 5,
        .max_body_bytes = 65536,
        .app = &w->app,
        .tables = api_route_tables,
        .authenticate = api_auth_authenticate,
        .fallback = http_static_serve,
    };
    struct usher_error err = {0};
    if (http_server_start(&server, &opts, &err) != 0) {
        fprintf(stderr, "fuzz: cannot start the server: %s\n", err.message);
        abort();
    }
    port = http_server_port(server);
}

/* Appends src[0..len) to a growing buffer. */
static void append(char **buf, size_t *len, size_t *cap, const char *src, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    memcpy(*buf + *len, src, n);
    *len += n;
    (*buf)[*len] = '\0';
}

static char *substitute(const struct fuzz_world *w, const uint8_t *data, size_t size,
                        size_t *out_len)
{
    const struct {
        const char *name;
        const char *value;
    } subs[] = {
        {"@ADMIN@", w->admin_token},     {"@OWNER@", w->owner_token},
        {"@AGENT@", w->agent_token},     {"@ADMIN_CSRF@", w->admin_csrf},
        {"@OWNER_CSRF@", w->owner_csrf}, {"@AGENT_CSRF@", w->agent_csrf},
        {"@INVITE@", w->invite_token},
    };
    char *out = NULL;
    size_t len = 0, cap = 0;
    append(&out, &len, &cap, "", 0);
    for (size_t i = 0; i < size;) {
        bool replaced = false;
        if (data[i] == '@') {
            for (size_t k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
                size_t n = strlen(subs[k].name);
                if (i + n <= size && memcmp(data + i, subs[k].name, n) == 0) {
                    append(&out, &len, &cap, subs[k].value, strlen(subs[k].value));
                    i += n;
                    replaced = true;
                    break;
                }
            }
        }
        if (!replaced) {
            append(&out, &len, &cap, (const char *)data + i, 1);
            i++;
        }
    }
    *out_len = len;
    return out;
}

/* The value of header name (case-insensitive) among the header lines of head, or NULL. */
static const char *header_find(const char *head, size_t len, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *line = head; line < head + len;) {
        const char *eol = memmem(line, (size_t)(head + len - line), "\r\n", 2);
        if (!eol)
            break;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':')
            return line + nlen + 1;
        line = eol + 2;
    }
    return NULL;
}

/* Whether the first request of buf is complete as HTTP frames it (headers, then the body its
 * Content-Length or chunked encoding announces). An incomplete one is answered, if at all, at
 * once, and otherwise waits for bytes that never come; a complete one is answered in full. */
static bool first_request_complete(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return false;
    size_t head_len = (size_t)(end - buf) + 4;
    const char *te = header_find(buf, head_len, "Transfer-Encoding");
    if (te && strstr(te, "chunked") && strstr(te, "chunked") < end)
        return memmem(end + 4, len - head_len, "0\r\n\r\n", 5) != NULL;
    const char *cl = header_find(buf, head_len, "Content-Length");
    if (cl) {
        char *num_end = NULL;
        unsigned long long n = strtoull(cl, &num_end, 10);
        return n <= len - head_len;
    }
    return true;
}

/* The request with "Connection: close" as its first header, so the server closes the
 * connection once it has answered (a half-closed keep-alive connection would otherwise wait
 * for the idle timeout). */
static char *close_insert(const char *req, size_t len, size_t *out_len)
{
    const char *eol = memmem(req, len, "\r\n", 2);
    char *out = NULL;
    size_t got = 0, cap = 0;
    append(&out, &got, &cap, "", 0);
    if (!eol) {
        append(&out, &got, &cap, req, len);
    } else {
        size_t first = (size_t)(eol - req) + 2;
        append(&out, &got, &cap, req, first);
        append(&out, &got, &cap, "Connection: close\r\n", 19);
        append(&out, &got, &cap, req + first, len - first);
    }
    *out_len = got;
    return out;
}

/* Sends req and reads the answer until the server closes the connection, or until wait_ms of
 * silence; then resets the connection so the server lets go of it at once. */
static char *exchange(const char *req, size_t len, int wait_ms, size_t *out_len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may refuse and close before reading everything */
        sent += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    char *out = NULL;
    size_t got = 0, cap = 0;
    append(&out, &got, &cap, "", 0);
    char buf[16384];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, wait_ms) == 0)
            break;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got + (size_t)n <= ANSWER_MAX)
            append(&out, &got, &cap, buf, (size_t)n);
    }
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
    *out_len = got;
    return out;
}

/* True when needle (non-empty) occurs in hay[0..len). */
static bool holds(const char *hay, size_t len, const char *needle)
{
    return *needle && memmem(hay, len, needle, strlen(needle)) != NULL;
}

static void answer_check(const struct fuzz_world *w, const char *req, size_t req_len,
                         const char *ans, size_t len)
{
    /* An answer starts with a status line; an empty one means the server closed the connection
     * on purpose (a request it could not parse). Later answers (pipelined requests) start on a
     * new line: bodies are JSON, whose strings cannot hold a raw line break. */
    if (len > 0)
        FUZZ_CHECK(len >= 12 && strncmp(ans, "HTTP/1.", 7) == 0);
    for (const char *p = ans; p && p < ans + len;) {
        bool at_start = p == ans || (p[-1] == '\n');
        if (at_start && (size_t)(ans + len - p) >= 12 && strncmp(p, "HTTP/1.", 7) == 0) {
            int code = (int)strtol(p + 9, NULL, 10);
            FUZZ_CHECK(code >= 100 && code <= 599);
            FUZZ_CHECK(code != 500);
        }
        p = memchr(p, '\n', (size_t)(ans + len - p));
        if (p)
            p++;
    }
    /* A session token travels only toward the one who presented it. (An invitation's link is
     * shown to those who manage it, so its token is not checked here.) */
    const char *secret[] = {w->admin_token, w->owner_token, w->agent_token};
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        FUZZ_CHECK(!holds(ans, len, secret[i]) || holds(req, req_len, secret[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_world *w = fuzz_world_get();
    if (server && ++inputs % RESET_EVERY == 0) {
        server_stop();
        w = fuzz_world_reset();
    }
    static bool registered;
    if (!registered) {
        atexit(server_stop);
        registered = true;
    }
    if (!server)
        server_start(w);
    size_t sub_len = 0;
    char *sub = substitute(w, data, size, &sub_len);
    size_t len = 0;
    char *req = close_insert(sub, sub_len, &len);
    free(sub);
    int wait_ms = first_request_complete(req, len) ? ANSWER_WAIT_MS : INCOMPLETE_WAIT_MS;
    size_t ans_len = 0;
    char *ans = exchange(req, len, wait_ms, &ans_len);
    answer_check(w, req, len, ans, ans_len);
    if (getenv("FUZZ_SHOW"))
        fprintf(stderr, "%.*s -> %.*s\n", (int)strcspn(req, "\r\n"), req, (int)strcspn(ans, "\r\n"),
                ans);
    free(ans);
    free(req);
    return 0;
}
