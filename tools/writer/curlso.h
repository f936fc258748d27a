/* curlso.h - libcurl, opened when the OTLP export starts (otlp.c), not at every start.
 *
 * Linking libcurl made every flowtrace-writer load it and the 30 libraries it needs
 * (TLS, Kerberos, LDAP, ...) before reading a byte: 13.6 million instructions, a third of
 * the writer's work on a short run. A writer that exports nothing now never loads it.
 * Include this instead of <curl/curl.h>: the libcurl functions otlp.c calls are names
 * for pointers that ft_curl_open() fills from libcurl.so.4 (curl's types and constants
 * come from its header as before; its compile-time type checks of curl_easy_setopt's
 * arguments are off, since that macro cannot wrap a pointer).
 */
#ifndef FT_WRITER_CURLSO_H
#define FT_WRITER_CURLSO_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

struct ft_curl {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *e);
    CURLcode (*easy_setopt)(CURL *e, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *m);
    CURLMcode (*multi_setopt)(CURLM *m, CURLMoption option, ...);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_assign)(CURLM *m, curl_socket_t fd, void *p);
    CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t fd, int mask, int *running);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
};

extern struct ft_curl ft_curl;

/* Loads libcurl.so.4 and fills ft_curl (once; later calls return the first result).
 * Returns 0, or -1 with why (cap bytes) saying what is missing. */
int ft_curl_open(char *why, size_t cap);

/* curl.h makes these three function-like macros (to check their argument count). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init         ft_curl.global_init
#define curl_global_cleanup      ft_curl.global_cleanup
#define curl_easy_init           ft_curl.easy_init
#define curl_easy_cleanup        ft_curl.easy_cleanup
#define curl_easy_setopt         ft_curl.easy_setopt
#define curl_easy_getinfo        ft_curl.easy_getinfo
#define curl_easy_strerror       ft_curl.easy_strerror
#define curl_multi_init          ft_curl.multi_init
#define curl_multi_cleanup       ft_curl.multi_cleanup
#define curl_multi_setopt        ft_curl.multi_setopt
#define curl_multi_add_handle    ft_curl.multi_add_handle
#define curl_multi_remove_handle ft_curl.multi_remove_handle
#define curl_multi_assign        ft_curl.multi_assign
#define curl_multi_socket_action ft_curl.multi_socket_action
#define curl_multi_info_read     ft_curl.multi_info_read
#define curl_slist_append        ft_curl.slist_append
#define curl_slist_free_all      ft_curl.slist_free_all

#endif
