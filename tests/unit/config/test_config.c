/* The settings table: defaults, the config file, the environment, flags, their precedence,
 * and validation with messages that name the setting and its source. */
#include "../unit.h"

#include "base/error.h"
#include "base/ipnet.h"
#include "config/config.h"

struct fixture {
    struct config cfg;
    struct usher_error err;
    char *dir;
};

static int setup(void **state)
{
    unit_env_clear();
    struct fixture *f = calloc(1, sizeof(*f));
    config_init(&f->cfg);
    f->dir = unit_tempdir_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_dispose(&f->cfg);
    unit_tempdir_remove(f->dir);
    free(f);
    unit_env_clear();
    return 0;
}

/* config_load over a NULL-terminated list of flags (the command name is added). */
static int load(struct fixture *f, const char *const *flags)
{
    char *argv[32] = {"serve"};
    int argc = 1;
    for (; flags && flags[argc - 1]; argc++)
        argv[argc] = (char *)flags[argc - 1];
    usher_error_clear(&f->err);
    return config_load(&f->cfg, argc, argv, NULL, &f->err);
}

static char *ini(struct fixture *f, const char *text)
{
    return unit_file_write(f->dir, "usher.ini", text);
}

static void test_config_defaults__match_the_documented_table(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->cfg.listen, "127.0.0.1:8080");
    assert_string_equal(f->cfg.data_dir, "./data");
    assert_string_equal(f->cfg.database_url, "");
    assert_string_equal(f->cfg.public_url, "");
    assert_string_equal(f->cfg.smtp_url, "");
    assert_string_equal(f->cfg.smtp_from, "usher@localhost");
    assert_string_equal(f->cfg.log_level, "info");
    assert_string_equal(f->cfg.cookie_secure, "auto");
    assert_int_equal(f->cfg.max_body_bytes, 1048576);
    assert_int_equal(f->cfg.max_connections, 1024);
    assert_int_equal(f->cfg.session_idle_seconds, 7200);
    assert_int_equal(f->cfg.session_absolute_seconds, 86400);
    assert_int_equal(f->cfg.threads, 0);
    assert_int_equal(f->cfg.hash_queue, 64);
}

static void test_config_finish__derives_counts_from_the_cores(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    int cores = config_cores();
    assert_true(cores >= 1);
    assert_int_equal(f->cfg.threads, cores);
    assert_int_equal(f->cfg.hash_workers, cores);
    assert_int_equal(f->cfg.db_pool, cores + 2);
}

static void test_config_finish__keeps_explicit_counts(void **state)
{
    struct fixture *f = *state;
    const char *flags[] = {"--threads", "3", NULL};
    setenv("USHER_DB_POOL", "9", 1);
    setenv("USHER_HASH_WORKERS", "2", 1);
    assert_int_equal(load(f, flags), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    assert_int_equal(f->cfg.threads, 3);
    assert_int_equal(f->cfg.db_pool, 9);
    assert_int_equal(f->cfg.hash_workers, 2);
}

static void test_config_env__sets_strings_and_integers(void **state)
{
    struct fixture *f = *state;
    setenv("USHER_LISTEN", "0.0.0.0:9000", 1);
    setenv("USHER_SMTP_FROM", "noreply@example.com", 1);
    setenv("USHER_MAX_BODY_BYTES", "4096", 1);
    setenv("USHER_ADMIN_EMAIL", "root@example.com", 1);
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->cfg.listen, "0.0.0.0:9000");
    assert_string_equal(f->cfg.smtp_from, "noreply@example.com");
    assert_int_equal(f->cfg.max_body_bytes, 4096);
    assert_string_equal(f->cfg.admin_email, "root@example.com");
}

static void test_config_flags__take_separate_and_joined_values(void **state)
{
    struct fixture *f = *state;
    const char *flags[] = {"--listen",    "127.0.0.1:1",  "--data-dir=/srv/usher",
                           "--threads=7", "--public-url", "https://usher.example.com",
                           NULL};
    assert_int_equal(load(f, flags), 0);
    assert_string_equal(f->cfg.listen, "127.0.0.1:1");
    assert_string_equal(f->cfg.data_dir, "/srv/usher");
    assert_int_equal(f->cfg.threads, 7);
    assert_string_equal(f->cfg.public_url, "https://usher.example.com");
}

