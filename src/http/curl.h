/* libcurl, loaded on first use.
 *
 * libcurl and what it links (GnuTLS through OpenLDAP and librtmp, Kerberos, libssh2, p11-kit:
 * about thirty shared libraries) cost every airlock command ~17 ms before main() on this
 * machine, two thirds of the program's start-up, although most runs never touch it: plain
 * http:// targets and upstreams go through libevent's client. So libairlock does not link
 * libcurl; the first call of any curl_* function below dlopen()s libcurl.so.4 once and
 * resolves the entry points Airlock uses (systemd loads its optional libraries the same
 * way). Include this header instead of <curl/curl.h>; the calls read as usual. A missing
 * libcurl is an installation error: it is reported and the process exits with 70. */
#ifndef AIRLOCK_HTTP_CURL_H
#define AIRLOCK_HTTP_CURL_H

#define CURL_DISABLE_TYPECHECK /* the type-checking macros would call the real symbols */
#include <curl/curl.h>

typedef struct al_curl_api {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  CURLcode (*easy_perform)(CURL *);
  void (*easy_reset)(CURL *);
  void (*easy_cleanup)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
  CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_cleanup)(CURLM *);
  const char *(*multi_strerror)(CURLMcode);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  CURLU *(*url)(void);
  CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
  CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
  void (*url_cleanup)(CURLU *);
  void (*free)(void *);
  time_t (*getdate)(const char *, const time_t *);
} al_curl_api;

/* The entry points (libcurl loaded on the first call). */
const al_curl_api *al_curl(void);
/* 1 once libcurl has been loaded (tests). */
int al_curl_loaded(void);

/* curl.h's own three-argument guards for these */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt

#define curl_global_init (al_curl()->global_init)
#define curl_easy_init (al_curl()->easy_init)
#define curl_easy_setopt (al_curl()->easy_setopt)
#define curl_easy_getinfo (al_curl()->easy_getinfo)
#define curl_easy_perform (al_curl()->easy_perform)
#define curl_easy_reset (al_curl()->easy_reset)
#define curl_easy_cleanup (al_curl()->easy_cleanup)
#define curl_easy_strerror (al_curl()->easy_strerror)
#define curl_multi_init (al_curl()->multi_init)
#define curl_multi_setopt (al_curl()->multi_setopt)
#define curl_multi_add_handle (al_curl()->multi_add_handle)
#define curl_multi_remove_handle (al_curl()->multi_remove_handle)
#define curl_multi_socket_action (al_curl()->multi_socket_action)
#define curl_multi_assign (al_curl()->multi_assign)
#define curl_multi_info_read (al_curl()->multi_info_read)
#define curl_multi_cleanup (al_curl()->multi_cleanup)
#define curl_multi_strerror (al_curl()->multi_strerror)
#define curl_slist_append (al_curl()->slist_append)
#define curl_slist_free_all (al_curl()->slist_free_all)
#define curl_url (al_curl()->url)
#define curl_url_set (al_curl()->url_set)
#define curl_url_get (al_curl()->url_get)
#define curl_url_cleanup (al_curl()->url_cleanup)
#define curl_free (al_curl()->free)
#define curl_getdate (al_curl()->getdate)

#endif
