/* curlso.c - libcurl loaded on first use (curlso.h). */
#include "curlso.h"

#include <dlfcn.h>
#include <stdio.h>

struct ft_curl ft_curl;

/* Each pointer of ft_curl, in order, and the symbol that fills it. */
static const char *const names[] = {
    "curl_global_init",   "curl_global_cleanup",      "curl_easy_init",
    "curl_easy_cleanup",  "curl_easy_setopt",         "curl_easy_getinfo",
    "curl_easy_strerror", "curl_multi_init",          "curl_multi_cleanup",
    "curl_multi_setopt",  "curl_multi_add_handle",    "curl_multi_remove_handle",
    "curl_multi_assign",  "curl_multi_socket_action", "curl_multi_info_read",
    "curl_slist_append",  "curl_slist_free_all",
};

_Static_assert(sizeof(names) / sizeof(names[0]) == sizeof(struct ft_curl) / sizeof(void (*)(void)),
               "one name for each pointer of struct ft_curl");

/* Opens libcurl and fills every pointer. Returns 0, or -1 with err filled. */
static int
load(char *err, size_t cap)
{
    void (**slot)(void) = (void (**)(void))(void *)&ft_curl;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

    if (h == NULL) {
        snprintf(err, cap, "libcurl cannot be loaded: %s", dlerror());
        return -1;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        /* POSIX: a function's address comes out of dlsym as a void *. */
        void *f = dlsym(h, names[i]);
        if (f == NULL) {
            snprintf(err, cap, "libcurl lacks %s", names[i]);
            return -1;
        }
        *(void **)(void *)&slot[i] = f;
    }
    return 0;
}

int
ft_curl_open(char *why, size_t cap)
{
    static int state; /* 0: not tried, 1: loaded, -1: failed */
    static char err[256];

    if (state == 0) {
        state = load(err, sizeof(err)) == 0 ? 1 : -1;
    }
    if (state < 0) {
        snprintf(why, cap, "%s", err);
        return -1;
    }
    return 0;
}
