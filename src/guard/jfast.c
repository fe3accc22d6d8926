/* The guard's JSON fast path: finding the texts of a clean request or answer without a tree.
 *
 * jansson, the guard's JSON parser, builds a tree of every value and reads one character at
 * a time through a stream function (~150 instructions per byte: 40,000 for a 250-byte chat
 * request). Most requests and answers only need their texts located, scanned and found
 * clean, after which the body is forwarded as it came. Here yajl (Debian's libyajl), an
 * event parser that hands strings over as pointers into the input, walks the body once
 * (~25 instructions per byte) and records where the texts are: a chat request's
 * messages[].content strings, a completions request's prompt(s), an answer's
 * choices[].message.content or choices[].text, plus model, stream and n.
 *
 * The fast path only ever answers "this body is exactly what jansson would accept, and
 * here are the same texts the jansson path would find"; anything else gives up (returns 0)
 * and the caller runs the jansson path, which is also the one that words every error.
 * The cases where yajl and jansson differ are all given up on:
 *  - bytes outside printable ASCII, tab, CR and LF (jansson rejects overlong UTF-8,
 *    surrogates and form feeds as whitespace; yajl accepts them);
 *  - any `\u` escape (jansson rejects \u0000 and lone surrogates; yajl writes them);
 *  - numbers with an exponent or longer than 18 characters (jansson rejects overflowing
 *    integers and reals; yajl does not look);
 *  - a key repeated in one object (the request is parsed with JSON_REJECT_DUPLICATES; an
 *    answer's last value would win), a key with an escape, more than AL_GFAST_KEYS keys
 *    open at once, more than AL_GFAST_DEPTH levels;
 *  - and every shape the jansson path treats specially: content given as parts, tool
 *    calls, a missing or mistyped field, a top level that is not an object.
 * tests/unit/guard/test_guard.c (t_fast_json_*) and the guard_request fuzz target compare
 * both paths on the same bytes. AIRLOCK_GUARD_NO_FAST_JSON=1 (al_guard_new) turns it off. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "airlock/util.h"
#include "guard/guard_int.h"

enum { AL_GFAST_DEPTH = 32, AL_GFAST_KEYS = 64 };

static int fast_on = 1;
void al_gfast_enable(int on) { fast_on = on; }
int al_gfast_enabled(void) { return fast_on; }

/* keys the walk cares about */
enum { K_OTHER, K_MODEL, K_STREAM, K_N, K_MESSAGES, K_PROMPT, K_CONTENT, K_TOOL_CALLS, K_CHOICES,
       K_MESSAGE, K_TEXT };
/* where the next value sits */
enum { P_NONE, P_ROOT, P_MODEL, P_STREAM, P_N, P_MSGS, P_MSG, P_CONTENT, P_CALLS, P_PROMPT,
       P_PROMPT_ITEM, P_CHOICES, P_CHOICE, P_AMSG, P_ACONTENT, P_ACALLS, P_ATEXT };
enum { M_REQ_CHAT, M_REQ_COMPL, M_ANS_CHAT, M_ANS_COMPL };

typedef struct frame {
  int map;
  int key;     /* maps: the class of the key whose value comes next */
  size_t idx;  /* arrays: index of the next element */
  size_t keys; /* maps: first of this map's keys in fst.keys */
} frame;

typedef struct ftext {
  size_t off, len;
  int owned;    /* off is into own (the string had escapes), not into the body */
  size_t index; /* message, prompt or choice index */
  int array;    /* completions: the prompt was an array */
} ftext;

typedef struct fst {
  const char *body;
  size_t len;
  int mode;
  int depth;
  frame f[AL_GFAST_DEPTH];
  struct {
    const char *p;
    size_t n;
  } keys[AL_GFAST_KEYS];
  size_t nkeys;
  ftext *t;
  size_t nt, cap;
  al_buf own;
  int oom;
  /* request fields */
  int have_model, have_msgs, have_prompt, stream, has_n;
  ftext model;
  long long n;
  size_t nmsgs;
  int have_choices;
  yajl_handle h;
  size_t root_end; /* offset just past the top-level object */
} fst;

