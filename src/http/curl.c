/* libcurl loaded on first use (see curl.h): dlopen() once, under pthread_once, and every
 * entry point resolved with dlsym(). The table is filled completely or the process ends:
 * a half-loaded libcurl would fail later in ways much harder to read. */
#include <stddef.h>
#include <pthread.h>

#include "core/dl.h"
#include "http/curl.h"

static al_curl_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

static const al_dl_sym syms[] = {
#define S(f, n) {n, offsetof(al_curl_api, f)}
    S(global_init, "curl_global_init"),
    S(easy_init, "curl_easy_init"),
    S(easy_setopt, "curl_easy_setopt"),
    S(easy_getinfo, "curl_easy_getinfo"),
    S(easy_perform, "curl_easy_perform"),
    S(easy_reset, "curl_easy_reset"),
    S(easy_cleanup, "curl_easy_cleanup"),
    S(easy_strerror, "curl_easy_strerror"),
    S(multi_init, "curl_multi_init"),
    S(multi_setopt, "curl_multi_setopt"),
    S(multi_add_handle, "curl_multi_add_handle"),
    S(multi_remove_handle, "curl_multi_remove_handle"),
    S(multi_socket_action, "curl_multi_socket_action"),
    S(multi_assign, "curl_multi_assign"),
    S(multi_info_read, "curl_multi_info_read"),
    S(multi_cleanup, "curl_multi_cleanup"),
    S(multi_strerror, "curl_multi_strerror"),
    S(slist_append, "curl_slist_append"),
    S(slist_free_all, "curl_slist_free_all"),
    S(url, "curl_url"),
    S(url_set, "curl_url_set"),
    S(url_get, "curl_url_get"),
    S(url_cleanup, "curl_url_cleanup"),
    S(free, "curl_free"),
    S(getdate, "curl_getdate"),
#undef S
};

static void load(void) {
  al_dl_load("libcurl.so.4", "libcurl4", syms, sizeof syms / sizeof syms[0], &api);
  loaded = 1;
}

const al_curl_api *al_curl(void) {
  pthread_once(&once, load);
  return &api;
}

int al_curl_loaded(void) { return loaded; }