static void test_config_flags__report_help(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {"serve", "--listen", "x:1", "--help", NULL};
    bool help = false;
    assert_int_equal(config_load(&f->cfg, 4, argv, &help, &f->err), 0);
    assert_true(help);
    char *argv2[] = {"serve", "-h", NULL};
    help = false;
    assert_int_equal(config_load(&f->cfg, 2, argv2, &help, &f->err), 0);
    assert_true(help);
}

static void test_config_file__sets_keys_with_or_without_the_section(void **state)
{
    struct fixture *f = *state;
    char *path = ini(f, "; comment\nlisten = 127.0.0.1:7000\n[usher]\nthreads = 5\n"
                        "log_level = debug\n");
    setenv("USHER_CONFIG", path, 1);
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->cfg.listen, "127.0.0.1:7000");
    assert_int_equal(f->cfg.threads, 5);
    assert_string_equal(f->cfg.log_level, "debug");
    free(path);
}

static void test_config_file__is_named_by_flag_as_well(void **state)
{
    struct fixture *f = *state;
    char *path = ini(f, "[usher]\nsmtp_from = a@x.io\n");
    char joined[4200];
    snprintf(joined, sizeof(joined), "--config=%s", path);
    const char *flags[] = {joined, NULL};
    assert_int_equal(load(f, flags), 0);
    assert_string_equal(f->cfg.smtp_from, "a@x.io");
    const char *flags2[] = {"--config", path, "--listen", "127.0.0.1:1", NULL};
    assert_int_equal(load(f, flags2), 0);
    assert_string_equal(f->cfg.listen, "127.0.0.1:1");
    free(path);
}

static void test_config_precedence__flag_beats_variable_beats_file_beats_default(void **state)
{
    struct fixture *f = *state;
    char *path = ini(f, "[usher]\nlisten = 127.0.0.2:1\nthreads = 2\nlog_level = warn\n");
    setenv("USHER_CONFIG", path, 1);
    setenv("USHER_LISTEN", "127.0.0.3:1", 1);
    setenv("USHER_THREADS", "3", 1);
    const char *flags[] = {"--listen", "127.0.0.4:1", NULL};
    assert_int_equal(load(f, flags), 0);
    assert_string_equal(f->cfg.listen, "127.0.0.4:1");        /* flag */
    assert_int_equal(f->cfg.threads, 3);                      /* variable over file */
    assert_string_equal(f->cfg.log_level, "warn");            /* file over default */
    assert_string_equal(f->cfg.smtp_from, "usher@localhost"); /* default */
    free(path);
}

static void test_config_validation__refuses_an_unknown_flag(void **state)
{
    struct fixture *f = *state;
    const char *flags[] = {"--bogus", "1", NULL};
    assert_int_equal(load(f, flags), USHER_EINVAL);
    assert_string_equal(f->err.message, "unknown option --bogus");
    const char *positional[] = {"extra", NULL};
    assert_int_equal(load(f, positional), USHER_EINVAL);
    assert_string_equal(f->err.message, "unknown option extra");
    /* A setting without a flag is not a flag. */
    const char *variable_only[] = {"--admin-password", "x", NULL};
    assert_int_equal(load(f, variable_only), USHER_EINVAL);
}

static void test_config_validation__refuses_a_flag_without_value(void **state)
{
    struct fixture *f = *state;
    const char *flags[] = {"--listen", NULL};
    assert_int_equal(load(f, flags), USHER_EINVAL);
    assert_string_equal(f->err.message, "--listen needs a value");
}

