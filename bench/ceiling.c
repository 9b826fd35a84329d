/* The HTTP ceiling: the least a libmicrohttpd server can do per request. It runs the daemon the
 * way usher does (epoll, a thread pool, keep-alive), reads the whole POST body and answers a
 * constant JSON object. Nothing is parsed, logged, counted or looked up, so its CPU per request
 * is what any server on this library pays before doing any work of its own.
 *
 * With --usher-headers it also sends the headers usher puts on every answer (a request id,
 * nosniff, no-referrer, no-store and a content security policy), to show what that part of the
 * HTTP contract costs by itself.
 *
 * Usage: ceiling PORT [THREADS] [--usher-headers]   (listens on 127.0.0.1; SIGTERM or SIGINT
 * stops it) */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char answer[] = "{\"allowed\":true}";

static bool with_usher_headers;

struct body {
    size_t len;
};

static void usher_headers(struct MHD_Response *r)
{
    static _Thread_local unsigned long long counter;
    char id[24];
    snprintf(id, sizeof(id), "%016llx", ++counter * 0x9E3779B97F4A7C15ULL);
    MHD_add_response_header(r, "X-Request-Id", id);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    static struct body started;
    if (*con_cls == NULL) {
        *con_cls = &started;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof(answer) - 1, (void *)answer, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (with_usher_headers)
        usher_headers(r);
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: ceiling PORT [THREADS] [--usher-headers]\n");
        return 2;
    }
    long port = strtol(argv[1], NULL, 10);
    long threads = argc > 2 ? strtol(argv[2], NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    with_usher_headers = argc > 3 && strcmp(argv[3], "--usher-headers") == 0;
    if (port <= 0 || port > 65535 || threads <= 0 || threads > 256) {
        fprintf(stderr, "ceiling: bad port or thread count\n");
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC, 0, NULL, NULL, on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_CONNECTION_TIMEOUT,
        60u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    fprintf(stderr, "ceiling: listening on 127.0.0.1:%ld with %ld threads\n", port, threads);
    int sig = 0;
    sigwait(&signals, &sig);
    MHD_stop_daemon(d);
    return 0;
}