/* Printable ASCII, tab, LF, CR; and no backslash-u anywhere. */
static int plain_ascii(const char *p, size_t n) {
  const unsigned char *u = (const unsigned char *)p;
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  for (size_t i = 0; i < n; i++) {
    while (n - i >= 8) { /* eight bytes in 0x20..0x7e and none a backslash: skip them */
      uint64_t x, bs;
      memcpy(&x, u + i, 8);
      bs = x ^ (ones * '\\');
      if ((x | (x + ones)) & high || ((x - ones * 0x20) & ~x & high) || ((bs - ones) & ~bs & high)) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned c = u[i];
    if (c - 0x20u < 0x5fu) { /* 0x20..0x7e */
      if (c == '\\' && i + 1 < n && u[i + 1] == 'u') return 0;
      continue;
    }
    if (c != '\t' && c != '\n' && c != '\r') return 0;
  }
  return 1;
}

static int key_class(const char *k, size_t n) {
  switch (n) {
  case 1: return k[0] == 'n' ? K_N : K_OTHER;
  case 4: return !memcmp(k, "text", 4) ? K_TEXT : K_OTHER;
  case 5: return !memcmp(k, "model", 5) ? K_MODEL : K_OTHER;
  case 6: return !memcmp(k, "stream", 6) ? K_STREAM : !memcmp(k, "prompt", 6) ? K_PROMPT : K_OTHER;
  case 7: return !memcmp(k, "content", 7) ? K_CONTENT : !memcmp(k, "choices", 7) ? K_CHOICES
                 : !memcmp(k, "message", 7) ? K_MESSAGE : K_OTHER;
  case 8: return !memcmp(k, "messages", 8) ? K_MESSAGES : K_OTHER;
  case 10: return !memcmp(k, "tool_calls", 10) ? K_TOOL_CALLS : K_OTHER;
  default: return K_OTHER;
  }
}

static int position(const fst *s) {
  int d = s->depth;
  const frame *f = s->f;
  if (d == 0) return P_ROOT;
  if (!f[0].map) return P_NONE;
  int k0 = f[0].key;
  switch (s->mode) {
  case M_REQ_CHAT:
    if (d == 1) return k0 == K_MODEL ? P_MODEL : k0 == K_STREAM ? P_STREAM : k0 == K_N ? P_N
                       : k0 == K_MESSAGES ? P_MSGS : P_NONE;
    if (k0 != K_MESSAGES || f[1].map) return P_NONE;
    if (d == 2) return P_MSG;
    if (d == 3 && f[2].map) return f[2].key == K_CONTENT ? P_CONTENT : f[2].key == K_TOOL_CALLS ? P_CALLS : P_NONE;
    return P_NONE;
  case M_REQ_COMPL:
    if (d == 1) return k0 == K_MODEL ? P_MODEL : k0 == K_STREAM ? P_STREAM : k0 == K_N ? P_N
                       : k0 == K_PROMPT ? P_PROMPT : P_NONE;
    return d == 2 && k0 == K_PROMPT && !f[1].map ? P_PROMPT_ITEM : P_NONE;
  default:
    if (d == 1) return k0 == K_CHOICES ? P_CHOICES : P_NONE;
    if (k0 != K_CHOICES || f[1].map) return P_NONE;
    if (d == 2) return P_CHOICE;
    if (!f[2].map) return P_NONE;
    if (s->mode == M_ANS_COMPL) return d == 3 && f[2].key == K_TEXT ? P_ATEXT : P_NONE;
    if (d == 3) return f[2].key == K_MESSAGE ? P_AMSG : P_NONE;
    if (d == 4 && f[2].key == K_MESSAGE && f[3].map)
      return f[3].key == K_CONTENT ? P_ACONTENT : f[3].key == K_TOOL_CALLS ? P_ACALLS : P_NONE;
    return P_NONE;
  }
}

/* The index of the value about to be seen when its container is an array. */
static size_t next_index(fst *s) {
  if (s->depth == 0 || s->f[s->depth - 1].map) return 0;
  return s->f[s->depth - 1].idx++;
}

static int text_of(fst *s, const unsigned char *p, size_t n, ftext *t) {
  const char *c = (const char *)p;
  if (c >= s->body && c + n <= s->body + s->len) {
    t->off = (size_t)(c - s->body);
    t->owned = 0;
  } else { /* decoded escapes: yajl's buffer lives only during this callback */
    t->off = s->own.len;
    t->owned = 1;
    if (al_buf_append(&s->own, p, n)) {
      s->oom = 1;
      return 0;
    }
  }
  t->len = n;
  return 1;
}

static int push_text(fst *s, const unsigned char *p, size_t n, size_t index, int array) {
  if (s->mode <= M_REQ_COMPL && s->nt >= AL_GUARD_MAX_SLOTS) return 0; /* the jansson path's error */
  if (s->nt == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 8;
    ftext *v = al_realloc(s->t, nc * sizeof *v);
    if (!v) {
      s->oom = 1;
      return 0;
    }
    s->t = v;
    s->cap = nc;
  }
  ftext *t = &s->t[s->nt];
  if (!text_of(s, p, n, t)) return 0;
  t->index = index;
  t->array = array;
  s->nt++;
  return 1;
}

/* Values that may appear at positions the walk does not care about, and at the ones that
 * accept anything (n, tool_calls when not an array). */
static int anything_goes(int pos) { return pos == P_NONE || pos == P_N || pos == P_CALLS || pos == P_ACALLS; }

static int on_null(void *ud) {
  fst *s = ud;
  int pos = position(s);
  next_index(s);
  if (pos == P_STREAM) s->stream = 0;
  return anything_goes(pos) || pos == P_STREAM || pos == P_CONTENT || pos == P_ACONTENT || pos == P_ATEXT;
}

static int on_bool(void *ud, int b) {
  fst *s = ud;
  int pos = position(s);
  next_index(s);
  if (pos == P_STREAM) s->stream = b;
  return anything_goes(pos) || pos == P_STREAM;
}

static int on_number(void *ud, const char *p, size_t n) {
  fst *s = ud;
  int pos = position(s);
  next_index(s);
  if (n > 18) return 0;
  int integer = 1;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == 'e' || p[i] == 'E') return 0;
    if (p[i] == '.') integer = 0;
  }
  if (pos == P_N && integer) {
    char tmp[20];
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    s->has_n = 1;
    s->n = strtoll(tmp, NULL, 10);
  }
  return anything_goes(pos);
}