static void test_config_validation__refuses_bad_integers_naming_the_source(void **state)
{
    struct fixture *f = *state;
    setenv("USHER_THREADS", "abc", 1);
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_string_equal(f->err.field, "threads");
    assert_string_equal(f->err.message,
                        "threads from USHER_THREADS must be an integer between 0 and 256");
    const char *bad[] = {"", "12abc", "257", "-1", "99999999999999999999", "1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("USHER_THREADS", bad[i], 1);
        assert_int_equal(load(f, NULL), USHER_EINVAL);
    }
    unsetenv("USHER_THREADS");
    const char *flags[] = {"--threads=x", NULL};
    assert_int_equal(load(f, flags), USHER_EINVAL);
    assert_string_equal(f->err.message,
                        "threads from --threads must be an integer between 0 and 256");
    setenv("USHER_MAX_BODY_BYTES", "1023", 1);
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    setenv("USHER_MAX_BODY_BYTES", "1024", 1);
    assert_int_equal(load(f, NULL), 0);
}

static void test_config_validation__refuses_bad_config_files(void **state)
{
    struct fixture *f = *state;
    char *path = ini(f, "[usher]\nnonsense = 1\n");
    setenv("USHER_CONFIG", path, 1);
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_string_equal(f->err.message, "unknown config key nonsense");
    free(path);

    path = ini(f, "[other]\nlisten = x:1\n");
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_string_equal(f->err.message, "unknown config section [other]");
    free(path);

    path = ini(f, "[usher]\nthreads = many\n");
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_string_equal(f->err.message,
                        "threads from config file must be an integer between 0 and 256");
    free(path);

    /* Secrets come from the environment only, never from a file. */
    path = ini(f, "[usher]\nadmin_password = hunter2\n");
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_string_equal(f->err.field, "admin_password");
    free(path);

    path = ini(f, "[usher]\nthis line has no equals sign\n");
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_non_null(strstr(f->err.message, "syntax error on line 2"));
    free(path);

    setenv("USHER_CONFIG", "/nonexistent/usher.ini", 1);
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_string_equal(f->err.message, "cannot read /nonexistent/usher.ini");
}

static void test_config_finish__refuses_inconsistent_values(void **state)
{
    struct fixture *f = *state;
    const struct {
        const char *variable, *value, *field;
    } bad[] = {
        {"USHER_LISTEN", "8080", "listen"},
        {"USHER_LISTEN", "", "listen"},
        {"USHER_DATA_DIR", "", "data_dir"},
        {"USHER_COOKIE_SECURE", "yes", "cookie_secure"},
        {"USHER_PUBLIC_URL", "ftp://x", "public_url"},
        {"USHER_SMTP_URL", "http://mail", "smtp_url"},
        {"USHER_DATABASE_URL", "mysql://db", "database_url"},
        {"USHER_SESSION_IDLE_SECONDS", "90000", "session_idle_seconds"},
        {"USHER_LOG_LEVEL", "verbose", "log_level"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config_dispose(&f->cfg);
        config_init(&f->cfg);
        unit_env_clear();
        setenv(bad[i].variable, bad[i].value, 1);
        assert_int_equal(load(f, NULL), 0);
        assert_int_equal(config_finish(&f->cfg, &f->err), USHER_EINVAL);
        assert_string_equal(f->err.field, bad[i].field);
    }
}

static void test_config_metrics_listen__is_empty_by_default_and_validated(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->cfg.metrics_listen, "");
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);

    const char *bad[] = {"9100",         "127.0.0.1:",      "127.0.0.1:http", "127.0.0.1:65536",
                         "127.0.0.1:-1", "127.0.0.1:123456"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("USHER_METRICS_LISTEN", bad[i], 1);
        assert_int_equal(load(f, NULL), 0);
        assert_int_equal(config_finish(&f->cfg, &f->err), USHER_EINVAL);
        assert_string_equal(f->err.field, "metrics_listen");
    }
    /* The same fixed port as the API cannot work; two port-0 listeners each get their own. */
    setenv("USHER_LISTEN", "127.0.0.1:8080", 1);
    setenv("USHER_METRICS_LISTEN", "127.0.0.1:8080", 1);
    assert_int_equal(load(f, NULL), 0);
    usher_error_clear(&f->err);
    assert_int_equal(config_finish(&f->cfg, &f->err), USHER_EINVAL);
    assert_string_equal(f->err.message, "metrics_listen must differ from listen");
    setenv("USHER_LISTEN", "127.0.0.1:0", 1);
    setenv("USHER_METRICS_LISTEN", "127.0.0.1:0", 1);
    assert_int_equal(load(f, NULL), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);

    /* Flag beats variable; the file takes the key too. */
    const char *flags[] = {"--metrics-listen", "[::1]:9100", NULL};
    assert_int_equal(load(f, flags), 0);
    assert_string_equal(f->cfg.metrics_listen, "[::1]:9100");
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    unsetenv("USHER_METRICS_LISTEN");
    char *path = ini(f, "[usher]\nmetrics_listen = 0.0.0.0:9100\n");
    setenv("USHER_CONFIG", path, 1);
    config_dispose(&f->cfg);
    config_init(&f->cfg);
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->cfg.metrics_listen, "0.0.0.0:9100");
    free(path);
}

static bool proxies_have(const struct config *cfg, const char *text)
{
    struct ipnet_addr a;
    assert_true(ipnet_addr_parse(&a, text, strlen(text)));
    return ipnet_list_contains(cfg->proxies, &a);
}

static void test_config_trusted_proxies__trusts_nobody_by_default_and_parses_the_list(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), 0);
    assert_string_equal(f->cfg.trusted_proxies, "");
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    assert_null(f->cfg.proxies);

    setenv("USHER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,fd00::/8", 1);
    assert_int_equal(load(f, NULL), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    assert_non_null(f->cfg.proxies);
    assert_true(proxies_have(&f->cfg, "10.200.0.1"));
    assert_true(proxies_have(&f->cfg, "::ffff:127.0.0.1"));
    assert_true(proxies_have(&f->cfg, "fd00::10"));
    assert_false(proxies_have(&f->cfg, "127.0.0.2"));

    /* Flag beats variable; finishing again replaces the list. */
    const char *flags[] = {"--trusted-proxies=192.0.2.0/24", NULL};
    assert_int_equal(load(f, flags), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    assert_true(proxies_have(&f->cfg, "192.0.2.77"));
    assert_false(proxies_have(&f->cfg, "10.200.0.1"));

    const char *bad[] = {"10.0.0.0/33", "10.0.0.1/8", "proxy.example", "127.0.0.1,", "1.2.3.4:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("USHER_TRUSTED_PROXIES", bad[i], 1);
        config_dispose(&f->cfg);
        config_init(&f->cfg);
        usher_error_clear(&f->err);
        assert_int_equal(load(f, NULL), 0);
        assert_int_equal(config_finish(&f->cfg, &f->err), USHER_EINVAL);
        assert_string_equal(f->err.field, "trusted_proxies");
        assert_null(f->cfg.proxies);
    }

    unsetenv("USHER_TRUSTED_PROXIES");
    char *path = ini(f, "[usher]\ntrusted_proxies = 10.1.0.0/16\n");
    setenv("USHER_CONFIG", path, 1);
    config_dispose(&f->cfg);
    config_init(&f->cfg);
    assert_int_equal(load(f, NULL), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    assert_true(proxies_have(&f->cfg, "10.1.255.255"));
    assert_false(proxies_have(&f->cfg, "10.2.0.0"));
    free(path);
}

static void test_config_finish__accepts_every_documented_form(void **state)
{
    struct fixture *f = *state;
    setenv("USHER_DATABASE_URL", "sqlite:/tmp/x.db", 1);
    setenv("USHER_PUBLIC_URL", "https://usher.example.com/", 1);
    setenv("USHER_SMTP_URL", "smtps://user@mail.example.com:465", 1);
    setenv("USHER_COOKIE_SECURE", "off", 1);
    setenv("USHER_LISTEN", "[::1]:0", 1);
    assert_int_equal(load(f, NULL), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
    setenv("USHER_DATABASE_URL", "postgres://u@db/usher", 1);
    assert_int_equal(load(f, NULL), 0);
    assert_int_equal(config_finish(&f->cfg, &f->err), 0);
}

static void test_config_help__lists_every_flag_and_variable(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    config_print_help(out);
    fclose(out);
    const char *expected[] = {"--listen",
                              "USHER_LISTEN",
                              "--data-dir",
                              "USHER_DATA_DIR",
                              "--database",
                              "USHER_DATABASE_URL",
                              "--public-url",
                              "USHER_PUBLIC_URL",
                              "--smtp",
                              "USHER_SMTP_URL",
                              "USHER_SMTP_FROM",
                              "USHER_ADMIN_EMAIL",
                              "USHER_ADMIN_PASSWORD",
                              "--config",
                              "USHER_THREADS",
                              "--trusted-proxies",
                              "USHER_TRUSTED_PROXIES",
                              "default \"127.0.0.1:8080\""};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (!strstr(text, expected[i]))
            fail_msg("help lacks %s", expected[i]);
    }
    free(text);
}

static void test_config_oidc_loopback__is_off_unless_flag_variable_or_file_turns_it_on(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load(f, NULL), 0);
    assert_false(f->cfg.oidc_allow_insecure_loopback);
    /* The flag alone turns it on and does not swallow the next argument. */
    const char *const alone[] = {"--oidc-allow-insecure-loopback", "--threads", "3", NULL};
    assert_int_equal(load(f, alone), 0);
    assert_true(f->cfg.oidc_allow_insecure_loopback);
    assert_int_equal(f->cfg.threads, 3);
    const char *const off[] = {"--oidc-allow-insecure-loopback=0", NULL};
    assert_int_equal(load(f, off), 0);
    assert_false(f->cfg.oidc_allow_insecure_loopback);

    setenv("USHER_OIDC_ALLOW_INSECURE_LOOPBACK", "1", 1);
    assert_int_equal(load(f, NULL), 0);
    assert_true(f->cfg.oidc_allow_insecure_loopback);
    setenv("USHER_OIDC_ALLOW_INSECURE_LOOPBACK", "yes please", 1);
    assert_int_equal(load(f, NULL), USHER_EINVAL);
    assert_string_equal(f->err.field, "oidc_allow_insecure_loopback");
    assert_non_null(strstr(f->err.message, "USHER_OIDC_ALLOW_INSECURE_LOOPBACK"));
    unsetenv("USHER_OIDC_ALLOW_INSECURE_LOOPBACK");

    config_dispose(&f->cfg);
    config_init(&f->cfg);
    char *path = ini(f, "oidc_allow_insecure_loopback = true\n");
    const char *const file[] = {"--config", path, NULL};
    assert_int_equal(load(f, file), 0);
    assert_true(f->cfg.oidc_allow_insecure_loopback);
    free(path);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_config_defaults__match_the_documented_table),
        T(test_config_oidc_loopback__is_off_unless_flag_variable_or_file_turns_it_on),
        T(test_config_finish__derives_counts_from_the_cores),
        T(test_config_finish__keeps_explicit_counts),
        T(test_config_env__sets_strings_and_integers),
        T(test_config_flags__take_separate_and_joined_values),
        T(test_config_flags__report_help),
        T(test_config_file__sets_keys_with_or_without_the_section),
        T(test_config_file__is_named_by_flag_as_well),
        T(test_config_precedence__flag_beats_variable_beats_file_beats_default),
        T(test_config_validation__refuses_an_unknown_flag),
        T(test_config_validation__refuses_a_flag_without_value),
        T(test_config_validation__refuses_bad_integers_naming_the_source),
        T(test_config_validation__refuses_bad_config_files),
        T(test_config_finish__refuses_inconsistent_values),
        T(test_config_metrics_listen__is_empty_by_default_and_validated),
        T(test_config_trusted_proxies__trusts_nobody_by_default_and_parses_the_list),
        T(test_config_finish__accepts_every_documented_form),
        T(test_config_help__lists_every_flag_and_variable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