static int on_string(void *ud, const unsigned char *p, size_t n) {
  fst *s = ud;
  int pos = position(s);
  size_t idx = next_index(s);
  switch (pos) {
  case P_MODEL:
    s->have_model = 1;
    return text_of(s, p, n, &s->model);
  case P_CONTENT: return push_text(s, p, n, s->f[1].idx - 1, 0);
  case P_PROMPT:
    s->have_prompt = 1;
    return push_text(s, p, n, 0, 0);
  case P_PROMPT_ITEM: return push_text(s, p, n, idx, 1);
  case P_ACONTENT:
  case P_ATEXT: return push_text(s, p, n, s->f[1].idx - 1, 0);
  default: return anything_goes(pos);
  }
}

static int open_frame(fst *s, int map) {
  if (s->depth == AL_GFAST_DEPTH) return 0;
  frame *f = &s->f[s->depth++];
  f->map = map;
  f->key = K_OTHER;
  f->idx = 0;
  f->keys = s->nkeys;
  return 1;
}

static int on_start_map(void *ud) {
  fst *s = ud;
  int pos = position(s);
  next_index(s);
  if (pos == P_MSG) s->nmsgs++;
  if (!(anything_goes(pos) || pos == P_ROOT || pos == P_MSG || pos == P_CHOICE || pos == P_AMSG)) return 0;
  return open_frame(s, 1);
}

static int on_map_key(void *ud, const unsigned char *p, size_t n) {
  fst *s = ud;
  const char *k = (const char *)p;
  frame *f = &s->f[s->depth - 1];
  if (k < s->body || k + n > s->body + s->len) return 0; /* escaped key */
  for (size_t i = f->keys; i < s->nkeys; i++)
    if (s->keys[i].n == n && !memcmp(s->keys[i].p, k, n)) return 0; /* repeated */
  if (s->nkeys == AL_GFAST_KEYS) return 0;
  s->keys[s->nkeys].p = k;
  s->keys[s->nkeys++].n = n;
  f->key = key_class(k, n);
  return 1;
}

static int on_end_map(void *ud) {
  fst *s = ud;
  s->nkeys = s->f[--s->depth].keys;
  if (!s->depth) s->root_end = yajl_get_bytes_consumed(s->h);
  return 1;
}

static int on_start_array(void *ud) {
  fst *s = ud;
  int pos = position(s);
  next_index(s);
  if (pos == P_MSGS) s->have_msgs = 1;
  if (pos == P_CHOICES) s->have_choices = 1;
  if (!(pos == P_NONE || pos == P_N || pos == P_MSGS || pos == P_PROMPT || pos == P_CHOICES)) return 0;
  return open_frame(s, 0);
}

static int on_end_array(void *ud) {
  fst *s = ud;
  frame *f = &s->f[--s->depth];
  int pos = position(s);
  if (pos == P_PROMPT) {
    if (f->idx == 0) return 0;
    s->have_prompt = 1;
  }
  return 1;
}

static const yajl_callbacks callbacks = {
    on_null, on_bool, NULL, NULL, on_number, on_string, on_start_map, on_map_key, on_end_map,
    on_start_array, on_end_array};

/* 1: walked and every required field found; 0: give up; AL_ENOMEM. */
static int walk(fst *s, int mode, const char *body, size_t len) {
  int rc = 0;
  memset(s, 0, offsetof(fst, f)); /* frames and keys are written before they are read */
  memset(&s->nkeys, 0, sizeof *s - offsetof(fst, nkeys));
  s->body = body;
  s->len = len;
  s->mode = mode;
  al_buf_init(&s->own, len + 1);
  if (!fast_on || !plain_ascii(body, len)) goto out;
  yajl_handle h = yajl_alloc(&callbacks, NULL, s);
  if (!h) {
    rc = AL_ENOMEM;
    goto out;
  }
  s->h = h;
  yajl_status st = yajl_parse(h, (const unsigned char *)body, len);
  if (st == yajl_status_ok) st = yajl_complete_parse(h);
  yajl_free(h);
  /* yajl takes an unterminated string after the top-level value for a token still to
   * come, not for trailing garbage: only whitespace may follow (the root is an object) */
  for (size_t i = s->root_end; st == yajl_status_ok && i < len; i++)
    if (body[i] != ' ' && body[i] != '\t' && body[i] != '\n' && body[i] != '\r') st = yajl_status_error;
  if (s->oom) rc = AL_ENOMEM;
  else if (st == yajl_status_ok && s->depth == 0 && s->root_end)
    rc = mode == M_REQ_CHAT    ? s->have_model && s->have_msgs && s->nmsgs > 0
         : mode == M_REQ_COMPL ? s->have_model && s->have_prompt
                               : s->have_choices;
out:
  if (rc != 1) {
    al_free(s->t);
    s->t = NULL;
    al_buf_cleanup(&s->own);
  }
  return rc;
}

static const char *text_ptr(const fst *s, const char *own, const ftext *t) {
  return t->owned ? own + t->off : s->body + t->off;
}

/* pre + decimal index + post into a slot's where (what snprintf would write: the parts
 * are short and the index below AL_GUARD_MAX_SLOTS, so it always fits). */
static void where(char out[64], const char *pre, size_t index, const char *post) {
  char num[24];
  size_t k = sizeof num, a = strlen(pre), b = strlen(post);
  do {
    num[--k] = (char)('0' + index % 10);
    index /= 10;
  } while (index);
  memcpy(out, pre, a);
  memcpy(out + a, num + k, sizeof num - k);
  memcpy(out + a + sizeof num - k, post, b + 1);
}

int al_gfast_request(int route, const char *body, size_t len, greq *out) {
  fst st, *s = &st;
  int rc = walk(s, route == G_ROUTE_CHAT ? M_REQ_CHAT : M_REQ_COMPL, body, len);
  if (rc != 1) goto out;
  out->own = al_buf_steal(&s->own, NULL);
  const char *own = out->own;
  out->model = out->model_own = al_strndup(text_ptr(s, own, &s->model), s->model.len);
  out->slots = al_calloc(s->nt ? s->nt : 1, sizeof *out->slots);
  if (!out->model_own || !out->slots) {
    rc = AL_ENOMEM;
    goto out;
  }
  out->stream = s->stream;
  out->has_n = s->has_n;
  out->n_value = s->n;
  out->body = body;
  out->body_len = len;
  for (size_t i = 0; i < s->nt; i++) {
    gslot *g = &out->slots[i];
    g->text = text_ptr(s, own, &s->t[i]);
    g->len = s->t[i].len;
    if (route == G_ROUTE_CHAT) where(g->where, "messages[", s->t[i].index, "].content");
    else if (s->t[i].array) where(g->where, "prompt[", s->t[i].index, "]");
    else memcpy(g->where, "prompt", 7);
  }
  out->n = s->nt;
out:
  if (rc < 0) al_guard_request_cleanup(out);
  al_free(s->t);
  al_buf_cleanup(&s->own);
  return rc;
}

int al_gfast_answer(int route, const char *body, size_t len, gfast_texts *out) {
  fst st, *s = &st;
  memset(out, 0, sizeof *out);
  int rc = walk(s, route == G_ROUTE_CHAT ? M_ANS_CHAT : M_ANS_COMPL, body, len);
  if (rc != 1) goto out;
  out->own = al_buf_steal(&s->own, NULL);
  out->v = al_calloc(s->nt ? s->nt : 1, sizeof *out->v);
  if (!out->v) {
    rc = AL_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < s->nt; i++) {
    out->v[i].text = text_ptr(s, out->own, &s->t[i]);
    out->v[i].len = s->t[i].len;
    out->v[i].choice = s->t[i].index;
  }
  out->n = s->nt;
out:
  if (rc < 0) al_gfast_texts_cleanup(out);
  al_free(s->t);
  al_buf_cleanup(&s->own);
  return rc;
}

void al_gfast_texts_cleanup(gfast_texts *t) {
  al_free(t->v);
  free(t->own);
  memset(t, 0, sizeof *t);
}
